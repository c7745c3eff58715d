/* The great-circle helpers shared by rt_geo and rt_vrp (routing/common/distance.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "routing/common/distance.h"

static void
test_distance(void **state)
{
	(void)state;
	/* Beijing (Tiananmen) to Shanghai (People's Square): about 1067 km. */
	double d = rt_distance_haversine_m(116.3975, 39.9087, 121.4737, 31.2304);
	double sq[] = {0, 0, 1, 0, 1, 1, 0, 1, 0, 0};

	assert_true(fabs(d - 1067000.0) < 5000.0);
	assert_true(rt_distance_haversine_m(116.4, 39.9, 116.4, 39.9) == 0.0);
	/* One degree of latitude. */
	assert_true(fabs(rt_distance_haversine_m(0, 0, 0, 1) - RT_DISTANCE_M_PER_DEG) < 0.01);
	/* 1 x 1 degree cell at the equator: R^2 * dlon * (sin 1 - sin 0) = 12364 km2. */
	assert_true(fabs(rt_distance_ring_area_m2(sq, 5) / 1e6 - 12364.0) < 10.0);
	assert_true(rt_distance_ring_area_m2(sq, 2) == 0.0);
	/* Point 0.01 deg north of a segment along the parallel: 1112 m. */
	assert_true(fabs(rt_distance_point_segment_m(116.0, 40.01, 115.9, 40.0, 116.1, 40.0) -
			 1111.95) < 0.5);
	/* Beyond the end: distance to the end point. */
	assert_true(fabs(rt_distance_point_segment_m(116.2, 40.0, 115.9, 40.0, 116.1, 40.0) -
			 rt_distance_haversine_m(116.2, 40.0, 116.1, 40.0)) < 1.0);
	assert_true(rt_distance_lonlat_ok(180, -90));
	assert_false(rt_distance_lonlat_ok(180.0001, 0));
	assert_false(rt_distance_lonlat_ok(0, NAN));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
