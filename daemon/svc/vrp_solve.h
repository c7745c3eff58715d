/* What the route planners of the daemon (svc/wave_planner.c for couriers'
 * waves, svc/service_planner.c for engineers' days) share around
 * routing/vrp: one travel profile per distinct vehicle speed, the travel
 * matrices of a problem's points, and one solve with a fixed work budget,
 * seed and wall-clock cap. The matrix and solve functions are pure
 * computation for the worker pool; nothing here touches the loop. */
#ifndef DM_VRP_SOLVE_H
#define DM_VRP_SOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "routing/vrp/problem.h"
#include "routing/vrp/solution.h"
#include "routing/vrp/solver.h"

/* How one solve runs (documented in docs/api.md with the wave planner's). */
struct dm_vrp_solve_params {
	double budget_s;   /* deterministic work budget (rt_vrp_params.seconds) */
	double wall_cap_s; /* safety cap on a slow or sanitized build */
	uint64_t seed;
};

/* The profile index of speed_kmh in speeds_kmh[0..*n), appending it (and
 * counting it in *n) when new: vehicles of one speed share one matrix.
 * speeds_kmh has room for one entry per vehicle. */
uint32_t dm_vrp_solve_profile(double *speeds_kmh, size_t *n, double speed_kmh);

/* Fill the matrices of problem p (p->n_profiles of them, set up to point
 * into dist_m and time_s, n_locs^2 each) from the WGS84 points lonlat
 * (2 * n_locs), great-circle distance times detour at each profile's speed. */
void dm_vrp_solve_matrices(const struct rt_vrp_problem *p, const double *lonlat,
			   const double *speeds_kmh, double detour, double *dist_m,
			   double *time_s);

/* rt_vrp_solver_solve(p, warm) with params on the daemon's monotonic clock.
 * Worker thread. */
enum rt_status dm_vrp_solve_run(const struct rt_vrp_problem *p,
				const struct dm_vrp_solve_params *params,
				const struct rt_vrp_warm *warm, struct rt_vrp_solution **sol,
				struct rt_err *err);

#endif
