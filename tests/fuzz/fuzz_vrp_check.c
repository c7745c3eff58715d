/* libFuzzer harness: the planner's input checker rt_vrp_problem_check
 * (routing/vrp/problem.c), the gate every problem passes before the solver
 * (the wave planner's, `dispatchctl solve`'s). The input bytes build a small
 * problem: sizes, then each number from a tag byte (small integers, large
 * ones, NaN, infinities, -0.0, 1e300, or 8 raw bytes) and each index from a
 * byte (sometimes out of range). The checker must agree with the contract
 * of problem.h, recomputed here independently: it accepts a problem exactly
 * when it has locations and a profile, every index is in range, every
 * number is finite and the non-negative ones are >= 0, and every window and
 * shift is ordered. A problem it accepts must be one the planner can plan:
 * the solver (on a small work budget) returns a plan that the independent
 * validator rt_vrp_check_solution accepts, with every stop served or
 * unassigned with a reason. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/check.h"
#include "routing/vrp/problem.h"
#include "routing/vrp/solver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_VRP_CHECK_LOCS 8
#define FUZZ_VRP_CHECK_STOPS 10
#define FUZZ_VRP_CHECK_VEHICLES 4
#define FUZZ_VRP_CHECK_PROFILES 2

struct fuzz_vrp_check_in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
fuzz_vrp_check_byte(struct fuzz_vrp_check_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static double
fuzz_vrp_check_num(struct fuzz_vrp_check_in *in)
{
	uint8_t t = fuzz_vrp_check_byte(in);
	if (t < 200)
		return (double)t - 20.0;
	if (t < 240)
		return (double)(t - 200) * 100.0;
	switch (t) {
	case 240: return NAN;
	case 241: return INFINITY;
	case 242: return -INFINITY;
	case 243: return 1e300;
	case 244: return -0.0;
	case 245: return 1e15;
	default: break;
	}
	double v = 0.0;
	uint8_t raw[sizeof v];
	for (size_t i = 0; i < sizeof raw; i++)
		raw[i] = fuzz_vrp_check_byte(in);
	memcpy(&v, raw, sizeof v);
	return v;
}

static uint32_t
fuzz_vrp_check_index(struct fuzz_vrp_check_in *in, size_t n)
{
	uint8_t b = fuzz_vrp_check_byte(in);
	return b == 255 ? UINT32_MAX : (uint32_t)(b % (n + 1));
}

static bool
fuzz_vrp_check_nonneg(double v)
{
	return isfinite(v) && v >= 0.0;
}

/* The contract of rt_vrp_problem_check, written from problem.h. */
static bool
fuzz_vrp_check_valid(const struct rt_vrp_problem *p)
{
	if (p->n_locs == 0 || p->n_profiles == 0)
		return false;
	for (size_t k = 0; k < p->n_profiles; k++)
		for (size_t i = 0; i < p->n_locs * p->n_locs; i++)
			if (!fuzz_vrp_check_nonneg(p->matrices[k].dist_m[i]) ||
			    !fuzz_vrp_check_nonneg(p->matrices[k].time_s[i]))
				return false;
	for (size_t i = 0; i < p->n_stops; i++) {
		const struct rt_vrp_stop *s = &p->stops[i];
		if (s->loc >= p->n_locs || !fuzz_vrp_check_nonneg(s->service_s) ||
		    !isfinite(s->tw_open_s) || !isfinite(s->tw_close_s) || s->tw_open_s > s->tw_close_s)
			return false;
		for (int d = 0; d < RT_VRP_DIMS; d++)
			if (!fuzz_vrp_check_nonneg(s->delivery[d]) || !fuzz_vrp_check_nonneg(s->pickup[d]))
				return false;
	}
	for (size_t i = 0; i < p->n_vehicles; i++) {
		const struct rt_vrp_vehicle *v = &p->vehicles[i];
		if (v->start_loc >= p->n_locs || v->end_loc >= p->n_locs || v->profile >= p->n_profiles ||
		    !fuzz_vrp_check_nonneg(v->fixed_cost) || !isfinite(v->shift_start_s) ||
		    !isfinite(v->shift_end_s) || v->shift_start_s > v->shift_end_s)
			return false;
		for (int d = 0; d < RT_VRP_DIMS; d++)
			if (!fuzz_vrp_check_nonneg(v->capacity[d]))
				return false;
	}
	return true;
}

