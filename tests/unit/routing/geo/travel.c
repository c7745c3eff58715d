/* The travel-time model (routing/geo/travel.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "routing/common/distance.h"
#include "routing/geo/travel.h"

static void
test_travel(void **state)
{
	(void)state;
	struct rt_geo_travel_model m;
	struct rt_err err;
	enum rt_geo_vehicle v;
	double pts[] = {116.40, 39.90, 116.50, 39.90, 116.40, 40.00};
	double dist[9], time[9], d, t, straight;

	rt_geo_travel_model_default(&m);
	assert_int_equal(rt_geo_travel_model_check(&m, &err), RT_OK);
	straight = rt_distance_haversine_m(116.40, 39.90, 116.40, 40.00);
	assert_int_equal(rt_geo_travel_estimate(&m, RT_GEO_VEHICLE_TRICYCLE, 116.40, 39.90, 116.40,
						40.00, &d, &t),
			 RT_OK);
	assert_true(fabs(d - straight * 1.3) < 1e-6);
	assert_true(fabs(t - d / (18.0 / 3.6)) < 1e-6);
	m.detour_factor = 1.0;
	m.speed_kmh[RT_GEO_VEHICLE_VAN] = 36.0;
	assert_int_equal(rt_geo_travel_estimate(&m, RT_GEO_VEHICLE_VAN, 116.40, 39.90, 116.40,
						40.00, NULL, &t),
			 RT_OK);
	assert_true(fabs(t - straight / 10.0) < 1e-6);
	assert_int_equal(rt_geo_travel_estimate(&m, RT_GEO_VEHICLE_COUNT, 0, 0, 0, 0, &d, &t),
			 RT_E_INVAL);
	assert_int_equal(rt_geo_travel_estimate(&m, RT_GEO_VEHICLE_VAN, NAN, 0, 0, 0, &d, &t),
			 RT_E_INVAL);
	assert_int_equal(rt_geo_travel_matrix(&m, RT_GEO_VEHICLE_VAN, pts, 3, dist, time), RT_OK);
	for (int i = 0; i < 3; i++) {
		assert_true(dist[i * 3 + i] == 0.0);
		for (int j = 0; j < 3; j++)
			assert_true(dist[i * 3 + j] == dist[j * 3 + i]);
	}
	assert_true(fabs(time[2] - straight / 10.0) < 1e-6);
	m.detour_factor = 0.5;
	assert_int_equal(rt_geo_travel_model_check(&m, &err), RT_E_INVAL);
	assert_non_null(strstr(err.msg, "detour"));
	rt_geo_travel_model_default(&m);
	m.speed_kmh[RT_GEO_VEHICLE_WALK] = 0.0;
	assert_int_equal(rt_geo_travel_model_check(&m, &err), RT_E_INVAL);
	assert_non_null(strstr(err.msg, "walk"));
	assert_int_equal(rt_geo_travel_vehicle_parse("truck", &v), RT_OK);
	assert_int_equal(v, RT_GEO_VEHICLE_TRUCK);
	assert_int_equal(rt_geo_travel_vehicle_parse("boat", &v), RT_E_INVAL);
	assert_string_equal(rt_geo_travel_vehicle_name(RT_GEO_VEHICLE_TRICYCLE), "tricycle");
	assert_null(rt_geo_travel_vehicle_name(RT_GEO_VEHICLE_COUNT));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_travel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
