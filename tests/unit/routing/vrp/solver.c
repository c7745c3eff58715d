/* Unit tests of the route planner (routing/vrp/solver.c) through its public
 * API, every result checked by the independent validator: pickups and
 * deliveries mixed on one route, unassigned reasons, warm starts keeping
 * fixed prefixes, determinism, random problems, and Solomon C101 / R101
 * solved within 5 % of the best-known distance on a small work budget. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing/vrp/check.h"
#include "routing/vrp/solver.h"
#include "fixture.h"

static struct rt_vrp_solution *
solve(const struct rt_vrp_problem *p, enum rt_vrp_objective obj, uint64_t work, uint64_t seed,
      const struct rt_vrp_warm *warm)
{
	struct rt_vrp_params pr;
	struct rt_vrp_solution *sol = NULL;
	struct rt_err err = {0};

	rt_vrp_solver_params_init(&pr);
	pr.objective = obj;
	pr.work_limit = work;
	pr.seed = seed;
	if (rt_vrp_solver_solve(p, &pr, warm, &sol, &err) != RT_OK)
		fail_msg("solver: %s", err.msg);
	if (rt_vrp_check_solution(p, sol, warm, &err) != RT_OK)
		fail_msg("validator: %s", err.msg);
	return sol;
}

/* A line of 4 stops east of the depot. Vehicle capacity 10: two deliveries
 * of 5 and two pickups of 5. Carrying both deliveries and picking up first
 * would exceed 10, so the only feasible order serves deliveries first. */
static void
test_pickups_and_deliveries_mixed(void **state)
{
	(void)state;
	double xy[] = {0, 0, 1, 0, 2, 0, 3, 0, 4, 0};
	double dist[25], tim[25];
	struct rt_vrp_stop st[4] = {0};
	struct rt_vrp_vehicle v = {.capacity = {10, 0}, .shift_end_s = 100};
	struct rt_vrp_matrix m = {dist, tim};
	struct rt_vrp_problem p = {5, 4, 1, 1, st, &v, &m};
	struct rt_vrp_solution *sol;

	rt_vrp_problem_matrix_euclidean(xy, 5, 1.0, dist, tim);
	for (int i = 0; i < 4; i++) {
		st[i].loc = (uint32_t)(i + 1);
		st[i].tw_close_s = 100;
	}
	/* pickups near the depot, deliveries far: distance alone would prefer
	 * picking up on the way out */
	st[0].pickup[0] = 5;
	st[1].pickup[0] = 5;
	st[2].delivery[0] = 5;
	st[3].delivery[0] = 5;
	sol = solve(&p, RT_VRP_OBJ_DISTANCE, 200000, 1, NULL);
	assert_int_equal(sol->n_unassigned, 0);
	assert_int_equal(sol->n_routes, 1);
	assert_int_equal(sol->routes[0].n_visits, 4);
	assert_true(sol->routes[0].load_start[0] == 10);
	for (size_t k = 0; k < 4; k++)
		assert_true(sol->routes[0].visits[k].load[0] <= 10);
	/* a delivery comes before any pickup once the van is full */
	assert_true(sol->routes[0].visits[0].stop >= 2);
	rt_vrp_solution_free(sol);

	/* capacity 9 holds one delivery and one pickup at most: two stops stay
	 * unassigned, each of which would fit alone */
	v.capacity[0] = 9;
	sol = solve(&p, RT_VRP_OBJ_DISTANCE, 200000, 1, NULL);
	assert_int_equal(sol->n_unassigned, 2);
	assert_int_equal(sol->routes[0].n_visits, 2);
	assert_int_equal(sol->unassigned[0].reason, RT_VRP_REASON_NO_VEHICLE);
	assert_int_equal(sol->unassigned[1].reason, RT_VRP_REASON_NO_VEHICLE);
	rt_vrp_solution_free(sol);
}

