/* Independent solution validator. It trusts nothing the solver computed:
 * it re-simulates each route from the stop order and the raw problem, then
 * compares. It owns only a scratch "seen" array for the duration of a call. */
#include <math.h>
#include <stdlib.h>

#include "routing/vrp/check.h"

/* Absolute slack for float comparisons: far below any meaningful violation
 * (Solomon uses unit times), far above accumulated rounding. */
#define RT_VRP_CHECK_EPS 1e-6

static int
rt_vrp_check_close(double a, double b)
{
	return fabs(a - b) <= RT_VRP_CHECK_EPS * (1.0 + fabs(a) + fabs(b));
}

static enum rt_status
rt_vrp_check_loads(const struct rt_vrp_problem *p, const struct rt_vrp_route *r, size_t ri,
		   struct rt_err *err)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[r->vehicle];

	for (int d = 0; d < RT_VRP_DIMS; d++) {
		double load = 0.0;
		for (size_t k = 0; k < r->n_visits; k++)
			load += p->stops[r->visits[k].stop].delivery[d];
		if (!rt_vrp_check_close(load, r->load_start[d]))
			return rt_err_set(err, RT_E_INFEASIBLE,
					  "route %zu: start load[%d] %g reported %g", ri, d, load,
					  r->load_start[d]);
		if (load > v->capacity[d] + RT_VRP_CHECK_EPS)
			return rt_err_set(err, RT_E_INFEASIBLE,
					  "route %zu: start load[%d] %g exceeds capacity %g", ri, d,
					  load, v->capacity[d]);
		for (size_t k = 0; k < r->n_visits; k++) {
			const struct rt_vrp_stop *s = &p->stops[r->visits[k].stop];
			load = load - s->delivery[d] + s->pickup[d];
			if (load > v->capacity[d] + RT_VRP_CHECK_EPS)
				return rt_err_set(err, RT_E_INFEASIBLE,
						  "route %zu: load[%d] %g after stop %u exceeds "
						  "capacity %g",
						  ri, d, load, r->visits[k].stop, v->capacity[d]);
			if (!rt_vrp_check_close(load, r->visits[k].load[d]))
				return rt_err_set(
				    err, RT_E_INFEASIBLE,
				    "route %zu: load[%d] after stop %u is %g, reported "
				    "%g",
				    ri, d, r->visits[k].stop, load, r->visits[k].load[d]);
		}
	}
	return RT_OK;
}

static enum rt_status
rt_vrp_check_times(const struct rt_vrp_problem *p, const struct rt_vrp_route *r, size_t ri,
		   double *dist_out, struct rt_err *err)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[r->vehicle];
	const struct rt_vrp_matrix *m = &p->matrices[v->profile];
	double t = r->depart_s, dist = 0.0;
	uint32_t prev = v->start_loc;

	if (r->depart_s < v->shift_start_s - RT_VRP_CHECK_EPS)
		return rt_err_set(err, RT_E_INFEASIBLE, "route %zu: departs %g before shift %g", ri,
				  r->depart_s, v->shift_start_s);
	for (size_t k = 0; k < r->n_visits; k++) {
		const struct rt_vrp_visit *vis = &r->visits[k];
		const struct rt_vrp_stop *s = &p->stops[vis->stop];
		size_t e = (size_t)prev * p->n_locs + s->loc;
		double arr = t + m->time_s[e];
		double start = fmax(arr, s->tw_open_s);

		if (start > s->tw_close_s + RT_VRP_CHECK_EPS)
			return rt_err_set(err, RT_E_INFEASIBLE,
					  "route %zu: stop %u starts at %g after its window closes "
					  "at %g",
					  ri, vis->stop, start, s->tw_close_s);
		if (!rt_vrp_check_close(arr, vis->arrival_s) ||
		    !rt_vrp_check_close(start, vis->start_s) ||
		    !rt_vrp_check_close(start + s->service_s, vis->departure_s))
			return rt_err_set(err, RT_E_INFEASIBLE,
					  "route %zu: stop %u ETAs (%g, %g, %g) disagree with "
					  "recomputed (%g, %g, %g)",
					  ri, vis->stop, vis->arrival_s, vis->start_s,
					  vis->departure_s, arr, start, start + s->service_s);
		if (!rt_vrp_check_close(m->dist_m[e], vis->dist_from_prev_m))
			return rt_err_set(err, RT_E_INFEASIBLE,
					  "route %zu: leg distance to stop %u disagrees", ri,
					  vis->stop);
		dist += m->dist_m[e];
		t = start + s->service_s;
		prev = s->loc;
	}
	t += m->time_s[(size_t)prev * p->n_locs + v->end_loc];
	dist += m->dist_m[(size_t)prev * p->n_locs + v->end_loc];
	if (t > v->shift_end_s + RT_VRP_CHECK_EPS)
		return rt_err_set(err, RT_E_INFEASIBLE,
				  "route %zu: returns at %g after shift end %g", ri, t,
				  v->shift_end_s);
	if (!rt_vrp_check_close(t, r->return_s) || !rt_vrp_check_close(dist, r->dist_m))
		return rt_err_set(
		    err, RT_E_INFEASIBLE,
		    "route %zu: return %g / distance %g disagree with reported %g / %g", ri, t,
		    dist, r->return_s, r->dist_m);
	*dist_out = dist;
	return RT_OK;
}

