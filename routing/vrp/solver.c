/* Route planner driver: warm start, construction, fleet minimisation (for the
 * hierarchical objective), the simulated-annealing loop over SISR ruin and
 * recreate, the best-solution store, and the conversion to a public
 * struct rt_vrp_solution. Owns the search state for one call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/search.h"
#include "routing/vrp/solver.h"

/* Simulated annealing temperatures, relative to the mean edge length of the
 * first solution. Tuned on Solomon (docs/routing.md): a hot start matters
 * most on long routes with wide windows (C2, R2, RC2). */
#define RT_VRP_SOLVER_T0_REL 6.0
#define RT_VRP_SOLVER_TF_REL 0.03
/* Blink rate of the recreate step (paper: 0.01). */
#define RT_VRP_SOLVER_BLINK 0.01
/* Share of the budget given to fleet minimisation first. With the distance
 * objective it only builds a compact start (the annealing may add vehicles
 * back): it keeps long-route instances (C2) out of a many-vehicle trap. */
#define RT_VRP_SOLVER_FLEET_SHARE 0.4
#define RT_VRP_SOLVER_FLEET_SHARE_DISTANCE 0.1
/* Check the caller's clock every this many iterations. */
#define RT_VRP_SOLVER_CLOCK_EVERY 64

/* A saved solution: tour sequences back to back plus the absent stops. */
struct rt_vrp_solver_best {
	uint32_t *seq;    /* n */
	uint32_t *len;    /* nv */
	uint32_t *absent; /* n */
	size_t n_absent;
	double cost;
};

struct rt_vrp_solver_run {
	struct rt_vrp_search s;
	struct rt_vrp_solver_best best;
	const struct rt_vrp_params *params;
	uint64_t limit;
	uint64_t iterations;
	double clock_start;
	int stopped; /* the wall-clock cap fired */
};

void
rt_vrp_solver_params_init(struct rt_vrp_params *params)
{
	memset(params, 0, sizeof *params);
	params->objective = RT_VRP_OBJ_DISTANCE;
	params->seed = 1;
	params->seconds = 1.0;
}

static void
rt_vrp_solver_save(struct rt_vrp_solver_run *run, double cost)
{
	struct rt_vrp_search *s = &run->s;
	size_t k = 0;

	for (size_t v = 0; v < s->nv; v++) {
		const struct rt_vrp_tour *t = &s->tours[v];
		memcpy(run->best.seq + k, t->stop + 1, t->n * sizeof *t->stop);
		run->best.len[v] = t->n;
		k += t->n;
	}
	memcpy(run->best.absent, s->absent, s->n_absent * sizeof *s->absent);
	run->best.n_absent = s->n_absent;
	run->best.cost = cost;
}

static void
rt_vrp_solver_restore(struct rt_vrp_solver_run *run)
{
	struct rt_vrp_search *s = &run->s;
	size_t k = 0;

	for (size_t v = 0; v < s->nv; v++) {
		struct rt_vrp_tour *t = &s->tours[v];
		/* capacity suffices: every saved tour was once held by this tour */
		memcpy(t->stop + 1, run->best.seq + k, run->best.len[v] * sizeof *t->stop);
		t->n = run->best.len[v];
		k += t->n;
		rt_vrp_tour_update(s, (uint32_t)v);
	}
	memcpy(s->absent, run->best.absent, run->best.n_absent * sizeof *s->absent);
	s->n_absent = run->best.n_absent;
	for (size_t i = 0; i < s->n_absent; i++)
		s->where[s->absent[i]] = RT_VRP_NONE;
}

static int
rt_vrp_solver_out_of_time(struct rt_vrp_solver_run *run, uint64_t limit)
{
	const struct rt_vrp_params *pr = run->params;

	if (run->s.work >= limit || run->stopped)
		return 1;
	if (pr->clock != NULL && pr->wall_cap_s > 0.0 &&
	    run->iterations % RT_VRP_SOLVER_CLOCK_EVERY == 0 &&
	    pr->clock(pr->clock_arg) - run->clock_start > pr->wall_cap_s)
		run->stopped = 1;
	return run->stopped;
}

/* One ruin-and-recreate step, left open (the caller commits or rolls back). */
static enum rt_status
rt_vrp_solver_step(struct rt_vrp_solver_run *run)
{
	rt_vrp_search_begin(&run->s);
	rt_vrp_sisr_ruin(&run->s);
	run->iterations++;
	run->s.work += 16; /* every step costs something, so every budget ends */
	return rt_vrp_sisr_recreate(&run->s, RT_VRP_SOLVER_BLINK);
}

