/* Unit tests for daemon/io/query_parse.c: lat/lon, the sku= list, wave keys
 * and RFC 3339 times, each as a table of good and bad inputs with the error
 * a client would see. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/io/query_parse.h"
#include "warehouse/civil.h"

/* errors as compact JSON with sorted keys; the caller frees. */
static char *
query_dump(const json_t *errors)
{
	char *s = json_dumps(errors, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	return s;
}

struct latlon_case {
	const char *lat, *lon;
	int rc;
	double want_lat, want_lon;
	const char *errors; /* compact JSON with sorted keys */
};

static const struct latlon_case latlon_cases[] = {
	{"39.9087", "116.3975", 0, 39.9087, 116.3975, "[]"},
	{"-90", "180", 0, -90, 180, "[]"},
	{"90", "-180", 0, 90, -180, "[]"},
	{"0", "0", 0, 0, 0, "[]"},
	{"1e1", "-1.5E2", 0, 10, -150, "[]"},
	{NULL, NULL, -1, 0, 0,
	 "[{\"field\":\"lat\",\"message\":\"is required\"},"
	 "{\"field\":\"lon\",\"message\":\"is required\"}]"},
	{"", "1", -1, 0, 0, "[{\"field\":\"lat\",\"message\":\"is required\"}]"},
	{"1", "", -1, 0, 0, "[{\"field\":\"lon\",\"message\":\"is required\"}]"},
	{"90.0000001", "0", -1, 0, 0,
	 "[{\"field\":\"lat\",\"message\":\"must be within -90..90\"}]"},
	{"0", "-180.5", -1, 0, 0,
	 "[{\"field\":\"lon\",\"message\":\"must be within -180..180\"}]"},
	{"abc", "1x", -1, 0, 0,
	 "[{\"field\":\"lat\",\"message\":\"must be a decimal number\"},"
	 "{\"field\":\"lon\",\"message\":\"must be a decimal number\"}]"},
	{"nan", "inf", -1, 0, 0,
	 "[{\"field\":\"lat\",\"message\":\"must be a decimal number\"},"
	 "{\"field\":\"lon\",\"message\":\"must be a decimal number\"}]"},
	{"1e999", "0", -1, 0, 0, "[{\"field\":\"lat\",\"message\":\"must be a decimal number\"}]"},
	{"39.9 ", "0", -1, 0, 0, "[{\"field\":\"lat\",\"message\":\"must be a decimal number\"}]"},
	{"1;DROP", "0", -1, 0, 0, "[{\"field\":\"lat\",\"message\":\"must be a decimal number\"}]"},
};

static void
query_latlon(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof latlon_cases / sizeof latlon_cases[0]; i++) {
		const struct latlon_case *c = &latlon_cases[i];
		json_t *errors = json_array();
		double lat = -1234, lon = -1234;
		int rc = dm_query_parse_latlon(c->lat, c->lon, &lat, &lon, errors);
		char *got = query_dump(errors);
		if (rc != c->rc || strcmp(got, c->errors) != 0)
			fail_msg("case %zu (%s, %s): rc %d errors %s", i, c->lat, c->lon, rc, got);
		if (rc == 0) {
			assert_true(lat == c->want_lat);
			assert_true(lon == c->want_lon);
		}
		free(got);
		json_decref(errors);
	}
}

struct skus_case {
	const char *values[4];
	size_t n;
	int rc;
	const char *lines;  /* "sku=qty,..." as parsed */
	const char *errors; /* compact JSON with sorted keys */
};

