/* Repair: invalid polygons are made valid (structure method) and reported;
 * valid ones are left alone; a polygon with no surface is an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "fixture.h"

#define FC1(id, coords)                                                                    \
	"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"id\":\"" id \
	"\",\"properties\":{\"name\":\"" id "\"},\"geometry\":{\"type\":\"Polygon\","      \
	"\"coordinates\":" coords "}}]}"

static struct rt_geo_areas *
parse(struct rt_geo_ctx *ctx, const char *doc)
{
	struct rt_geo_areas *a = NULL;
	struct rt_err err;

	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), NULL, &a, &err), RT_OK);
	return a;
}

static json_t *
report(struct rt_geo_areas *a)
{
	struct rt_err err;
	char *text;
	json_t *j;

	assert_int_equal(rt_geo_repair_report_json(a, &text, &err), RT_OK);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	free(text);
	return j;
}

static void
test_valid_untouched(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a = parse(
		ctx, FC1("sq", "[[[116,40],[116.01,40],[116.01,40.01],[116,40.01],[116,40]]]"));
	json_t *j, *f;
	double m2;

	assert_int_equal(rt_geo_repair_run(a, &err), RT_OK);
	j = report(a);
	f = json_array_get(json_object_get(j, "features"), 0);
	assert_true(json_is_true(json_object_get(f, "valid")));
	assert_string_equal(json_string_value(json_object_get(f, "action")), "none");
	assert_int_equal(json_integer_value(json_object_get(j, "invalid")), 0);
	/* 0.01 deg x 0.01 deg at 40N: 853 m x 1112 m */
	m2 = rt_geo_areas_area_m2(a, 0);
	assert_true(fabs(m2 - 948500.0) < 5000.0);
	json_decref(j);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

static void
test_bowtie(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a = parse(
		ctx, FC1("bow", "[[[116,40],[116.01,40.01],[116.01,40],[116,40.01],[116,40]]]"));
	struct rt_geo_repair_summary sum;
	json_t *j, *f;

	assert_int_equal(rt_geo_repair_run(a, &err), RT_OK);
	rt_geo_repair_summary(a, &sum);
	assert_int_equal(sum.invalid, 1);
	assert_int_equal(sum.repaired, 1);
	j = report(a);
	f = json_array_get(json_object_get(j, "features"), 0);
	assert_true(json_is_false(json_object_get(f, "valid")));
	assert_non_null(
		strstr(json_string_value(json_object_get(f, "reason")), "Self-intersection"));
	assert_string_equal(json_string_value(json_object_get(f, "action")), "make_valid");
	assert_int_equal(json_integer_value(json_object_get(f, "parts_after")), 2);
	assert_true(json_is_array(json_object_get(f, "location")));
	/* Two triangles, each a quarter of the square. */
	assert_true(fabs(rt_geo_areas_area_m2(a, 0) - 948500.0 / 2) < 5000.0);
	json_decref(j);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

static void
test_hole_outside_shell(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a =
		parse(ctx, FC1("h", "[[[116,40],[116.01,40],[116.01,40.01],[116,40.01],[116,40]],"
				    "[[116.02,40],[116.03,40],[116.03,40.01],[116.02,40]]]"));
	json_t *j, *f;

	assert_int_equal(rt_geo_repair_run(a, &err), RT_OK);
	j = report(a);
	f = json_array_get(json_object_get(j, "features"), 0);
	assert_true(json_is_false(json_object_get(f, "valid")));
	assert_non_null(strstr(json_string_value(json_object_get(f, "reason")), "Hole"));
	assert_true(rt_geo_areas_area_m2(a, 0) > 900000.0);
	json_decref(j);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

static void
test_no_surface(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct rt_geo_areas *a =
		parse(ctx, FC1("flat", "[[[116,40],[116.01,40],[116.02,40],[116,40]]]"));

	assert_int_equal(rt_geo_repair_run(a, &err), RT_E_PARSE);
	assert_non_null(strstr(err.msg, "feature 0 (id \"flat\"): no surface left after repair"));
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_untouched),
		cmocka_unit_test(test_bowtie),
		cmocka_unit_test(test_hole_outside_shell),
		cmocka_unit_test(test_no_surface),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