/* Plan an accepted problem and hold the plan against the validator. */
static void
fuzz_vrp_check_plan(const struct rt_vrp_problem *p)
{
	struct rt_vrp_params params;
	struct rt_vrp_solution *sol = NULL;
	struct rt_err err;
	rt_vrp_solver_params_init(&params);
	params.work_limit = 20000;
	enum rt_status st = rt_vrp_solver_solve(p, &params, NULL, &sol, &err);
	if (st != RT_OK || sol == NULL)
		__builtin_trap();
	size_t served = sol->n_unassigned;
	for (size_t r = 0; r < sol->n_routes; r++)
		served += sol->routes[r].n_visits;
	if (served != p->n_stops || rt_vrp_check_solution(p, sol, NULL, &err) != RT_OK)
		__builtin_trap();
	rt_vrp_solution_free(sol);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_vrp_check_in in = {data, size};
	double mat[FUZZ_VRP_CHECK_PROFILES][2][FUZZ_VRP_CHECK_LOCS * FUZZ_VRP_CHECK_LOCS];
	struct rt_vrp_matrix matrices[FUZZ_VRP_CHECK_PROFILES];
	struct rt_vrp_stop stops[FUZZ_VRP_CHECK_STOPS];
	struct rt_vrp_vehicle vehicles[FUZZ_VRP_CHECK_VEHICLES];
	struct rt_vrp_problem p = {
		.n_locs = fuzz_vrp_check_byte(&in) % (FUZZ_VRP_CHECK_LOCS + 1),
		.n_stops = fuzz_vrp_check_byte(&in) % (FUZZ_VRP_CHECK_STOPS + 1),
		.n_vehicles = fuzz_vrp_check_byte(&in) % (FUZZ_VRP_CHECK_VEHICLES + 1),
		.n_profiles = fuzz_vrp_check_byte(&in) % (FUZZ_VRP_CHECK_PROFILES + 1),
		.stops = stops,
		.vehicles = vehicles,
		.matrices = matrices,
	};
	size_t nl = p.n_locs;
	memset(stops, 0, sizeof stops);
	memset(vehicles, 0, sizeof vehicles);
	for (size_t k = 0; k < p.n_profiles; k++) {
		/* A flag byte: odd, every entry from the input; even, planar
		 * distances between points from the input, time = distance. */
		if (fuzz_vrp_check_byte(&in) & 1) {
			for (size_t i = 0; i < nl * nl; i++) {
				mat[k][0][i] = fuzz_vrp_check_num(&in);
				mat[k][1][i] = fuzz_vrp_check_num(&in);
			}
		} else {
			double xy[2 * FUZZ_VRP_CHECK_LOCS];
			for (size_t i = 0; i < 2 * nl; i++)
				xy[i] = fuzz_vrp_check_num(&in);
			rt_vrp_problem_matrix_euclidean(xy, nl, 1.0, mat[k][0], mat[k][1]);
		}
		matrices[k].dist_m = mat[k][0];
		matrices[k].time_s = mat[k][1];
	}
	for (size_t i = 0; i < p.n_stops; i++) {
		struct rt_vrp_stop *s = &stops[i];
		s->loc = fuzz_vrp_check_index(&in, nl);
		for (int d = 0; d < RT_VRP_DIMS; d++) {
			s->delivery[d] = fuzz_vrp_check_num(&in);
			s->pickup[d] = fuzz_vrp_check_num(&in);
		}
		s->tw_open_s = fuzz_vrp_check_num(&in);
		s->tw_close_s = fuzz_vrp_check_num(&in);
		s->service_s = fuzz_vrp_check_num(&in);
		s->skills = fuzz_vrp_check_byte(&in) & 3;
	}
	for (size_t i = 0; i < p.n_vehicles; i++) {
		struct rt_vrp_vehicle *v = &vehicles[i];
		for (int d = 0; d < RT_VRP_DIMS; d++)
			v->capacity[d] = fuzz_vrp_check_num(&in);
		v->shift_start_s = fuzz_vrp_check_num(&in);
		v->shift_end_s = fuzz_vrp_check_num(&in);
		v->start_loc = fuzz_vrp_check_index(&in, nl);
		v->end_loc = fuzz_vrp_check_index(&in, nl);
		v->profile = fuzz_vrp_check_index(&in, p.n_profiles);
		v->fixed_cost = fuzz_vrp_check_num(&in);
		v->skills = fuzz_vrp_check_byte(&in) & 3;
	}
	struct rt_err err;
	memset(&err, 'x', sizeof err);
	bool ok = rt_vrp_problem_check(&p, &err) == RT_OK;
	if (ok != fuzz_vrp_check_valid(&p))
		__builtin_trap();
	if (!ok && (err.code != RT_E_INVAL || memchr(err.msg, '\0', sizeof err.msg) == NULL))
		__builtin_trap();
	if (ok)
		fuzz_vrp_check_plan(&p);
	return 0;
}