static enum rt_status
rt_vrp_check_warm(const struct rt_vrp_problem *p, const struct rt_vrp_solution *sol,
		  const struct rt_vrp_warm *warm, struct rt_err *err)
{
	for (size_t w = 0; w < warm->n_routes; w++) {
		const struct rt_vrp_warm_route *wr = &warm->routes[w];
		const struct rt_vrp_route *r = NULL;

		if (wr->n_fixed == 0)
			continue;
		if (wr->vehicle >= p->n_vehicles || wr->n_fixed > wr->n_stops)
			return rt_err_set(err, RT_E_INVAL, "warm route %zu malformed", w);
		for (size_t i = 0; i < sol->n_routes; i++)
			if (sol->routes[i].vehicle == wr->vehicle)
				r = &sol->routes[i];
		if (r == NULL || r->n_visits < wr->n_fixed)
			return rt_err_set(err, RT_E_INFEASIBLE, "vehicle %u lost its fixed prefix",
					  wr->vehicle);
		for (size_t k = 0; k < wr->n_fixed; k++)
			if (r->visits[k].stop != wr->stops[k])
				return rt_err_set(err, RT_E_INFEASIBLE,
						  "vehicle %u: fixed stop %zu changed (%u -> %u)",
						  wr->vehicle, k, wr->stops[k], r->visits[k].stop);
	}
	return RT_OK;
}

static enum rt_status
rt_vrp_check_route(const struct rt_vrp_problem *p, const struct rt_vrp_solution *sol, size_t ri,
		   unsigned char *seen, unsigned char *vused, double *dist, struct rt_err *err)
{
	const struct rt_vrp_route *r = &sol->routes[ri];
	enum rt_status st;

	if (r->vehicle >= p->n_vehicles)
		return rt_err_set(err, RT_E_INVAL, "route %zu: vehicle out of range", ri);
	if (vused[r->vehicle]++)
		return rt_err_set(err, RT_E_INFEASIBLE, "vehicle %u has two routes", r->vehicle);
	if (r->n_visits == 0 || r->visits == NULL)
		return rt_err_set(err, RT_E_INVAL, "route %zu is empty", ri);
	for (size_t k = 0; k < r->n_visits; k++) {
		uint32_t s = r->visits[k].stop;
		if (s >= p->n_stops)
			return rt_err_set(err, RT_E_INVAL, "route %zu: stop out of range", ri);
		if (seen[s]++)
			return rt_err_set(err, RT_E_INFEASIBLE, "stop %u served twice", s);
		if ((p->stops[s].skills & p->vehicles[r->vehicle].skills) != p->stops[s].skills)
			return rt_err_set(err, RT_E_INFEASIBLE,
					  "stop %u needs skills vehicle %u lacks", s, r->vehicle);
	}
	if ((st = rt_vrp_check_loads(p, r, ri, err)) != RT_OK)
		return st;
	return rt_vrp_check_times(p, r, ri, dist, err);
}

enum rt_status
rt_vrp_check_solution(const struct rt_vrp_problem *p, const struct rt_vrp_solution *sol,
		      const struct rt_vrp_warm *warm, struct rt_err *err)
{
	unsigned char *seen = NULL, *vused = NULL;
	enum rt_status st = RT_OK;
	double total = 0.0, cost = 0.0;

	if (p == NULL || sol == NULL)
		return rt_err_set(err, RT_E_INVAL, "NULL problem or solution");
	seen = calloc(p->n_stops + 1, 1);
	vused = calloc(p->n_vehicles + 1, 1);
	if (seen == NULL || vused == NULL) {
		st = rt_err_set(err, RT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t ri = 0; ri < sol->n_routes; ri++) {
		double d = 0.0;
		if ((st = rt_vrp_check_route(p, sol, ri, seen, vused, &d, err)) != RT_OK)
			goto out;
		total += d;
		cost += d + p->vehicles[sol->routes[ri].vehicle].fixed_cost;
	}
	for (size_t i = 0; i < sol->n_unassigned; i++) {
		uint32_t s = sol->unassigned[i].stop;
		if (s >= p->n_stops) {
			st = rt_err_set(err, RT_E_INVAL, "unassigned stop out of range");
			goto out;
		}
		if (seen[s]++) {
			st = rt_err_set(err, RT_E_INFEASIBLE, "stop %u both served and unassigned",
					s);
			goto out;
		}
	}
	for (size_t s = 0; s < p->n_stops; s++)
		if (!seen[s]) {
			st = rt_err_set(err, RT_E_INFEASIBLE, "stop %zu silently dropped", s);
			goto out;
		}
	if (!rt_vrp_check_close(total, sol->dist_m) || !rt_vrp_check_close(cost, sol->cost)) {
		st = rt_err_set(err, RT_E_INFEASIBLE,
				"total distance %g / cost %g reported as %g / %g", total, cost,
				sol->dist_m, sol->cost);
		goto out;
	}
	if (warm != NULL)
		st = rt_vrp_check_warm(p, sol, warm, err);
out:
	free(seen);
	free(vused);
	return st;
}