static void
test_unassigned_reasons(void **state)
{
	(void)state;
	double xy[] = {0, 0, 10, 0, 20, 0, 30, 0, 40, 0, 500, 0, 50, 0};
	double dist[49], tim[49];
	struct rt_vrp_stop st[6] = {0};
	struct rt_vrp_vehicle v = {.capacity = {10, 10}, .shift_end_s = 600};
	struct rt_vrp_matrix m = {dist, tim};
	struct rt_vrp_problem p = {7, 6, 1, 1, st, &v, &m};
	struct rt_vrp_solution *sol;
	enum rt_vrp_reason want[6] = {0,
				      RT_VRP_REASON_SKILL,
				      RT_VRP_REASON_CAPACITY,
				      RT_VRP_REASON_WINDOW,
				      RT_VRP_REASON_SHIFT,
				      RT_VRP_REASON_NO_VEHICLE};

	rt_vrp_problem_matrix_euclidean(xy, 7, 1.0, dist, tim);
	for (int i = 0; i < 6; i++) {
		st[i].loc = (uint32_t)(i + 1);
		st[i].tw_close_s = 600;
		st[i].delivery[0] = 1;
	}
	st[1].skills = 4;      /* nobody offers skill bit 2 */
	st[2].pickup[1] = 11;  /* volume above the only vehicle's */
	st[3].tw_close_s = 20; /* 30 away from the depot, closes at 20 */
	st[4].loc = 5;         /* 500 away: reachable in window, no way back by 600 */
	st[4].tw_close_s = 550;
	st[5].delivery[0] = 9; /* fits alone, not with stop 0 on the same van */
	st[5].tw_open_s = st[5].tw_close_s = 50;
	st[0].tw_open_s = st[0].tw_close_s = 10;
	st[0].delivery[0] = 5;
	sol = solve(&p, RT_VRP_OBJ_DISTANCE, 200000, 3, NULL);
	assert_int_equal(sol->n_routes, 1);
	assert_int_equal(sol->n_unassigned, 5);
	for (size_t i = 0; i < sol->n_unassigned; i++) {
		uint32_t s = sol->unassigned[i].stop;
		assert_int_not_equal(s, 0);
		assert_int_equal(sol->unassigned[i].reason, want[s]);
		assert_string_not_equal(rt_vrp_problem_reason_name(sol->unassigned[i].reason),
					"unknown");
	}
	rt_vrp_solution_free(sol);
}

static void
test_warm_start_keeps_fixed_stops(void **state)
{
	(void)state;
	struct vrp_fixture f;
	struct rt_vrp_solution *first, *second;
	struct rt_vrp_warm_route wr[8];
	uint32_t *stops[8];
	struct rt_vrp_warm warm = {0, wr};
	struct rt_vrp_params pr;
	struct rt_err err;

	vrp_fixture_random(&f, 60, 8, 11);
	first = solve(&f.p, RT_VRP_OBJ_DISTANCE, 2000000, 1, NULL);
	assert_true(first->n_routes >= 2);
	/* couriers are halfway: the first half of each route is done */
	for (size_t r = 0; r < first->n_routes; r++) {
		const struct rt_vrp_route *rt = &first->routes[r];
		stops[r] = malloc(rt->n_visits * sizeof *stops[r]);
		for (size_t k = 0; k < rt->n_visits; k++)
			stops[r][k] = rt->visits[k].stop;
		wr[r] = (struct rt_vrp_warm_route){rt->vehicle, rt->n_visits, stops[r],
						   rt->n_visits / 2};
	}
	warm.n_routes = first->n_routes;
	/* new conditions: a different seed and one courier's shift cut short */
	f.veh[first->routes[0].vehicle].shift_end_s = first->routes[0].return_s + 50;
	second = solve(&f.p, RT_VRP_OBJ_DISTANCE, 2000000, 99, &warm);
	for (size_t r = 0; r < warm.n_routes; r++) {
		const struct rt_vrp_route *rt = NULL;
		for (size_t i = 0; i < second->n_routes; i++)
			if (second->routes[i].vehicle == wr[r].vehicle)
				rt = &second->routes[i];
		assert_non_null(rt);
		for (size_t k = 0; k < wr[r].n_fixed; k++)
			assert_int_equal(rt->visits[k].stop, wr[r].stops[k]);
	}
	rt_vrp_solution_free(second);

	/* a fixed prefix that breaks the shift is refused, not silently dropped */
	f.veh[wr[0].vehicle].shift_end_s = 1;
	rt_vrp_solver_params_init(&pr);
	pr.work_limit = 100000;
	second = NULL;
	assert_int_equal(rt_vrp_solver_solve(&f.p, &pr, &warm, &second, &err), RT_E_INFEASIBLE);
	assert_null(second);
	assert_non_null(strstr(err.msg, "fixed prefix"));
	/* a stop in two warm routes is an error */
	f.veh[wr[0].vehicle].shift_end_s = 1000;
	stops[1][0] = stops[0][0];
	assert_int_equal(rt_vrp_solver_solve(&f.p, &pr, &warm, &second, &err), RT_E_INVAL);
	for (size_t r = 0; r < warm.n_routes; r++)
		free(stops[r]);
	rt_vrp_solution_free(first);
	vrp_fixture_free(&f);
}

