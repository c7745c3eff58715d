/* The courier route planner: SISR ruin-and-recreate under simulated
 * annealing (see docs/routing.md), single-threaded, deterministic for a given
 * seed and work budget. Pure: no I/O, no clock of its own, no globals, so a
 * worker thread may call it concurrently on different problems. */
#ifndef RT_VRP_SOLVER_H
#define RT_VRP_SOLVER_H

#include <stdint.h>

#include "routing/common/err.h"
#include "routing/vrp/problem.h"
#include "routing/vrp/solution.h"

/* Work units per second of budget on one core of the reference machine (a
 * fixed calibration, so a budget in seconds stays deterministic). */
#define RT_VRP_SOLVER_WORK_PER_SECOND 150000000.0

/* Monotonic clock in seconds, supplied by the caller for the safety cap. */
typedef double rt_vrp_clock_fn(void *arg);

struct rt_vrp_params {
	enum rt_vrp_objective objective;
	uint64_t seed;
	double seconds; /* budget, turned into seconds * RT_VRP_SOLVER_WORK_PER_SECOND work units */
	uint64_t work_limit;    /* if > 0, the budget in work units (overrides seconds) */
	rt_vrp_clock_fn *clock; /* optional; NULL disables the wall-clock cap */
	void *clock_arg;
	double wall_cap_s; /* stop early after this many clock seconds (0: no cap); breaks
			    * determinism only when it fires */
};

/* Defaults: distance objective, seed 1, 1 second, no wall-clock cap. */
void rt_vrp_solver_params_init(struct rt_vrp_params *params);

/* Plan routes for p. warm may be NULL (cold start) or a previous plan whose
 * fixed prefixes stay untouched (see struct rt_vrp_warm). On RT_OK, *out is a
 * new solution owned by the caller (rt_vrp_solution_free); every stop is in
 * a route or in unassigned with a reason. Errors: RT_E_INVAL (bad problem or
 * warm start), RT_E_INFEASIBLE (a fixed prefix breaks a hard constraint),
 * RT_E_NOMEM. Borrows p, params and warm for the call only. */
RT_MUST_CHECK enum rt_status rt_vrp_solver_solve(const struct rt_vrp_problem *p,
						 const struct rt_vrp_params *params,
						 const struct rt_vrp_warm *warm,
						 struct rt_vrp_solution **out, struct rt_err *err);

#endif
