/* Internal to the route planner (search.c, tour.c, sisr.c,
 * solver.c): the mutable search state. Not part of the public API; the
 * daemon uses solver.h only. */
#ifndef RT_VRP_SEARCH_H
#define RT_VRP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "routing/common/err.h"
#include "routing/vrp/problem.h"

#define RT_VRP_NONE UINT32_MAX

/* A stop, copied into a compact layout for the hot loops. */
struct rt_vrp_sstop {
	uint32_t loc;
	double open, close, svc;
	double del[RT_VRP_DIMS];
	double pick[RT_VRP_DIMS];
	uint64_t skills;
};

/* One vehicle's tour. Positions 0 and n+1 are its start and end depot,
 * 1..n its stops; positions 1..n_fixed are the fixed (warm start) prefix.
 * The arrays are recomputed by rt_vrp_tour_update() after every change and
 * give O(1) insertion checks:
 *   dep[p]    departure from p (earliest start + service); dep[n+1] = arrival
 *   latest[p] latest start of service at p that keeps p+1..n+1 feasible
 *   pmax/smax max load over positions 0..p / p..n, per dimension
 *             (pmax[p * RT_VRP_DIMS + d]); the load after p is deliveries
 *             still on board plus pickups made so far. */
struct rt_vrp_tour {
	uint32_t vehicle;
	uint32_t n;
	uint32_t n_fixed;
	uint32_t cap; /* allocated positions */
	uint32_t *stop;
	uint32_t *loc;
	uint32_t *snap; /* stop[1..n] saved by rt_vrp_search_touch() */
	uint32_t snap_n;
	double *dep;
	double *latest;
	double *pmax;
	double *smax;
	double del[RT_VRP_DIMS]; /* sum of deliveries: the load leaving the depot */
	double dist;
	/* copied from the vehicle */
	const double *D, *T;
	double capy[RT_VRP_DIMS];
	double shift_start, shift_end;
	double open_cost; /* objective cost of using this vehicle at all */
	uint64_t skills;
	uint32_t vclass; /* vehicles of one class are interchangeable when empty */
};

/* The whole search state: the current solution plus problem data. */
struct rt_vrp_search {
	const struct rt_vrp_problem *p;
	size_t n, nv, nl;
	struct rt_vrp_sstop *st;   /* n */
	struct rt_vrp_tour *tours; /* nv */
	uint32_t *where;           /* stop -> tour, RT_VRP_NONE if absent or excluded */
	uint32_t *pos;             /* stop -> position in its tour */
	uint32_t *absent;          /* stops waiting for insertion */
	size_t n_absent;
	unsigned char *excluded; /* stop -> reason (enum rt_vrp_reason) or 0 */
	uint32_t *adj;           /* n x n_adj: other stops by increasing distance */
	size_t n_adj;
	const double *D0; /* profile 0 distances, for neighbourhoods */
	size_t max_used;  /* cap on non-empty tours (fleet minimisation) */
	uint64_t rng[4];
	uint64_t work; /* deterministic work units spent */
	/* undo journal of one ruin-and-recreate step */
	uint32_t *touched; /* tours saved this step */
	size_t n_touched;
	unsigned char *touched_mark; /* nv */
	uint32_t *absent_snap;
	size_t n_absent_snap;
};

/* Set up s for p (checked) with a seed: copies stops, builds tours, neighbour
 * lists, vehicle classes and the per-stop exclusion reasons. */
RT_MUST_CHECK enum rt_status rt_vrp_search_init(struct rt_vrp_search *s,
						const struct rt_vrp_problem *p,
						enum rt_vrp_objective obj, uint64_t seed,
						struct rt_err *err);
