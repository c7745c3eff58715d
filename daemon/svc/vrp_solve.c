/* The planners' shared use of routing/vrp (see vrp_solve.h): profiles,
 * matrices and one solve. Moved here from svc/wave_planner.c when the
 * engineers' day planner (svc/service_planner.c) came to need the same. */
#include "daemon/svc/vrp_solve.h"

#include "daemon/base/clock.h"

uint32_t
dm_vrp_solve_profile(double *speeds_kmh, size_t *n, double speed_kmh)
{
	size_t k = 0;
	while (k < *n && speeds_kmh[k] != speed_kmh)
		k++;
	if (k == *n)
		speeds_kmh[(*n)++] = speed_kmh;
	return (uint32_t)k;
}

void
dm_vrp_solve_matrices(const struct rt_vrp_problem *p, const double *lonlat,
		      const double *speeds_kmh, double detour, double *dist_m, double *time_s)
{
	size_t nl = p->n_locs;
	for (size_t k = 0; k < p->n_profiles; k++)
		rt_vrp_problem_matrix_haversine(lonlat, nl, detour, speeds_kmh[k] / 3.6,
						dist_m + k * nl * nl, time_s + k * nl * nl);
}

static double
dm_vrp_solve_clock(void *arg)
{
	(void)arg;
	return dm_clock_mono_s();
}

enum rt_status
dm_vrp_solve_run(const struct rt_vrp_problem *p, const struct dm_vrp_solve_params *params,
		 const struct rt_vrp_warm *warm, struct rt_vrp_solution **sol, struct rt_err *err)
{
	struct rt_vrp_params pr;
	rt_vrp_solver_params_init(&pr);
	pr.seed = params->seed;
	pr.seconds = params->budget_s;
	pr.clock = dm_vrp_solve_clock;
	pr.wall_cap_s = params->wall_cap_s;
	return rt_vrp_solver_solve(p, &pr, warm, sol, err);
}
