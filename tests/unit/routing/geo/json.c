/* GeoJSON reader: bad input is rejected naming the feature and the reason;
 * good input round-trips through the writer and WKB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"

#define SQ "[[116,40],[116.01,40],[116.01,40.01],[116,40.01],[116,40]]"
#define FC(f) "{\"type\":\"FeatureCollection\",\"features\":[" f "]}"
#define FEAT(id, geom) \
	"{\"type\":\"Feature\",\"id\":" id ",\"properties\":{},\"geometry\":" geom "}"
#define POLY(rings) "{\"type\":\"Polygon\",\"coordinates\":[" rings "]}"

struct bad_case {
	const char *json;
	const char *want; /* substring of the error message */
};

static const struct bad_case bad_cases[] = {
	{"{\"type\":", "malformed JSON at line 1"},
	{"[1,2]", "not a GeoJSON FeatureCollection"},
	{"{\"type\":\"Feature\"}", "not a GeoJSON FeatureCollection"},
	{FC("42"), "feature 0: not a GeoJSON Feature object"},
	{FC(FEAT("\"a\"", "{\"type\":\"Point\",\"coordinates\":[116,40]}")),
	 "feature 0 (id \"a\"): geometry type Point is not Polygon or MultiPolygon"},
	{FC(FEAT("\"a\"", "{\"type\":\"LineString\",\"coordinates\":[[116,40],[117,40]]}")),
	 "geometry type LineString is not Polygon"},
	{FC(FEAT("\"a\"", "null")), "feature 0 (id \"a\"): no geometry"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[116.01,91],[116.01,40.01],[116,40]]"))),
	 "polygon 0 ring 0 position 1 (116.01, 91) out of range"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[181,40],[116.01,40.01],[116,40]]"))), "out of range"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[NaN,40],[116.01,40.01],[116,40]]"))), "malformed JSON"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[1e999,40],[116.01,40.01],[116,40]]"))),
	 "malformed JSON"},
	{FC(FEAT("\"a\"", POLY("[]"))), "feature 0 (id \"a\"): polygon 0 ring 0 is empty"},
	{FC(FEAT("\"a\"", POLY(SQ ",[]"))), "polygon 0 ring 1 is empty"},
	{FC(FEAT("\"a\"", "{\"type\":\"Polygon\",\"coordinates\":[]}")), "polygon 0 has no rings"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[116.01,40],[116.01,40.01],[116,40.01]]"))),
	 "polygon 0 ring 0 is not closed"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[116.01,40],[116,40]]"))),
	 "ring 0 has 3 positions, a ring needs 4"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[\"x\",40],[116.01,40.01],[116,40]]"))),
	 "position 1 is not [lon, lat]"},
	{FC(FEAT("\"a\"", POLY("[[116,40],[116.01],[116.01,40.01],[116,40]]"))),
	 "position 1 is not [lon, lat]"},
	{FC(FEAT("\"a\"", "{\"type\":\"MultiPolygon\",\"coordinates\":[]}")),
	 "MultiPolygon has no polygons"},
	{FC(FEAT("\"a\"", "{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQ "],[[[116,40]]]]}")),
	 "feature 0 (id \"a\"): polygon 1 ring 0 has 1 positions, a ring needs 4"},
	{FC("{\"type\":\"Feature\",\"properties\":{},\"geometry\":" POLY(SQ) "}"),
	 "feature 0: missing id"},
	{FC(FEAT("\"\"", POLY(SQ))), "empty id"},
	{FC(FEAT("\"a\"", POLY(SQ)) "," FEAT("\"b\"", POLY(SQ)) "," FEAT("\"a\"", POLY(SQ))),
	 "feature 2 (id \"a\"): duplicate id, also used by feature 0"},
	{FC(FEAT("\"a\"", POLY(SQ)) "," FEAT("\"b\"", "{\"type\":\"Point\"}")),
	 "feature 1 (id \"b\"): geometry type Point"},
	{FC(FEAT("7", POLY(SQ)) "," FEAT("7", POLY(SQ))), "feature 1 (id \"7\"): duplicate id"},
};

static void
test_bad_input(void **state)
{
	(void)state;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);

	assert_non_null(ctx);
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		struct rt_geo_areas *a = (void *)1;
		enum rt_status st;

		memset(&err, 0, sizeof err);
		st = rt_geo_json_parse(ctx, bad_cases[i].json, strlen(bad_cases[i].json), NULL, &a,
				       &err);
		if (st != RT_E_PARSE || a != NULL || strstr(err.msg, bad_cases[i].want) == NULL)
			fail_msg("case %zu: status %d, message \"%s\", want \"%s\"", i, st, err.msg,
				 bad_cases[i].want);
	}
	rt_geo_ctx_free(ctx);
}

static void
test_limits(void **state)
{
	(void)state;
	const char *doc = FC(FEAT("\"a\"", POLY(SQ)) "," FEAT("\"b\"", POLY(SQ)));
	struct rt_geo_json_opts opts;
	struct rt_geo_areas *a = NULL;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);

	rt_geo_json_opts_default(&opts);
	opts.max_bytes = 100;
	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), &opts, &a, &err), RT_E_PARSE);
	assert_non_null(strstr(err.msg, "too large: document is"));
	rt_geo_json_opts_default(&opts);
	opts.max_features = 1;
	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), &opts, &a, &err), RT_E_PARSE);
	assert_non_null(strstr(err.msg, "too large: 2 features, limit 1"));
	rt_geo_json_opts_default(&opts);
	opts.max_vertices = 8;
	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), &opts, &a, &err), RT_E_PARSE);
	assert_non_null(strstr(err.msg, "feature 1 (id \"b\"): too large"));
	rt_geo_json_opts_default(&opts);
	opts.max_feature_vertices = 4;
	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), &opts, &a, &err), RT_E_PARSE);
	assert_non_null(strstr(err.msg, "feature 0 (id \"a\"): too large"));
	rt_geo_json_opts_default(&opts);
	opts.max_id_len = 0;
	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), &opts, &a, &err), RT_E_PARSE);
	assert_non_null(strstr(err.msg, "id longer than 0 bytes"));
	assert_null(a);
	rt_geo_ctx_free(ctx);
}

