/* Geodesic helpers and the travel-time model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "routing/geo_distance.h"
#include "routing/geo_travel.h"

static void
test_distance(void **state)
{
	(void)state;
	/* Beijing (Tiananmen) to Shanghai (People's Square): about 1067 km. */
	double d = rt_geo_distance_haversine_m(116.3975, 39.9087, 121.4737, 31.2304);
	double sq[] = {0, 0, 1, 0, 1, 1, 0, 1, 0, 0};

	assert_true(fabs(d - 1067000.0) < 5000.0);
	assert_true(rt_geo_distance_haversine_m(116.4, 39.9, 116.4, 39.9) == 0.0);
	/* One degree of latitude. */
	assert_true(fabs(rt_geo_distance_haversine_m(0, 0, 0, 1) - RT_GEO_M_PER_DEG) < 0.01);
	/* 1 x 1 degree cell at the equator: R^2 * dlon * (sin 1 - sin 0) = 12364 km2. */
	assert_true(fabs(rt_geo_distance_ring_area_m2(sq, 5) / 1e6 - 12364.0) < 10.0);
	assert_true(rt_geo_distance_ring_area_m2(sq, 2) == 0.0);
	/* Point 0.01 deg north of a segment along the parallel: 1112 m. */
	assert_true(fabs(rt_geo_distance_point_segment_m(116.0, 40.01, 115.9, 40.0, 116.1, 40.0) -
			 1111.95) < 0.5);
	/* Beyond the end: distance to the end point. */
	assert_true(fabs(rt_geo_distance_point_segment_m(116.2, 40.0, 115.9, 40.0, 116.1, 40.0) -
			 rt_geo_distance_haversine_m(116.2, 40.0, 116.1, 40.0)) < 1.0);
	assert_true(rt_geo_distance_lonlat_ok(180, -90));
	assert_false(rt_geo_distance_lonlat_ok(180.0001, 0));
	assert_false(rt_geo_distance_lonlat_ok(0, NAN));
}

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
	straight = rt_geo_distance_haversine_m(116.40, 39.90, 116.40, 40.00);
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
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_travel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
