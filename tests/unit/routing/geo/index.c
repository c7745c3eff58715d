/* Index: inside answers, the gap rule (nearest area within the tolerance,
 * ties to the lower index, else outside), holes, bad points, and agreement of
 * the fast path with the GEOS prepared-geometry reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "fixture.h"
#include "routing/geo/index.h"

struct fx {
	struct rt_geo_ctx *ctx;
	struct rt_geo_areas *areas;
	char *doc;
};

/* A = [0, 0.01]^2, B = [0.02, 0.03] x [0, 0.01]: a 0.01 deg (853 m) gap between them. */
static void
two_squares(struct fx *f)
{
	char feats[4096] = "";
	struct rt_err err;

	f->ctx = rt_geo_ctx_new(&err);
	geo_fixture_rect(feats, sizeof feats, "A", 0.0, 0.0, 0.01, 0.01);
	geo_fixture_rect(feats, sizeof feats, "B", 0.02, 0.0, 0.03, 0.01);
	f->doc = geo_fixture_fc(feats);
	f->areas = geo_fixture_areas(f->ctx, f->doc, &err);
	assert_non_null(f->areas);
}

static void
fx_free(struct fx *f)
{
	rt_geo_areas_free(f->areas);
	free(f->doc);
	rt_geo_ctx_free(f->ctx);
}

static struct rt_geo_hit
at(const struct rt_geo_index *idx, double dx, double dy)
{
	struct rt_geo_hit hit;

	assert_int_equal(rt_geo_index_locate(idx, GEO_X0 + dx, GEO_Y0 + dy, &hit), RT_OK);
	return hit;
}

static void
test_gap_rule(void **state)
{
	(void)state;
	struct rt_geo_index_opts opts;
	struct rt_geo_index *idx;
	struct rt_geo_hit h;
	struct fx f;

	two_squares(&f);
	rt_geo_index_opts_default(&opts);
	idx = rt_geo_index_new(f.ctx, f.areas, &opts, NULL);
	assert_non_null(idx);
	h = at(idx, 0.005, 0.005);
	assert_int_equal(h.kind, RT_GEO_HIT_INSIDE);
	assert_int_equal(h.area, 0);
	assert_true(h.dist_m == 0.0);
	h = at(idx, 0.025, 0.005);
	assert_int_equal(h.kind, RT_GEO_HIT_INSIDE);
	assert_int_equal(h.area, 1);
	/* 0.002 deg east of A: 171 m, within 500 m. */
	h = at(idx, 0.012, 0.005);
	assert_int_equal(h.kind, RT_GEO_HIT_NEAR);
	assert_int_equal(h.area, 0);
	assert_true(fabs(h.dist_m - 170.6) < 1.0);
	h = at(idx, 0.0149, 0.005);
	assert_int_equal(h.area, 0);
	h = at(idx, 0.0151, 0.005);
	assert_int_equal(h.area, 1);
	/* Just north and south of A (the top edge lies on the area's ymax, the
	 * last slab's boundary): 0.002 deg = 222 m, within 500 m. */
	h = at(idx, 0.005, 0.012);
	assert_int_equal(h.kind, RT_GEO_HIT_NEAR);
	assert_int_equal(h.area, 0);
	assert_true(fabs(h.dist_m - 222.4) < 1.0);
	h = at(idx, 0.005, -0.002);
	assert_int_equal(h.kind, RT_GEO_HIT_NEAR);
	assert_int_equal(h.area, 0);
	/* North of A by 0.006 deg = 667 m: outside. */
	h = at(idx, 0.005, 0.016);
	assert_int_equal(h.kind, RT_GEO_HIT_OUTSIDE);
	assert_int_equal(h.area, -1);
	h = at(idx, 1.0, 1.0);
	assert_int_equal(h.kind, RT_GEO_HIT_OUTSIDE);
	assert_int_equal(rt_geo_index_locate(idx, NAN, 40.0, &h), RT_E_INVAL);
	assert_int_equal(h.area, -1);
	assert_int_equal(rt_geo_index_locate(idx, 116.0, 95.0, &h), RT_E_INVAL);
	assert_string_equal(rt_geo_index_id(idx, 1), "B");
	assert_null(rt_geo_index_id(idx, 2));
	rt_geo_index_free(idx);

	/* Tolerance 300 m: the middle of the gap (426 m from both) is outside. */
	opts.gap_tolerance_m = 300.0;
	idx = rt_geo_index_new(f.ctx, f.areas, &opts, NULL);
	h = at(idx, 0.015, 0.005);
	assert_int_equal(h.kind, RT_GEO_HIT_OUTSIDE);
	h = at(idx, 0.012, 0.005);
	assert_int_equal(h.area, 0);
	rt_geo_index_free(idx);
	fx_free(&f);
}

static void
test_tie_goes_to_lower_index(void **state)
{
	(void)state;
	char feats[4096] = "";
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a;
	struct rt_geo_index *idx;
	struct rt_geo_hit h;
	char *doc;

	/* Mirror images about lat 40.01 + 0.002: a point on that line is equidistant. */
	geo_fixture_rect(feats, sizeof feats, "n", 0.0, 0.014, 0.01, 0.024);
	geo_fixture_rect(feats, sizeof feats, "s", 0.0, 0.0, 0.01, 0.01);
	doc = geo_fixture_fc(feats);
	a = geo_fixture_areas(ctx, doc, &err);
	idx = rt_geo_index_new(ctx, a, NULL, &err);
	assert_non_null(idx);
	h = at(idx, 0.005, 0.012);
	assert_int_equal(h.kind, RT_GEO_HIT_NEAR);
	assert_int_equal(h.area, 0); /* "n" is area 0 in the set */
	rt_geo_index_free(idx);
	rt_geo_areas_free(a);
	free(doc);
	rt_geo_ctx_free(ctx);
}