static const struct skus_case skus_cases[] = {
	{{"SKU-1:2"}, 1, 0, "SKU-1=2", "[]"},
	{{"SKU-1"}, 1, 0, "SKU-1=1", "[]"},
	{{"SKU-1:2", "SKU-2:100000"}, 2, 0, "SKU-1=2,SKU-2=100000", "[]"},
	{{"SKU-1:2", "SKU-2", "SKU-1:3"}, 3, 0, "SKU-1=5,SKU-2=1", "[]"}, /* merged */
	{{"a:b:3"}, 1, 0, "a:b=3", "[]"},   /* the SKU ends at the last ':' */
	{{"x'; DROP TABLE stock;--:1"}, 1, 0, "x'; DROP TABLE stock;--=1", "[]"},
	{{NULL}, 0, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"at least one sku=ID:QTY is required\"}]"},
	{{""}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"must be SKU:QTY with a SKU of 1..63 characters\","
	 "\"value\":\"\"}]"},
	{{":5"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"must be SKU:QTY with a SKU of 1..63 characters\","
	 "\"value\":\":5\"}]"},
	{{"A:"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\","
	 "\"value\":\"A:\"}]"},
	{{"A:0"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\","
	 "\"value\":\"A:0\"}]"},
	{{"A:100001", "B:1"}, 2, -1, "B=1",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\","
	 "\"value\":\"A:100001\"}]"},
	/* a value that is no UTF-8 text (sku=%E8:0) is refused without its echo */
	{{"A:1", "\xe8:0"}, 2, -1, "A=1",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\"}]"},
	{{"A:-1"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\","
	 "\"value\":\"A:-1\"}]"},
	{{"A:1.5"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\","
	 "\"value\":\"A:1.5\"}]"},
	{{"A:99999999999999999999"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"quantity must be an integer 1..100000\","
	 "\"value\":\"A:99999999999999999999\"}]"},
	{{"0123456789012345678901234567890123456789012345678901234567890123:1"}, 1, -1, "",
	 "[{\"field\":\"sku\",\"message\":\"must be SKU:QTY with a SKU of 1..63 characters\","
	 "\"value\":\"0123456789012345678901234567890123456789012345678901234567890123:1\"}]"},
	{{"012345678901234567890123456789012345678901234567890123456789012:1"}, 1, 0,
	 "012345678901234567890123456789012345678901234567890123456789012=1", "[]"},
};

/* The parsed lines as "sku=qty,..." into buf. */
static void
query_lines(const struct dm_query_parse_skus *s, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		assert_ptr_equal(s->sku_ptrs[i], s->skus[i]);
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%lld", i > 0 ? "," : "",
					s->skus[i], (long long)s->qty[i]);
		assert_true(off < len);
	}
}

static void
query_skus(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof skus_cases / sizeof skus_cases[0]; i++) {
		const struct skus_case *c = &skus_cases[i];
		struct dm_query_parse_skus s;
		char lines[512];
		json_t *errors = json_array();
		int rc = dm_query_parse_skus(&s, c->values, c->n, errors);
		char *got = query_dump(errors);
		query_lines(&s, lines, sizeof lines);
		if (rc != c->rc || strcmp(got, c->errors) != 0 || strcmp(lines, c->lines) != 0)
			fail_msg("case %zu: rc %d lines %s errors %s", i, rc, lines, got);
		free(got);
		json_decref(errors);
	}
}

/* 64 distinct SKUs are fine; a 65th is "too many lines", reported once
 * however many more follow (only 65 values are read). */
static void
query_skus_limit(void **state)
{
	static char text[70][16];
	const char *values[70];
	struct dm_query_parse_skus s;
	(void)state;
	for (int i = 0; i < 70; i++) {
		snprintf(text[i], sizeof text[i], "S%d:1", i);
		values[i] = text[i];
	}
	json_t *errors = json_array();
	assert_int_equal(dm_query_parse_skus(&s, values, WH_ALLOC_MAX_LINES, errors), 0);
	assert_int_equal(s.n, WH_ALLOC_MAX_LINES);
	assert_int_equal(json_array_size(errors), 0);
	assert_int_equal(dm_query_parse_skus(&s, values, 70, errors), -1);
	assert_int_equal(s.n, WH_ALLOC_MAX_LINES);
	char *got = query_dump(errors);
	assert_string_equal(got, "[{\"field\":\"sku\",\"message\":\"too many lines (at most 64)\","
				 "\"value\":\"S64:1\"}]");
	free(got);
	json_decref(errors);
	/* No value is an error of its own, whatever else errors holds. */
	errors = json_array();
	json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "lat", "message", "x"));
	assert_int_equal(dm_query_parse_skus(&s, values, 0, errors), -1);
	assert_int_equal(s.n, 0);
	assert_int_equal(json_array_size(errors), 2);
	json_decref(errors);
	/* A repeated SKU past the 64th distinct one is still too many lines. */
	values[64] = "S0:1";
	errors = json_array();
	assert_int_equal(dm_query_parse_skus(&s, values, 65, errors), -1);
	assert_int_equal(json_array_size(errors), 1);
	json_decref(errors);
}

struct wave_case {
	const char *text;
	bool ok;
	int y, m, d, start_min;
};

static const struct wave_case wave_cases[] = {
	{"20261123-W0900", true, 2026, 11, 23, 9 * 60},
	{"20240229-W2359", true, 2024, 2, 29, 23 * 60 + 59},
	{"19700101-W0000", true, 1970, 1, 1, 0},
	{"20230229-W0900", false, 0, 0, 0, 0}, /* no such day */
	{"20261123-W2400", false, 0, 0, 0, 0},
	{"20261123-W0960", false, 0, 0, 0, 0},
	{"20261123-S0900", false, 0, 0, 0, 0}, /* a slot's key, not a wave's */
	{"20261123-L0900", false, 0, 0, 0, 0},
	{"20261123-w0900", false, 0, 0, 0, 0},
	{"20261123W0900", false, 0, 0, 0, 0},
	{"20261123-W09000", false, 0, 0, 0, 0},
	{"2026112-W0900", false, 0, 0, 0, 0},
	{"2026-11-23T09:00", false, 0, 0, 0, 0},
	{"20261123-W09:0", false, 0, 0, 0, 0},
	{"20261123-W 900", false, 0, 0, 0, 0},
	{"+0261123-W0900", false, 0, 0, 0, 0},
	{"", false, 0, 0, 0, 0},
	{"20261123-W0900'; DROP TABLE route_plans;--", false, 0, 0, 0, 0},
};

static void
query_wave_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof wave_cases / sizeof wave_cases[0]; i++) {
		const struct wave_case *c = &wave_cases[i];
		struct wh_capacity_ref ref = {.day = -1};
		bool ok = dm_query_parse_wave_key(c->text, &ref);
		if (ok != c->ok)
			fail_msg("case %zu: %s: %d", i, c->text, ok);
		if (!ok) {
			assert_int_equal(ref.day, -1); /* untouched */
			continue;
		}
		assert_int_equal(ref.kind, WH_CAPACITY_WAVE);
		assert_int_equal(ref.day, wh_civil_days_from_ymd(c->y, c->m, c->d));
		assert_int_equal(ref.start_s, c->start_min * 60);
	}
}

