/* A plan for a struct rt_vrp_problem: routes with per-stop ETAs and loads,
 * and the stops left unassigned with their reason. */
#ifndef RT_VRP_SOLUTION_H
#define RT_VRP_SOLUTION_H

#include <stddef.h>
#include <stdint.h>

#include "routing/common/err.h"
#include "routing/vrp/problem.h"

/* A served stop with its ETAs. */
struct rt_vrp_visit {
	uint32_t stop;            /* stop index */
	double arrival_s;         /* arrival at the stop */
	double start_s;           /* start of service (after any wait) */
	double departure_s;       /* start_s + service_s */
	double load[RT_VRP_DIMS]; /* load on board when leaving the stop */
	double dist_from_prev_m;  /* leg distance from the previous point */
};

/* One used vehicle's route. */
struct rt_vrp_route {
	uint32_t vehicle; /* vehicle index */
	size_t n_visits;
	struct rt_vrp_visit *visits;    /* owned by the solution */
	double depart_s;                /* departure from start_loc */
	double return_s;                /* arrival at end_loc */
	double load_start[RT_VRP_DIMS]; /* load when leaving the depot (sum of deliveries) */
	double dist_m;                  /* total route distance, including the return leg */
};

struct rt_vrp_unassigned {
	uint32_t stop;
	enum rt_vrp_reason reason;
};

/* A plan: heap object owned by the caller, freed with rt_vrp_solution_free(). */
struct rt_vrp_solution {
	size_t n_routes;
	struct rt_vrp_route *routes; /* only vehicles that serve at least one stop */
	size_t n_unassigned;
	struct rt_vrp_unassigned *unassigned;
	double dist_m;       /* sum of route distances */
	double cost;         /* distance + fixed costs of the used vehicles */
	uint64_t iterations; /* search iterations performed */
	uint64_t work;       /* deterministic work units spent (see docs/routing.md) */
};

/* Build a solution from stop sequences: route r is vehicle vehicles[r]
 * serving seq[seq_start[r] .. seq_start[r+1]-1] in order (seq_start has
 * n_routes + 1 entries). The vehicle leaves its depot just in time for the
 * first stop's start of service (never before its shift start); ETAs, loads
 * and distances are simulated forward, waiting when early. Empty routes are
 * skipped. unassigned (n_unassigned entries) is copied. All inputs are
 * borrowed. Returns NULL with err filled (RT_E_NOMEM or RT_E_INVAL). */
struct rt_vrp_solution *rt_vrp_solution_new(const struct rt_vrp_problem *p, size_t n_routes,
					    const uint32_t *vehicles, const size_t *seq_start,
					    const uint32_t *seq,
					    const struct rt_vrp_unassigned *unassigned,
					    size_t n_unassigned, struct rt_err *err);

/* Free a solution and everything it owns. NULL is a no-op. */
void rt_vrp_solution_free(struct rt_vrp_solution *sol);

#endif
