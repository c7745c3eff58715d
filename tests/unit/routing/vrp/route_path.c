/* Unit tests of route paths as plain coordinates (routing/vrp/route_path.c):
 * depot, stops in visiting order, depot, read from the caller's per-location
 * coordinates; out-of-range routes are refused. No GEOS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "routing/vrp/route_path.h"
#include "fixture.h"

static void
test_route_path(void **state)
{
	(void)state;
	/* depot, a, b, c: the route visits c then a; b is left unassigned */
	double lonlat[] = {116.40, 39.90, 116.41, 39.90, 116.41, 39.91, 116.42, 39.92};
	double dist[16], tim[16];
	struct rt_vrp_stop st[3] = {0};
	struct rt_vrp_vehicle v[2] = {{.capacity = {10, 10}, .shift_end_s = 86400},
				      {.capacity = {10, 10}, .shift_end_s = 86400}};
	struct rt_vrp_matrix m = {dist, tim};
	struct rt_vrp_problem p = {4, 3, 2, 1, st, v, &m};
	uint32_t veh = 1, seq[] = {2, 0};
	size_t start[2] = {0, 2};
	struct rt_vrp_unassigned un = {1, RT_VRP_REASON_WINDOW};
	struct rt_err err;
	struct rt_vrp_solution *sol;
	double out[8];
	const double want[] = {116.40, 39.90, 116.42, 39.92, 116.41, 39.90, 116.40, 39.90};

	rt_vrp_problem_matrix_haversine(lonlat, 4, 1.3, 5.0, dist, tim);
	for (size_t i = 0; i < 3; i++) {
		st[i].loc = (uint32_t)(i + 1);
		st[i].tw_close_s = 86400;
	}
	sol = rt_vrp_solution_new(&p, 1, &veh, start, seq, &un, 1, &err);
	assert_non_null(sol);
	assert_int_equal(sol->n_routes, 1);
	assert_int_equal(rt_vrp_route_path_len(&sol->routes[0]), 4);
	assert_int_equal(rt_vrp_route_path_coords(&p, &sol->routes[0], lonlat, out, &err), RT_OK);
	for (size_t k = 0; k < 8; k++)
		assert_true(out[k] == want[k]);

	/* A route of a vehicle the problem does not have, or a stop past its end. */
	struct rt_vrp_route bad = sol->routes[0];
	bad.vehicle = 2;
	assert_int_equal(rt_vrp_route_path_coords(&p, &bad, lonlat, out, &err), RT_E_INVAL);
	assert_non_null(strstr(err.msg, "vehicle 2"));
	bad.vehicle = 1;
	p.n_stops = 2; /* stop 2 is now out of range */
	assert_int_equal(rt_vrp_route_path_coords(&p, &bad, lonlat, out, &err), RT_E_INVAL);
	assert_non_null(strstr(err.msg, "point 1"));
	rt_vrp_solution_free(sol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