static void
test_same_seed_same_answer(void **state)
{
	(void)state;
	struct vrp_fixture f;
	struct rt_vrp_solution *a, *b, *c;

	vrp_fixture_random(&f, 50, 8, 5);
	a = solve(&f.p, RT_VRP_OBJ_DISTANCE, 3000000, 7, NULL);
	b = solve(&f.p, RT_VRP_OBJ_DISTANCE, 3000000, 7, NULL);
	c = solve(&f.p, RT_VRP_OBJ_HIERARCHICAL, 3000000, 7, NULL);
	assert_true(a->dist_m == b->dist_m);
	assert_int_equal(a->n_routes, b->n_routes);
	assert_int_equal(a->iterations, b->iterations);
	for (size_t r = 0; r < a->n_routes; r++) {
		assert_int_equal(a->routes[r].vehicle, b->routes[r].vehicle);
		assert_int_equal(a->routes[r].n_visits, b->routes[r].n_visits);
		for (size_t k = 0; k < a->routes[r].n_visits; k++)
			assert_int_equal(a->routes[r].visits[k].stop, b->routes[r].visits[k].stop);
	}
	/* hierarchical never uses more vehicles */
	assert_true(c->n_routes <= a->n_routes);
	rt_vrp_solution_free(a);
	rt_vrp_solution_free(b);
	rt_vrp_solution_free(c);
	vrp_fixture_free(&f);
}

static void
test_random_problems_valid(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct vrp_fixture f;
		struct rt_vrp_solution *sol;
		vrp_fixture_random(&f, 30 + 10 * seed, 2 + seed % 5, seed);
		f.veh[0].skills = 1;
		f.stops[0].skills = 1;
		f.stops[1].skills = 1;
		sol = solve(&f.p, seed % 2 ? RT_VRP_OBJ_DISTANCE : RT_VRP_OBJ_HIERARCHICAL, 500000,
			    seed, NULL);
		rt_vrp_solution_free(sol);
		vrp_fixture_free(&f);
	}
}

static void
solomon_within(const char *name, enum rt_vrp_objective obj, double bks, size_t max_vehicles)
{
	struct rt_vrp_solomon *inst = vrp_fixture_solomon(name);
	struct rt_vrp_solution *sol;

	assert_non_null(inst);
	/* about 0.1 s in a release build; the budget is work, not wall clock */
	sol = solve(&inst->problem, obj, 15000000, 1, NULL);
	assert_int_equal(sol->n_unassigned, 0);
	assert_true(sol->dist_m <= bks * 1.05);
	assert_true(sol->n_routes <= max_vehicles);
	rt_vrp_solution_free(sol);
	rt_vrp_solomon_free(inst);
}

