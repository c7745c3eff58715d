/* The real Beijing data: the districts repair and resolve; the vendored
 * sample network is exactly what the generator produces; and every one of
 * 10,000 random points inside the city's outer boundary resolves to exactly
 * one station. This test reads files (the harness may; the core may not) and
 * uses GEOS directly to build the city outline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
#include <jansson.h>
#include <math.h>

#include "fixture.h"
#include "routing/geo/index.h"
#include "routing/geo/network.h"

#define DISTRICTS "data/cities/beijing.geojson"
#define NETWORK "data/beijing/network.geojson"

static struct rt_geo_areas *
load(struct rt_geo_ctx *ctx, const char *rel, const char *kind)
{
	struct rt_geo_json_opts opts;
	struct rt_geo_areas *a = NULL;
	struct rt_err err = {0};
	size_t len = 0;
	char *buf = geo_fixture_read(rel, &len);

	assert_non_null(buf);
	rt_geo_json_opts_default(&opts);
	opts.kind = kind;
	if (rt_geo_json_parse(ctx, buf, len, &opts, &a, &err) != RT_OK ||
	    rt_geo_repair_run(a, &err) != RT_OK || rt_geo_areas_resolve(a, &err) != RT_OK)
		fail_msg("%s: %s", rel, err.msg);
	free(buf);
	return a;
}

static void
test_districts(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *d = load(ctx, DISTRICTS, NULL);
	struct rt_geo_repair_summary sum;
	char *rep;
	double total = 0.0;

	rt_geo_repair_summary(d, &sum);
	assert_int_equal(sum.areas, 16);
	assert_int_equal(sum.invalid, 12); /* as the data README says */
	assert_int_equal(sum.repaired, 12);
	assert_int_equal(sum.emptied, 0);
	assert_true(sum.overlapped > 0);
	for (size_t i = 0; i < 16; i++) {
		assert_true(rt_geo_areas_area_m2(d, i) > 3e7); /* Dongcheng: 42 km2 */
		total += rt_geo_areas_area_m2(d, i);
	}
	/* Beijing municipality: 16,410 km2. */
	assert_true(fabs(total / 1e6 - 16410.0) < 400.0);
	assert_int_equal(rt_geo_repair_report_json(d, &rep, &err), RT_OK);
	assert_non_null(strstr(rep, "Self-intersection"));
	free(rep);
	rt_geo_areas_free(d);
	rt_geo_ctx_free(ctx);
}

static void
test_network_file(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *all = load(ctx, NETWORK, NULL), *st = load(ctx, NETWORK, "station");
	struct rt_geo_repair_summary sum;
	size_t n = rt_geo_areas_count(st), chaoyang = 0, yanqing = 0;

	assert_true(n >= 60);
	rt_geo_repair_summary(st, &sum);
	assert_int_equal(sum.invalid, 0); /* the generator writes valid polygons */
	assert_int_equal(sum.emptied, 0);
	assert_true(rt_geo_areas_find(all, "bj-rdc-01") >= 0);
	assert_true(rt_geo_areas_find(all, "bj-fdc-01") >= 0);
	assert_true(rt_geo_areas_find(all, "bj-fdc-02") >= 0);
	assert_true(rt_geo_areas_find(all, "bj-fdc-03") >= 0);
	assert_string_equal(rt_geo_areas_id(st, 0), "bj-st-001");
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_loads(rt_geo_areas_props_json(st, i), 0, NULL);
		const char *dist = json_string_value(json_object_get(p, "district"));

		assert_non_null(dist);
		assert_non_null(json_object_get(p, "lon"));
		assert_non_null(json_string_value(json_object_get(p, "fdc")));
		chaoyang += strcmp(dist, "110105") == 0;
		yanqing += strcmp(dist, "110119") == 0;
		json_decref(p);
	}
	assert_true(chaoyang > 3 * yanqing && yanqing >= 1);
	rt_geo_areas_free(all);
	rt_geo_areas_free(st);
	rt_geo_ctx_free(ctx);
}

/* The city's outer boundary: union of the repaired districts, holes filled. */
static GEOSGeometry *
outline(GEOSContextHandle_t h, struct rt_geo_areas *d)
{
	size_t n = rt_geo_areas_count(d);
	GEOSGeometry **parts = calloc(n, sizeof *parts), *coll, *uni, **shells;
	GEOSWKBReader *rd = GEOSWKBReader_create_r(h);
	struct rt_err err;
	int np;

	for (size_t i = 0; i < n; i++) {
		unsigned char *w;
		size_t len;

		assert_int_equal(rt_geo_areas_wkb(d, i, &w, &len, &err), RT_OK);
		parts[i] = GEOSWKBReader_read_r(h, rd, w, len);
		free(w);
	}
	GEOSWKBReader_destroy_r(h, rd);
	coll = GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)n);
	free(parts);
	uni = GEOSUnaryUnion_r(h, coll);
	GEOSGeom_destroy_r(h, coll);
	np = GEOSGetNumGeometries_r(h, uni);
	shells = calloc((size_t)np, sizeof *shells);
	for (int k = 0; k < np; k++) {
		const GEOSGeometry *poly = GEOSGetGeometryN_r(h, uni, k);

		shells[k] = GEOSGeom_createPolygon_r(
			h, GEOSGeom_clone_r(h, GEOSGetExteriorRing_r(h, poly)), NULL, 0);
	}
	GEOSGeom_destroy_r(h, uni);
	coll = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, shells, (unsigned)np);
	free(shells);
	return coll;
}