static enum rt_status
rt_vrp_solver_anneal(struct rt_vrp_solver_run *run, double t0, double tf)
{
	struct rt_vrp_search *s = &run->s;
	double cur = rt_vrp_search_cost(s);
	uint64_t start = s->work, span = run->limit > start ? run->limit - start : 1;
	size_t movable = 0;
	enum rt_status st;

	for (size_t v = 0; v < s->nv; v++)
		movable += s->tours[v].n - s->tours[v].n_fixed;
	/* Nothing placed that could move: everything is fixed, or no absent stop
	 * fits even into an otherwise empty plan, and never will. */
	if (movable == 0)
		return RT_OK;

	while (!rt_vrp_solver_out_of_time(run, run->limit)) {
		double frac = (double)(s->work - start) / (double)span;
		double temp = t0 * pow(tf / t0, frac > 1.0 ? 1.0 : frac);
		size_t abs_before = s->n_absent;
		double cand;

		if ((st = rt_vrp_solver_step(run)) != RT_OK)
			return st;
		cand = rt_vrp_search_cost(s);
		if (s->n_absent < abs_before ||
		    (s->n_absent == abs_before &&
		     cand < cur - temp * log(1.0 - rt_vrp_search_unif(s)))) {
			rt_vrp_search_commit(s);
			cur = cand;
			if (s->n_absent < run->best.n_absent ||
			    (s->n_absent == run->best.n_absent && cur < run->best.cost))
				rt_vrp_solver_save(run, cur);
		} else {
			rt_vrp_search_rollback(s);
		}
	}
	return RT_OK;
}

/* Empty the used tour with the fewest stops (and no fixed prefix) into the
 * absent list. Returns 0 if there is none. */
static int
rt_vrp_solver_drop_tour(struct rt_vrp_search *s)
{
	uint32_t pick = RT_VRP_NONE;

	for (size_t v = 0; v < s->nv; v++) {
		const struct rt_vrp_tour *t = &s->tours[v];
		if (t->n > 0 && t->n_fixed == 0 && (pick == RT_VRP_NONE || t->n < s->tours[pick].n))
			pick = (uint32_t)v;
	}
	if (pick == RT_VRP_NONE)
		return 0;
	for (uint32_t p = 1; p <= s->tours[pick].n; p++) {
		s->absent[s->n_absent++] = s->tours[pick].stop[p];
		s->where[s->tours[pick].stop[p]] = RT_VRP_NONE;
	}
	s->tours[pick].n = 0;
	rt_vrp_tour_update(s, pick);
	return 1;
}

static uint64_t
rt_vrp_solver_absence(const uint64_t *counter, const uint32_t *list, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += counter[list[i]];
	return sum;
}

/* Fleet minimisation (SISR paper, section 5): drop a tour and search with
 * one vehicle less, accepting fewer absent stops or absent stops that have
 * been absent less often, until every stop is back in. */
static enum rt_status
rt_vrp_solver_fleet(struct rt_vrp_solver_run *run, uint64_t limit)
{
	struct rt_vrp_search *s = &run->s;
	uint64_t *counter = calloc(s->n + 1, sizeof *counter);
	enum rt_status st = RT_OK;

	if (counter == NULL)
		return RT_E_NOMEM;
	while (s->n_absent == 0 && rt_vrp_search_used(s) > 1 &&
	       !rt_vrp_solver_out_of_time(run, limit)) {
		rt_vrp_solver_save(run, rt_vrp_search_cost(s));
		if (!rt_vrp_solver_drop_tour(s))
			break;
		s->max_used = rt_vrp_search_used(s);
		while (s->n_absent > 0 && !rt_vrp_solver_out_of_time(run, limit)) {
			size_t before = s->n_absent;
			if ((st = rt_vrp_solver_step(run)) != RT_OK)
				goto out;
			for (size_t i = 0; i < s->n_absent; i++)
				counter[s->absent[i]]++;
			if (s->n_absent < before ||
			    rt_vrp_solver_absence(counter, s->absent, s->n_absent) <
				rt_vrp_solver_absence(counter, s->absent_snap, s->n_absent_snap))
				rt_vrp_search_commit(s);
			else
				rt_vrp_search_rollback(s);
		}
	}
	if (s->n_absent > 0) /* the last reduction failed: back to the last full plan */
		rt_vrp_solver_restore(run);
	s->max_used = rt_vrp_search_used(s);
	rt_vrp_solver_save(run, rt_vrp_search_cost(s));
out:
	free(counter);
	return st;
}

