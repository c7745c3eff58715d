/* Solutions as data: building one from stop sequences (forward simulation
 * of ETAs, loads and distances) and freeing it. Owns the solution's heap
 * memory; does not judge feasibility (check.c does, independently). */
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/solution.h"

static void
rt_vrp_solution_simulate(const struct rt_vrp_problem *p, struct rt_vrp_route *r,
			 const uint32_t *seq, double depart)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[r->vehicle];
	const struct rt_vrp_matrix *m = &p->matrices[v->profile];
	double load[RT_VRP_DIMS] = {0};
	double t = depart;
	uint32_t prev = v->start_loc;

	for (size_t k = 0; k < r->n_visits; k++)
		for (int d = 0; d < RT_VRP_DIMS; d++)
			load[d] += p->stops[seq[k]].delivery[d];
	memcpy(r->load_start, load, sizeof load);
	r->depart_s = t;
	r->dist_m = 0.0;
	for (size_t k = 0; k < r->n_visits; k++) {
		const struct rt_vrp_stop *s = &p->stops[seq[k]];
		struct rt_vrp_visit *vis = &r->visits[k];
		size_t e = (size_t)prev * p->n_locs + s->loc;

		vis->stop = seq[k];
		vis->arrival_s = t + m->time_s[e];
		vis->start_s = vis->arrival_s > s->tw_open_s ? vis->arrival_s : s->tw_open_s;
		vis->departure_s = vis->start_s + s->service_s;
		vis->dist_from_prev_m = m->dist_m[e];
		r->dist_m += m->dist_m[e];
		for (int d = 0; d < RT_VRP_DIMS; d++) {
			load[d] += s->pickup[d] - s->delivery[d];
			vis->load[d] = load[d];
		}
		t = vis->departure_s;
		prev = s->loc;
	}
	r->return_s = t + m->time_s[(size_t)prev * p->n_locs + v->end_loc];
	r->dist_m += m->dist_m[(size_t)prev * p->n_locs + v->end_loc];
}

/* Simulate from the shift start, then leave the depot just in time for the
 * first stop: no waiting at the door, and no later time changes. */
static void
rt_vrp_solution_schedule(const struct rt_vrp_problem *p, struct rt_vrp_route *r,
			 const uint32_t *seq)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[r->vehicle];
	const struct rt_vrp_matrix *m = &p->matrices[v->profile];
	double lead, depart;

	rt_vrp_solution_simulate(p, r, seq, v->shift_start_s);
	lead = m->time_s[(size_t)v->start_loc * p->n_locs + p->stops[seq[0]].loc];
	depart = r->visits[0].start_s - lead;
	if (depart > v->shift_start_s)
		rt_vrp_solution_simulate(p, r, seq, depart);
}

struct rt_vrp_solution *
rt_vrp_solution_new(const struct rt_vrp_problem *p, size_t n_routes, const uint32_t *vehicles,
		    const size_t *seq_start, const uint32_t *seq,
		    const struct rt_vrp_unassigned *unassigned, size_t n_unassigned,
		    struct rt_err *err)
{
	struct rt_vrp_solution *sol = calloc(1, sizeof *sol);

	if (sol == NULL)
		goto nomem;
	sol->routes = calloc(n_routes ? n_routes : 1, sizeof *sol->routes);
	sol->unassigned = calloc(n_unassigned ? n_unassigned : 1, sizeof *sol->unassigned);
	if (sol->routes == NULL || sol->unassigned == NULL)
		goto nomem;
	for (size_t r = 0; r < n_routes; r++) {
		size_t len = seq_start[r + 1] - seq_start[r];
		struct rt_vrp_route *out = &sol->routes[sol->n_routes];

		if (len == 0)
			continue;
		if (vehicles[r] >= p->n_vehicles) {
			rt_err_set(err, RT_E_INVAL, "route %zu: vehicle %u out of range", r,
				   vehicles[r]);
			goto fail;
		}
		for (size_t k = 0; k < len; k++)
			if (seq[seq_start[r] + k] >= p->n_stops) {
				rt_err_set(err, RT_E_INVAL, "route %zu: stop out of range", r);
				goto fail;
			}
		out->visits = calloc(len, sizeof *out->visits);
		if (out->visits == NULL)
			goto nomem;
		out->vehicle = vehicles[r];
		out->n_visits = len;
		sol->n_routes++;
		rt_vrp_solution_schedule(p, out, seq + seq_start[r]);
		sol->dist_m += out->dist_m;
		sol->cost += out->dist_m + p->vehicles[out->vehicle].fixed_cost;
	}
	if (n_unassigned > 0)
		memcpy(sol->unassigned, unassigned, n_unassigned * sizeof *unassigned);
	sol->n_unassigned = n_unassigned;
	return sol;
nomem:
	rt_err_set(err, RT_E_NOMEM, "out of memory building a solution");
fail:
	rt_vrp_solution_free(sol);
	return NULL;
}

void
rt_vrp_solution_free(struct rt_vrp_solution *sol)
{
	if (sol == NULL)
		return;
	for (size_t r = 0; r < sol->n_routes; r++)
		free(sol->routes[r].visits);
	free(sol->routes);
	free(sol->unassigned);
	free(sol);
}