static void
test_random_points(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	GEOSContextHandle_t h = GEOS_init_r();
	struct rt_geo_areas *d = load(ctx, DISTRICTS, NULL), *st = load(ctx, NETWORK, "station");
	GEOSGeometry *city = outline(h, d);
	const GEOSPreparedGeometry *pcity = GEOSPrepare_r(h, city);
	size_t ns = rt_geo_areas_count(st);
	const GEOSPreparedGeometry **pst = calloc(ns, sizeof *pst);
	GEOSGeometry **gst = calloc(ns, sizeof *gst);
	GEOSWKBReader *rd = GEOSWKBReader_create_r(h);
	struct rt_geo_index_opts opts;
	struct rt_geo_index *idx;
	unsigned long long seed = 20200101;
	double xmin, ymin, xmax, ymax;
	int points = 0, inside = 0, near = 0, disagree = 0;

	for (size_t i = 0; i < ns; i++) {
		unsigned char *w;
		size_t len;

		assert_int_equal(rt_geo_areas_wkb(st, i, &w, &len, &err), RT_OK);
		gst[i] = GEOSWKBReader_read_r(h, rd, w, len);
		pst[i] = GEOSPrepare_r(h, gst[i]);
		free(w);
	}
	GEOSWKBReader_destroy_r(h, rd);
	rt_geo_index_opts_default(&opts);
	opts.keep_exact = true;
	idx = rt_geo_index_new(ctx, st, &opts, &err);
	assert_non_null(idx);
	GEOSGeom_getXMin_r(h, city, &xmin);
	GEOSGeom_getYMin_r(h, city, &ymin);
	GEOSGeom_getXMax_r(h, city, &xmax);
	GEOSGeom_getYMax_r(h, city, &ymax);
	while (points < 10000) {
		double lon = xmin + (xmax - xmin) * geo_fixture_rand(&seed);
		double lat = ymin + (ymax - ymin) * geo_fixture_rand(&seed);
		GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, lon, lat);
		struct rt_geo_hit f, e;
		int covering = 0;
		long which = -1;

		if (GEOSPreparedContains_r(h, pcity, pt) != 1) {
			GEOSGeom_destroy_r(h, pt);
			continue;
		}
		points++;
		for (size_t i = 0; i < ns; i++) {
			if (GEOSPreparedContains_r(h, pst[i], pt) == 1) {
				covering++;
				which = (long)i;
			}
		}
		GEOSGeom_destroy_r(h, pt);
		assert_int_equal(rt_geo_index_locate(idx, lon, lat, &f), RT_OK);
		assert_int_equal(rt_geo_index_locate_exact(idx, lon, lat, &e, &err), RT_OK);
		/* Exactly one station: never two areas, never outside coverage. */
		if (covering > 1 || f.area < 0)
			fail_msg("point %.7f %.7f: %d covering areas, lookup %ld (%d)", lon, lat,
				 covering, f.area, f.kind);
		if (covering == 1 && (f.area != which || f.kind != RT_GEO_HIT_INSIDE))
			fail_msg("point %.7f %.7f: in %ld, lookup %ld", lon, lat, which, f.area);
		inside += f.kind == RT_GEO_HIT_INSIDE;
		near += f.kind == RT_GEO_HIT_NEAR;
		disagree += f.area != e.area;
	}
	print_message("10000 points: %d inside a station area, %d in gaps (nearest station)\n",
		      inside, near);
	assert_int_equal(inside + near, 10000);
	assert_int_equal(disagree, 0);
	rt_geo_index_free(idx);
	for (size_t i = 0; i < ns; i++) {
		GEOSPreparedGeom_destroy_r(h, pst[i]);
		GEOSGeom_destroy_r(h, gst[i]);
	}
	free(pst);
	free(gst);
	GEOSPreparedGeom_destroy_r(h, pcity);
	GEOSGeom_destroy_r(h, city);
	GEOS_finish_r(h);
	rt_geo_areas_free(d);
	rt_geo_areas_free(st);
	rt_geo_ctx_free(ctx);
}

/* The committed network file is byte for byte the generator's output. */
static void
test_regenerate(void **state)
{
	(void)state;
	struct rt_err err = {0};
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	size_t dlen = 0, nlen = 0, olen = 0;
	char *districts = geo_fixture_read(DISTRICTS, &dlen);
	char *network = geo_fixture_read(NETWORK, &nlen);
	char *out = NULL;
	json_t *net = json_loadb(network, nlen, 0, NULL);
	json_t *gen = json_object_get(net, "generator");

	assert_non_null(gen);
	if (rt_geo_network_generate(ctx, districts, dlen, rt_geo_network_spec_beijing(),
				    (uint64_t)json_integer_value(json_object_get(gen, "seed")),
				    (size_t)json_integer_value(json_object_get(gen, "stations")),
				    &out, &olen, &err) != RT_OK)
		fail_msg("generate: %s", err.msg);
	assert_int_equal(olen, nlen);
	assert_memory_equal(out, network, nlen);
	/* Bad counts are refused. */
	free(out);
	assert_int_equal(rt_geo_network_generate(ctx, districts, dlen,
						 rt_geo_network_spec_beijing(), 1, 5, &out, &olen,
						 &err),
			 RT_E_INVAL);
	assert_null(out);
	json_decref(net);
	free(districts);
	free(network);
	rt_geo_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_districts),
		cmocka_unit_test(test_network_file),
		cmocka_unit_test(test_random_points),
		cmocka_unit_test(test_regenerate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