static void
test_hole(void **state)
{
	(void)state;
	const char *doc =
		"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"id\":\"h\","
		"\"properties\":{},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":["
		"[[116,40],[116.05,40],[116.05,40.05],[116,40.05],[116,40]],"
		"[[116.01,40.01],[116.04,40.01],[116.04,40.04],[116.01,40.04],[116.01,40.01]]]}}]}";
	struct rt_geo_index_opts opts;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a = geo_fixture_areas(ctx, doc, &err);
	struct rt_geo_index *idx;
	struct rt_geo_hit h;

	rt_geo_index_opts_default(&opts);
	idx = rt_geo_index_new(ctx, a, &opts, &err);
	h = at(idx, 0.025, 0.025); /* hole centre: 1.3 km from the ring */
	assert_int_equal(h.kind, RT_GEO_HIT_OUTSIDE);
	h = at(idx, 0.012, 0.025); /* in the hole, 170 m from its edge */
	assert_int_equal(h.kind, RT_GEO_HIT_NEAR);
	h = at(idx, 0.005, 0.025);
	assert_int_equal(h.kind, RT_GEO_HIT_INSIDE);
	rt_geo_index_free(idx);
	opts.gap_tolerance_m = 0.0;
	idx = rt_geo_index_new(ctx, a, &opts, &err);
	h = at(idx, 0.012, 0.025);
	assert_int_equal(h.kind, RT_GEO_HIT_OUTSIDE);
	rt_geo_index_free(idx);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

static void
test_empty_set(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a = rt_geo_areas_new(ctx, &err);
	struct rt_geo_index *idx = rt_geo_index_new(ctx, a, NULL, &err);
	struct rt_geo_hit h;

	assert_non_null(idx);
	assert_int_equal(rt_geo_index_count(idx), 0);
	assert_int_equal(rt_geo_index_locate(idx, 0.0, 0.0, &h), RT_OK);
	assert_int_equal(h.kind, RT_GEO_HIT_OUTSIDE);
	rt_geo_index_free(idx);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

/* Star-shaped and overlapping polygons: the fast path agrees with GEOS. */
static void
test_fast_matches_exact(void **state)
{
	(void)state;
	char feats[65536] = "";
	struct rt_geo_index_opts opts;
	struct rt_geo_index_stats st;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a;
	struct rt_geo_index *idx;
	unsigned long long seed = 7;
	char *doc;
	int mismatches = 0, near = 0, inside = 0;

	for (int s = 0; s < 5; s++) {
		double cx = 0.03 + 0.035 * (s % 3), cy = 0.03 + 0.04 * (s / 3);
		size_t n = strlen(feats);

		n += (size_t)snprintf(feats + n, sizeof feats - n,
				      "%s{\"type\":\"Feature\",\"id\":\"star%d\",\"properties\":{},"
				      "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
				      s ? "," : "", s);
		for (int k = 0; k <= 40; k++) {
			double ang = 2 * M_PI * (k % 40) / 40, r = (k % 2 ? 0.012 : 0.03);

			n += (size_t)snprintf(feats + n, sizeof feats - n, "%s[%.9f,%.9f]",
					      k ? "," : "", GEO_X0 + cx + r * cos(ang),
					      GEO_Y0 + cy + r * sin(ang));
		}
		snprintf(feats + n, sizeof feats - n, "]]}}");
	}
	doc = geo_fixture_fc(feats);
	a = geo_fixture_areas(ctx, doc, &err);
	assert_non_null(a);
	rt_geo_index_opts_default(&opts);
	opts.keep_exact = true;
	opts.cell_m = 100.0;
	idx = rt_geo_index_new(ctx, a, &opts, &err);
	assert_non_null(idx);
	rt_geo_index_stats(idx, &st);
	assert_true(st.cells_inside > 0 && st.cells_edge > 0);
	for (int i = 0; i < 20000; i++) {
		double lon = GEO_X0 + 0.15 * geo_fixture_rand(&seed) - 0.01;
		double lat = GEO_Y0 + 0.12 * geo_fixture_rand(&seed) - 0.01;
		struct rt_geo_hit f, e;

		assert_int_equal(rt_geo_index_locate(idx, lon, lat, &f), RT_OK);
		assert_int_equal(rt_geo_index_locate_exact(idx, lon, lat, &e, &err), RT_OK);
		inside += f.kind == RT_GEO_HIT_INSIDE;
		near += f.kind == RT_GEO_HIT_NEAR;
		if (f.area != e.area || f.kind != e.kind ||
		    (f.kind == RT_GEO_HIT_NEAR && fabs(f.dist_m - e.dist_m) > 2.0)) {
			if (mismatches < 5)
				print_message("mismatch at %.7f %.7f: fast %ld/%d/%.1f exact "
					      "%ld/%d/%.1f\n",
					      lon, lat, f.area, f.kind, f.dist_m, e.area, e.kind,
					      e.dist_m);
			mismatches++;
		}
	}
	assert_true(inside > 1000 && near > 100);
	assert_int_equal(mismatches, 0);
	rt_geo_index_free(idx);
	rt_geo_areas_free(a);
	free(doc);
	rt_geo_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gap_rule),
		cmocka_unit_test(test_tie_goes_to_lower_index),
		cmocka_unit_test(test_hole),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_fast_matches_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