static enum rt_status
rt_vrp_solver_warm_route(struct rt_vrp_search *s, const struct rt_vrp_warm_route *wr,
			 unsigned char *seen, size_t w, struct rt_err *err)
{
	struct rt_vrp_tour *t;

	if (wr->vehicle >= s->nv || wr->n_fixed > wr->n_stops ||
	    (wr->n_stops > 0 && wr->stops == NULL))
		return rt_err_set(err, RT_E_INVAL, "warm route %zu: bad vehicle or sizes", w);
	t = &s->tours[wr->vehicle];
	if (t->n > 0 || t->n_fixed > 0)
		return rt_err_set(err, RT_E_INVAL, "warm route %zu: vehicle %u given twice", w,
				  wr->vehicle);
	for (size_t k = 0; k < wr->n_stops; k++) {
		uint32_t c = wr->stops[k];
		if (c >= s->n || seen[c]++)
			return rt_err_set(err, RT_E_INVAL,
					  "warm route %zu: stop %u out of range or repeated", w, c);
	}
	if (rt_vrp_tour_reserve(t, (uint32_t)wr->n_stops + 1) != RT_OK)
		return rt_err_set(err, RT_E_NOMEM, "out of memory");
	memcpy(t->stop + 1, wr->stops, wr->n_fixed * sizeof *t->stop);
	t->n = t->n_fixed = (uint32_t)wr->n_fixed;
	if (!rt_vrp_tour_feasible(s, wr->vehicle))
		return rt_err_set(err, RT_E_INFEASIBLE,
				  "vehicle %u: its fixed prefix of %zu stops breaks a window, "
				  "the shift, a skill or the capacity",
				  wr->vehicle, wr->n_fixed);
	/* the movable rest, kept in order while it stays feasible */
	for (size_t k = wr->n_fixed; k < wr->n_stops; k++) {
		uint32_t c = wr->stops[k];
		if (s->excluded[c])
			continue;
		t->stop[++t->n] = c;
		if (!rt_vrp_tour_feasible(s, wr->vehicle)) {
			t->n--;
			s->where[c] = RT_VRP_NONE;
		}
	}
	rt_vrp_tour_update(s, wr->vehicle);
	return RT_OK;
}

static enum rt_status
rt_vrp_solver_warm(struct rt_vrp_search *s, const struct rt_vrp_warm *warm, struct rt_err *err)
{
	unsigned char *seen = calloc(s->n + 1, 1);
	enum rt_status st = RT_OK;

	if (seen == NULL)
		return rt_err_set(err, RT_E_NOMEM, "out of memory");
	if (warm != NULL && warm->n_routes > 0 && warm->routes == NULL)
		st = rt_err_set(err, RT_E_INVAL, "warm start without routes");
	for (size_t w = 0; st == RT_OK && warm != NULL && w < warm->n_routes; w++)
		st = rt_vrp_solver_warm_route(s, &warm->routes[w], seen, w, err);
	for (size_t c = 0; st == RT_OK && c < s->n; c++)
		if (s->where[c] == RT_VRP_NONE && !s->excluded[c])
			s->absent[s->n_absent++] = (uint32_t)c;
	free(seen);
	return st;
}