struct time_case {
	const char *text;
	enum dm_query_parse_status st;
	int y, mo, d, h, mi, s; /* UTC */
	int32_t offset_s;
};

static const struct time_case time_cases[] = {
	{"2026-11-23T09:00:00+08:00", DM_QUERY_PARSE_OK, 2026, 11, 23, 1, 0, 0, 8 * 3600},
	{"2026-11-23T00:30:00+08:00", DM_QUERY_PARSE_OK, 2026, 11, 22, 16, 30, 0, 8 * 3600},
	{"2024-02-29T23:59:59-05:30", DM_QUERY_PARSE_OK, 2024, 3, 1, 5, 29, 59, -19800},
	{"2026-01-01T00:00:00+00:00", DM_QUERY_PARSE_OK, 2026, 1, 1, 0, 0, 0, 0},
	{"2026-01-01T00:00:00+18:00", DM_QUERY_PARSE_OK, 2025, 12, 31, 6, 0, 0, 18 * 3600},
	/* reads, but names no instant or not canonically */
	{"2026-02-31T09:00:00+08:00", DM_QUERY_PARSE_E_RANGE, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:60+08:00", DM_QUERY_PARSE_E_RANGE, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T9:00:00+08:00", DM_QUERY_PARSE_E_RANGE, 0, 0, 0, 0, 0, 0, 0},
	{" 2026-11-23T09:00:00+08:00", DM_QUERY_PARSE_E_RANGE, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:00+0800", DM_QUERY_PARSE_E_RANGE, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:00+19:00", DM_QUERY_PARSE_E_RANGE, 0, 0, 0, 0, 0, 0, 0},
	/* does not read as a time with an offset */
	{"", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:00", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23 09:00:00+08:00", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:00.000+08:00", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:00+08:00x", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-13-23T09:00:00+08:00", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
	{"2026-11-23T09:00:00+08:00'; DROP TABLE orders;--", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0,
	 0, 0, 0},
	{"tomorrow", DM_QUERY_PARSE_E_SYNTAX, 0, 0, 0, 0, 0, 0, 0},
};

static void
query_rfc3339(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof time_cases / sizeof time_cases[0]; i++) {
		const struct time_case *c = &time_cases[i];
		int64_t utc = -1;
		int32_t off = -1;
		enum dm_query_parse_status st = dm_query_parse_rfc3339(c->text, &utc, &off);
		if (st != c->st)
			fail_msg("case %zu: %s: status %d, want %d", i, c->text, st, c->st);
		if (st != DM_QUERY_PARSE_OK) {
			assert_int_equal(utc, -1); /* untouched */
			assert_int_equal(off, -1);
			continue;
		}
		int64_t want = wh_civil_at(wh_civil_days_from_ymd(c->y, c->mo, c->d),
					   c->h * 3600 + c->mi * 60 + c->s);
		assert_int_equal(utc, want);
		assert_int_equal(off, c->offset_s);
	}
}

/* The normal UTC form: always four digits of year, refused outside 1..9999. */
static void
query_utc_format(void **state)
{
	char out[DM_QUERY_PARSE_UTC_LEN];
	(void)state;
	assert_true(dm_query_parse_utc_format(1796090400, out));
	assert_string_equal(out, "2026-12-01T02:00:00Z");
	assert_true(dm_query_parse_utc_format(-45988981200, out)); /* %Y wrote "512-..." */
	assert_string_equal(out, "0512-09-01T03:00:00Z");
	assert_false(dm_query_parse_utc_format(-62135596801, out)); /* 0000-12-31T23:59:59Z */
	assert_false(dm_query_parse_utc_format(253402300800, out)); /* 10000-01-01 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(query_latlon),	  cmocka_unit_test(query_skus),
		cmocka_unit_test(query_skus_limit), cmocka_unit_test(query_wave_key),
		cmocka_unit_test(query_rfc3339), cmocka_unit_test(query_utc_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