static void
test_good_input(void **state)
{
	(void)state;
	const char *doc =
		FC("{\"type\":\"Feature\",\"id\":12,\"properties\":{\"name\":\"twelve\",\"kind\":"
		   "\"station\"},"
		   "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[" SQ
		   ",[[116.002,40.002],[116.004,40.002],[116.004,40.004],[116.002,40.002]]]}},"
		   "{\"type\":\"Feature\",\"properties\":{\"id\":\"m\",\"kind\":\"district\"},"
		   "\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQ "],"
		   "[[[117,40],[117.01,40],[117.01,40.01],[117,40]]]]}}");
	struct rt_geo_json_opts opts;
	struct rt_geo_areas *a = NULL, *b = NULL;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	char *text = NULL, *gj = NULL;
	size_t len;

	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), NULL, &a, &err), RT_OK);
	assert_int_equal(rt_geo_areas_count(a), 2);
	assert_string_equal(rt_geo_areas_id(a, 0), "12");
	assert_string_equal(rt_geo_areas_name(a, 0), "twelve");
	assert_string_equal(rt_geo_areas_kind(a, 0), "station");
	assert_string_equal(rt_geo_areas_id(a, 1), "m");
	assert_null(rt_geo_areas_name(a, 1));
	assert_int_equal(rt_geo_areas_find(a, "m"), 1);
	assert_int_equal(rt_geo_areas_find(a, "x"), -1);
	assert_string_equal(rt_geo_areas_props_json(a, 1), "{\"id\":\"m\",\"kind\":\"district\"}");
	assert_int_equal(rt_geo_areas_geojson(a, 1, &gj, &err), RT_OK);
	assert_non_null(strstr(gj, "\"type\":\"MultiPolygon\""));
	free(gj);

	/* Writer output parses back to the same geometry. */
	assert_int_equal(rt_geo_json_write(a, "\"x\":1", &text, &len, &err), RT_OK);
	assert_int_equal(strlen(text), len);
	assert_int_equal(rt_geo_json_parse(ctx, text, len, NULL, &b, &err), RT_OK);
	assert_int_equal(rt_geo_areas_count(b), 2);
	for (size_t i = 0; i < 2; i++) {
		unsigned char *w1, *w2;
		size_t n1, n2;

		assert_int_equal(rt_geo_areas_wkb(a, i, &w1, &n1, &err), RT_OK);
		assert_int_equal(rt_geo_areas_wkb(b, i, &w2, &n2, &err), RT_OK);
		assert_int_equal(n1, n2);
		assert_memory_equal(w1, w2, n1);
		free(w1);
		free(w2);
	}
	free(text);
	rt_geo_areas_free(b);
	b = NULL;

	/* Kind filter keeps matching features only. */
	rt_geo_json_opts_default(&opts);
	opts.kind = "district";
	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), &opts, &b, &err), RT_OK);
	assert_int_equal(rt_geo_areas_count(b), 1);
	assert_string_equal(rt_geo_areas_id(b, 0), "m");
	rt_geo_areas_free(b);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

static void
test_wkb(void **state)
{
	(void)state;
	const char *doc = FC(FEAT("\"a\"", POLY(SQ)));
	/* POINT(116 40), little-endian WKB */
	static const unsigned char point[] = {1,  1,  0, 0, 0, 0, 0, 0, 0,  0, 0,
					      93, 64, 0, 0, 0, 0, 0, 0, 68, 64};
	static const unsigned char junk[] = {1, 3, 0, 0, 0, 9};
	struct rt_geo_areas *a = NULL, *b;
	struct rt_err err;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	unsigned char *w;
	size_t n;

	assert_int_equal(rt_geo_json_parse(ctx, doc, strlen(doc), NULL, &a, &err), RT_OK);
	assert_int_equal(rt_geo_areas_wkb(a, 0, &w, &n, &err), RT_OK);
	b = rt_geo_areas_new(ctx, &err);
	assert_int_equal(rt_geo_areas_add_wkb(b, "a", "A", "station", "{}", w, n, &err), RT_OK);
	assert_int_equal(rt_geo_areas_add_wkb(b, "a", NULL, NULL, NULL, w, n, &err), RT_E_INVAL);
	assert_non_null(strstr(err.msg, "duplicate id"));
	assert_int_equal(rt_geo_areas_add_wkb(b, "p", NULL, NULL, NULL, point, sizeof point, &err),
			 RT_E_PARSE);
	assert_non_null(strstr(err.msg, "area p: geometry is not a polygon"));
	assert_int_equal(rt_geo_areas_add_wkb(b, "j", NULL, NULL, NULL, junk, sizeof junk, &err),
			 RT_E_PARSE);
	assert_non_null(strstr(err.msg, "area j: bad WKB"));
	assert_int_equal(rt_geo_areas_count(b), 1);
	assert_string_equal(rt_geo_areas_kind(b, 0), "station");
	assert_true(rt_geo_areas_area_m2(b, 0) > 900000.0);
	free(w);
	rt_geo_areas_free(b);
	rt_geo_areas_free(a);
	rt_geo_ctx_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_good_input),
		cmocka_unit_test(test_wkb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