static struct rt_vrp_solution *
rt_vrp_solver_export(struct rt_vrp_solver_run *run, struct rt_err *err)
{
	struct rt_vrp_search *s = &run->s;
	uint32_t *veh = malloc((s->nv + 1) * sizeof *veh);
	size_t *start = malloc((s->nv + 2) * sizeof *start);
	uint32_t *seq = malloc((s->n + 1) * sizeof *seq);
	struct rt_vrp_unassigned *un = malloc((s->n + 1) * sizeof *un);
	struct rt_vrp_solution *sol = NULL;
	size_t k = 0, nu = 0;

	if (veh == NULL || start == NULL || seq == NULL || un == NULL) {
		rt_err_set(err, RT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t v = 0; v < s->nv; v++) {
		const struct rt_vrp_tour *t = &s->tours[v];
		veh[v] = (uint32_t)v;
		start[v] = k;
		memcpy(seq + k, t->stop + 1, t->n * sizeof *seq);
		k += t->n;
	}
	start[s->nv] = k;
	for (size_t c = 0; c < s->n; c++) {
		if (s->where[c] != RT_VRP_NONE)
			continue;
		un[nu].stop = (uint32_t)c;
		un[nu++].reason =
		    s->excluded[c] ? (enum rt_vrp_reason)s->excluded[c] : RT_VRP_REASON_NO_VEHICLE;
	}
	sol = rt_vrp_solution_new(s->p, s->nv, veh, start, seq, un, nu, err);
	if (sol != NULL) {
		sol->iterations = run->iterations;
		sol->work = s->work;
	}
out:
	free(veh);
	free(start);
	free(seq);
	free(un);
	return sol;
}

/* Mean edge length of the current plan: the scale of the annealing temperature. */
static double
rt_vrp_solver_edge_scale(const struct rt_vrp_search *s)
{
	double dist = 0.0;
	size_t edges = 0;

	for (size_t v = 0; v < s->nv; v++)
		if (s->tours[v].n > 0) {
			dist += s->tours[v].dist;
			edges += s->tours[v].n + 1;
		}
	return edges > 0 && dist > 0.0 ? dist / (double)edges : 1.0;
}

static enum rt_status
rt_vrp_solver_run(struct rt_vrp_solver_run *run, const struct rt_vrp_warm *warm, struct rt_err *err)
{
	struct rt_vrp_search *s = &run->s;
	const struct rt_vrp_params *pr = run->params;
	enum rt_status st;
	double scale, share;

	if ((st = rt_vrp_solver_warm(s, warm, err)) != RT_OK)
		return st;
	if (rt_vrp_sisr_recreate(s, 0.0) != RT_OK)
		return rt_err_set(err, RT_E_NOMEM, "out of memory");
	rt_vrp_search_commit(s);
	rt_vrp_solver_save(run, rt_vrp_search_cost(s));
	share = pr->objective == RT_VRP_OBJ_HIERARCHICAL ? RT_VRP_SOLVER_FLEET_SHARE
							 : RT_VRP_SOLVER_FLEET_SHARE_DISTANCE;
	if (share > 0.0 &&
	    rt_vrp_solver_fleet(run, s->work + (uint64_t)((double)(run->limit - s->work) *
							share)) != RT_OK)
		return rt_err_set(err, RT_E_NOMEM, "out of memory");
	if (pr->objective == RT_VRP_OBJ_DISTANCE) /* a small fleet was a start, not a rule */
		s->max_used = s->nv;
	scale = rt_vrp_solver_edge_scale(s);
	if (s->n > 0 && rt_vrp_solver_anneal(run, RT_VRP_SOLVER_T0_REL * scale,
					     RT_VRP_SOLVER_TF_REL * scale) != RT_OK)
		return rt_err_set(err, RT_E_NOMEM, "out of memory");
	rt_vrp_solver_restore(run);
	return RT_OK;
}

enum rt_status
rt_vrp_solver_solve(const struct rt_vrp_problem *p, const struct rt_vrp_params *params,
		    const struct rt_vrp_warm *warm, struct rt_vrp_solution **out,
		    struct rt_err *err)
{
	struct rt_vrp_solver_run run;
	enum rt_status st;

	if (out == NULL || params == NULL)
		return rt_err_set(err, RT_E_INVAL, "NULL argument");
	*out = NULL;
	if ((st = rt_vrp_problem_check(p, err)) != RT_OK)
		return st;
	if (!(params->seconds >= 0.0) && params->work_limit == 0)
		return rt_err_set(err, RT_E_INVAL, "budget must be >= 0 seconds");
	memset(&run, 0, sizeof run);
	run.params = params;
	run.limit = params->work_limit > 0
			? params->work_limit
			: (uint64_t)(params->seconds * RT_VRP_SOLVER_WORK_PER_SECOND);
	if (params->clock != NULL)
		run.clock_start = params->clock(params->clock_arg);
	if ((st = rt_vrp_search_init(&run.s, p, params->objective, params->seed, err)) != RT_OK)
		return st;
	run.best.seq = malloc((p->n_stops + 1) * sizeof *run.best.seq);
	run.best.len = malloc((p->n_vehicles + 1) * sizeof *run.best.len);
	run.best.absent = malloc((p->n_stops + 1) * sizeof *run.best.absent);
	if (run.best.seq == NULL || run.best.len == NULL || run.best.absent == NULL)
		st = rt_err_set(err, RT_E_NOMEM, "out of memory");
	if (st == RT_OK)
		st = rt_vrp_solver_run(&run, warm, err);
	if (st == RT_OK && (*out = rt_vrp_solver_export(&run, err)) == NULL)
		st = RT_E_NOMEM; /* export fails only on allocation */
	free(run.best.seq);
	free(run.best.len);
	free(run.best.absent);
	rt_vrp_search_fini(&run.s);
	return st;
}