static void
test_solomon_c101_within_bks(void **state)
{
	(void)state;
	solomon_within("C101", RT_VRP_OBJ_DISTANCE, 828.94, 25);
	solomon_within("C101", RT_VRP_OBJ_HIERARCHICAL, 828.94, 10);
}

static void
test_solomon_r101_within_bks(void **state)
{
	(void)state;
	solomon_within("R101", RT_VRP_OBJ_DISTANCE, 1642.88, 25);
}

static void
test_bad_arguments(void **state)
{
	(void)state;
	struct vrp_fixture f;
	struct rt_vrp_params pr;
	struct rt_vrp_solution *sol = NULL;
	struct rt_err err;

	vrp_fixture_random(&f, 5, 1, 1);
	rt_vrp_solver_params_init(&pr);
	pr.work_limit = 1000;
	f.stops[2].tw_open_s = 500;
	f.stops[2].tw_close_s = 400;
	assert_int_equal(rt_vrp_solver_solve(&f.p, &pr, NULL, &sol, &err), RT_E_INVAL);
	assert_non_null(strstr(err.msg, "stop 2"));
	f.stops[2].tw_close_s = 600;
	f.veh[0].profile = 3;
	assert_int_equal(rt_vrp_solver_solve(&f.p, &pr, NULL, &sol, &err), RT_E_INVAL);
	f.veh[0].profile = 0;
	f.dist[7] = NAN;
	assert_int_equal(rt_vrp_solver_solve(&f.p, &pr, NULL, &sol, &err), RT_E_INVAL);
	assert_null(sol);
	vrp_fixture_free(&f);
}

static void
test_degenerate_problems(void **state)
{
	(void)state;
	struct vrp_fixture f;
	struct rt_vrp_solution *sol;
	uint32_t all[4] = {0, 1, 2, 3};
	struct rt_vrp_warm_route wr = {0, 4, all, 4};
	struct rt_vrp_warm warm = {1, &wr};

	vrp_fixture_random(&f, 4, 2, 3);
	for (int i = 0; i < 4; i++) {
		f.stops[i].tw_open_s = 0;
		f.stops[i].tw_close_s = 1000;
		f.stops[i].delivery[0] = f.stops[i].pickup[0] = 1;
	}
	/* no vehicles: every stop unassigned, with a reason */
	f.p.n_vehicles = 0;
	sol = solve(&f.p, RT_VRP_OBJ_DISTANCE, 100000, 1, NULL);
	assert_int_equal(sol->n_routes, 0);
	assert_int_equal(sol->n_unassigned, 4);
	assert_int_equal(sol->unassigned[0].reason, RT_VRP_REASON_NO_VEHICLE);
	rt_vrp_solution_free(sol);
	/* no stops */
	f.p.n_vehicles = 2;
	f.p.n_stops = 0;
	sol = solve(&f.p, RT_VRP_OBJ_HIERARCHICAL, 100000, 1, NULL);
	assert_int_equal(sol->n_routes, 0);
	rt_vrp_solution_free(sol);
	/* everything fixed: the plan is the warm start, whatever the budget */
	f.p.n_stops = 4;
	sol = solve(&f.p, RT_VRP_OBJ_HIERARCHICAL, 100000, 1, &warm);
	assert_int_equal(sol->n_routes, 1);
	assert_int_equal(sol->routes[0].n_visits, 4);
	rt_vrp_solution_free(sol);
	vrp_fixture_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pickups_and_deliveries_mixed),
	    cmocka_unit_test(test_unassigned_reasons),
	    cmocka_unit_test(test_warm_start_keeps_fixed_stops),
	    cmocka_unit_test(test_same_seed_same_answer),
	    cmocka_unit_test(test_random_problems_valid),
	    cmocka_unit_test(test_solomon_c101_within_bks),
	    cmocka_unit_test(test_solomon_r101_within_bks),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_degenerate_problems),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