/* Release everything rt_vrp_search_init() allocated. */
void rt_vrp_search_fini(struct rt_vrp_search *s);
/* Uniform 64-bit random number (xoshiro256**). */
uint64_t rt_vrp_search_rand(struct rt_vrp_search *s);
/* Uniform double in [0, 1). */
double rt_vrp_search_unif(struct rt_vrp_search *s);
/* Uniform integer in [0, n), n > 0. */
uint32_t rt_vrp_search_below(struct rt_vrp_search *s, uint32_t n);
/* Objective cost of the current solution (excluding absences). */
double rt_vrp_search_cost(const struct rt_vrp_search *s);
/* Number of non-empty tours. */
size_t rt_vrp_search_used(const struct rt_vrp_search *s);

/* Make room for at least `need` stops. RT_OK or RT_E_NOMEM. */
RT_MUST_CHECK enum rt_status rt_vrp_tour_reserve(struct rt_vrp_tour *t, uint32_t need);
/* Recompute a tour's derived arrays and the stop -> position maps. Returns
 * 1 if the tour is time-feasible, 0 otherwise. */
int rt_vrp_tour_update(struct rt_vrp_search *s, uint32_t ti);
/* 1 if tour ti respects skills, capacity and time everywhere (after update). */
int rt_vrp_tour_feasible(struct rt_vrp_search *s, uint32_t ti);
/* Insert stop c after position p (room must be reserved) and update. */
void rt_vrp_tour_insert(struct rt_vrp_search *s, uint32_t ti, uint32_t c, uint32_t p);

/* Start a step: save the absent list; tours are saved lazily on first touch. */
void rt_vrp_search_begin(struct rt_vrp_search *s);
/* Save tour ti's stops if this step has not touched it yet. */
void rt_vrp_search_touch(struct rt_vrp_search *s, uint32_t ti);
/* Undo the step: restore every touched tour and the absent list. */
void rt_vrp_search_rollback(struct rt_vrp_search *s);
/* Keep the step. */
void rt_vrp_search_commit(struct rt_vrp_search *s);

/* Cost delta of inserting stop c after position p of tour t, or `limit` when
 * infeasible or not better than limit. O(1): the time check uses the
 * departure from p and the latest start at p+1, the capacity check the
 * maximum load before and after p. Inline: it is the innermost loop. */
static inline double
rt_vrp_tour_insert_delta(const struct rt_vrp_search *s, const struct rt_vrp_tour *t, uint32_t c,
			 uint32_t p, double limit)
{
	const struct rt_vrp_sstop *cs = &s->st[c];
	const size_t nl = s->nl;
	const uint32_t a = t->loc[p], b = t->loc[p + 1], v = cs->loc;
	double delta =
	    t->D[(size_t)a * nl + v] + t->D[(size_t)v * nl + b] - t->D[(size_t)a * nl + b];
	double arr, start;

	if (t->n == 0) /* an unused vehicle costs nothing, not even its depot leg */
		delta += t->open_cost + t->D[(size_t)a * nl + b];
	if (delta >= limit)
		return limit;
	arr = t->dep[p] + t->T[(size_t)a * nl + v];
	start = arr > cs->open ? arr : cs->open;
	if (start > cs->close || start + cs->svc + t->T[(size_t)v * nl + b] > t->latest[p + 1])
		return limit;
	for (int d = 0; d < RT_VRP_DIMS; d++)
		if (t->pmax[p * RT_VRP_DIMS + d] + cs->del[d] > t->capy[d] ||
		    t->smax[p * RT_VRP_DIMS + d] + cs->pick[d] > t->capy[d])
			return limit;
	return delta;
}

/* Remove strings of stops around a random seed stop (SISR ruin), appending
 * them to s->absent. Touches the tours it changes. */
void rt_vrp_sisr_ruin(struct rt_vrp_search *s);
/* Reinsert every absent stop at its cheapest feasible position, skipping each
 * position with probability `blink`; stops that fit nowhere stay absent.
 * Returns RT_E_NOMEM if a tour cannot grow. */
RT_MUST_CHECK enum rt_status rt_vrp_sisr_recreate(struct rt_vrp_search *s, double blink);

#endif
