/* Unit tests of route geometry export (routing/vrp_route_geom.c): the WKB
 * LineString runs depot, stops, depot, and the GeoJSON FeatureCollection
 * carries the geometry, the ETAs and the unassigned stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <geos_c.h>
#include <jansson.h>

#include "routing/vrp_route_geom.h"
#include "vrp_fixture.h"

static void
test_route_geometry(void **state)
{
	(void)state;
	double lonlat[] = {116.40, 39.90, 116.41, 39.90, 116.41, 39.91};
	double dist[9], tim[9];
	struct rt_vrp_stop st[2] = {0};
	struct rt_vrp_vehicle v = {.capacity = {10, 10}, .shift_end_s = 86400};
	struct rt_vrp_matrix m = {dist, tim};
	struct rt_vrp_problem p = {3, 2, 1, 1, st, &v, &m};
	uint32_t veh = 0, seq[] = {1};
	size_t start[2] = {0, 1};
	struct rt_vrp_unassigned un = {0, RT_VRP_REASON_WINDOW};
	struct rt_err err;
	struct rt_vrp_solution *sol;
	GEOSContextHandle_t ctx = GEOS_init_r();
	GEOSWKBReader *rd;
	GEOSGeometry *g, *pt;
	unsigned char *wkb;
	size_t len;
	char *text;
	json_t *doc, *f0, *f1, *un0;
	double x;

	rt_vrp_problem_matrix_haversine(lonlat, 3, 1.3, 5.0, dist, tim);
	st[0].loc = 1;
	st[1].loc = 2;
	st[1].tw_close_s = st[0].tw_close_s = 86400;
	st[1].delivery[0] = 2;
	sol = rt_vrp_solution_new(&p, 1, &veh, start, seq, &un, 1, &err);
	assert_non_null(sol);

	assert_int_equal(rt_vrp_route_geom_wkb(ctx, &p, sol, 0, lonlat, &wkb, &len, &err), RT_OK);
	rd = GEOSWKBReader_create_r(ctx);
	g = GEOSWKBReader_read_r(ctx, rd, wkb, len);
	assert_non_null(g);
	assert_int_equal(GEOSGeomTypeId_r(ctx, g), GEOS_LINESTRING);
	assert_int_equal(GEOSGeomGetNumPoints_r(ctx, g), 3);
	pt = GEOSGeomGetPointN_r(ctx, g, 1); /* a new geometry, ours to free */
	assert_int_equal(GEOSGeomGetX_r(ctx, pt, &x), 1);
	GEOSGeom_destroy_r(ctx, pt);
	GEOSGeom_destroy_r(ctx, g);
	assert_true(x == 116.41);
	GEOSWKBReader_destroy_r(ctx, rd);
	free(wkb);
	assert_int_equal(rt_vrp_route_geom_wkb(ctx, &p, sol, 1, lonlat, &wkb, &len, &err),
			 RT_E_INVAL);

	assert_int_equal(rt_vrp_route_geom_geojson(ctx, &p, sol, lonlat, &text, &err), RT_OK);
	doc = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "type")), "FeatureCollection");
	assert_int_equal(json_array_size(json_object_get(doc, "features")), 2);
	f0 = json_array_get(json_object_get(doc, "features"), 0);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(f0, "geometry"), "type")),
	    "LineString");
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(f0, "geometry"), "coordinates")), 3);
	assert_int_equal(
	    json_array_size(json_object_get(json_object_get(f0, "properties"), "stops")), 1);
	f1 = json_array_get(json_object_get(doc, "features"), 1);
	un0 = json_array_get(json_object_get(json_object_get(f1, "properties"), "unassigned"), 0);
	assert_string_equal(json_string_value(json_object_get(un0, "reason")), "window");
	json_decref(doc);
	rt_vrp_solution_free(sol);
	GEOS_finish_r(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_route_geometry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
