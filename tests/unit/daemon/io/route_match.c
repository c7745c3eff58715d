/* Unit tests for daemon/io/route_match.c: literal segments, {param}
 * capture, percent-decoding, and the paths that must not match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/io/route_match.h"

struct route_case {
	const char *pattern, *path;
	bool match;
	int nparams;
	const char *params[DM_ROUTE_MATCH_MAX_PARAMS];
};

static const struct route_case route_cases[] = {
	/* literal routes */
	{"/v1/promise", "/v1/promise", true, 0, {NULL}},
	{"/v1/promise", "/v1/promise/", false, 0, {NULL}},
	{"/v1/promise", "/v1/promis", false, 0, {NULL}},
	{"/v1/promise", "/v1/promisee", false, 0, {NULL}},
	{"/v1/promise", "/V1/promise", false, 0, {NULL}},
	{"/v1/promise", "/v1//promise", false, 0, {NULL}},
	{"/v1/promise", "/v1/%70romise", false, 0, {NULL}}, /* literals are not decoded */
	{"/", "/", true, 0, {NULL}},
	{"/healthz", "", false, 0, {NULL}},
	{"/healthz", "healthz", false, 0, {NULL}},
	/* one parameter */
	{"/v1/orders/{id}", "/v1/orders/ord_1", true, 1, {"ord_1"}},
	{"/v1/orders/{id}", "/v1/orders/", false, 0, {NULL}},
	{"/v1/orders/{id}", "/v1/orders", false, 0, {NULL}},
	{"/v1/orders/{id}", "/v1/orders/a/b", false, 0, {NULL}},
	{"/v1/orders/{id}", "/v1/orders/a/", false, 0, {NULL}},
	{"/v1/orders/{id}/cancel", "/v1/orders/x/cancel", true, 1, {"x"}},
	{"/v1/orders/{id}/cancel", "/v1/orders//cancel", false, 0, {NULL}},
	{"/v1/orders/{id}/cancel", "/v1/orders/x/cancelled", false, 0, {NULL}},
	/* percent-decoding of parameters, as evhttp_uridecode without '+' */
	{"/v1/orders/{id}", "/v1/orders/a%2Fb", true, 1, {"a/b"}},
	{"/v1/orders/{id}", "/v1/orders/a%2fb", true, 1, {"a/b"}},
	{"/v1/orders/{id}", "/v1/orders/a+b", true, 1, {"a+b"}},
	{"/v1/orders/{id}", "/v1/orders/%41%42", true, 1, {"AB"}},
	{"/v1/orders/{id}", "/v1/orders/%zz", true, 1, {"%zz"}},
	{"/v1/orders/{id}", "/v1/orders/a%2", true, 1, {"a%2"}},
	{"/v1/orders/{id}", "/v1/orders/%", true, 1, {"%"}},
	{"/v1/orders/{id}", "/v1/orders/%25", true, 1, {"%"}},
	{"/v1/orders/{id}", "/v1/orders/%E5%8C%97", true, 1, {"\xe5\x8c\x97"}},
	{"/v1/orders/{id}", "/v1/orders/'%3B%20DROP", true, 1, {"'; DROP"}},
	/* a decoded NUL would cut the id short: no match */
	{"/v1/orders/{id}", "/v1/orders/%00", false, 0, {NULL}},
	{"/v1/orders/{id}", "/v1/orders/ord_1%00junk", false, 0, {NULL}},
	/* bytes that are not UTF-8 (PostgreSQL would refuse the parameter): no match */
	{"/v1/orders/{id}", "/v1/orders/%FF%FE", false, 0, {NULL}},
	{"/v1/orders/{id}", "/v1/orders/a%C0%AF", false, 0, {NULL}},     /* overlong '/' */
	{"/v1/orders/{id}", "/v1/orders/%ED%A0%80", false, 0, {NULL}},   /* a surrogate */
	{"/v1/orders/{id}", "/v1/orders/%F4%90%80%80", false, 0, {NULL}}, /* above U+10FFFF */
	{"/v1/orders/{id}", "/v1/orders/%E5%8C", false, 0, {NULL}},      /* cut short */
	{"/v1/orders/{id}", "/v1/orders/%F0%9F%98%80", true, 1, {"\xf0\x9f\x98\x80"}},
	/* several parameters, in pattern order */
	{"/v1/stations/{id}/waves/{key}/plan", "/v1/stations/bj-st-001/waves/20261123-W0900/plan",
	 true, 2, {"bj-st-001", "20261123-W0900"}},
	{"/v1/stations/{id}/waves/{key}/plan", "/v1/stations/bj-st-001/waves/20261123-W0900/routes",
	 false, 0, {NULL}},
	{"/v1/warehouses/{id}/stock/{sku}", "/v1/warehouses/w/stock/S%3A1", true, 2, {"w", "S:1"}},
	{"/{a}/{b}/{c}/{d}", "/1/2/3/4", true, 4, {"1", "2", "3", "4"}},
	{"/{a}/{b}/{c}/{d}/{e}", "/1/2/3/4/5", false, 0, {NULL}}, /* more than the maximum */
};

static void
route_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof route_cases / sizeof route_cases[0]; i++) {
		const struct route_case *c = &route_cases[i];
		char params[DM_ROUTE_MATCH_MAX_PARAMS][DM_ROUTE_MATCH_PARAM_LEN];
		int n = -1;
		bool got = dm_route_match(c->pattern, c->path, params, &n);
		if (got != c->match)
			fail_msg("case %zu: %s against %s: %d", i, c->path, c->pattern, got);
		if (!got) {
			assert_int_equal(n, -1); /* untouched without a match */
			continue;
		}
		assert_int_equal(n, c->nparams);
		for (int k = 0; k < n; k++)
			assert_string_equal(params[k], c->params[k]);
	}
}

/* A parameter's raw text must fit the slot: 127 bytes match, 128 do not,
 * even when it would decode shorter. */
static void
route_match_param_length(void **state)
{
	char path[512], want[DM_ROUTE_MATCH_PARAM_LEN];
	char params[DM_ROUTE_MATCH_MAX_PARAMS][DM_ROUTE_MATCH_PARAM_LEN];
	int n;
	(void)state;
	memset(want, 'x', DM_ROUTE_MATCH_PARAM_LEN - 1);
	want[DM_ROUTE_MATCH_PARAM_LEN - 1] = '\0';
	snprintf(path, sizeof path, "/o/%s", want);
	assert_true(dm_route_match("/o/{id}", path, params, &n));
	assert_string_equal(params[0], want);
	snprintf(path, sizeof path, "/o/%sx", want);
	assert_false(dm_route_match("/o/{id}", path, params, &n));
	snprintf(path, sizeof path, "/o/%%41%s", want + 3);
	assert_int_equal(strlen(path) - 3, DM_ROUTE_MATCH_PARAM_LEN - 1);
	assert_true(dm_route_match("/o/{id}", path, params, &n));
	assert_int_equal(strlen(params[0]), DM_ROUTE_MATCH_PARAM_LEN - 3);
	snprintf(path, sizeof path, "/o/%%41%s", want + 2);
	assert_false(dm_route_match("/o/{id}", path, params, &n));
}

static void
route_match_decode(void **state)
{
	char out[8];
	(void)state;
	assert_int_equal(dm_route_match_decode("abc", 3, out, sizeof out), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(dm_route_match_decode("a%41", 4, out, sizeof out), 2);
	assert_string_equal(out, "aA");
	/* Only len bytes are read: a '%' cut off by len stays literal. */
	assert_int_equal(dm_route_match_decode("a%41", 3, out, sizeof out), 3);
	assert_string_equal(out, "a%4");
	assert_int_equal(dm_route_match_decode("", 0, out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(dm_route_match_decode("1234567", 7, out, sizeof out), 7);
	assert_int_equal(dm_route_match_decode("12345678", 8, out, sizeof out), -1);
	assert_int_equal(dm_route_match_decode("%31234567", 9, out, sizeof out), 7);
	assert_int_equal(dm_route_match_decode("a\0b", 3, out, sizeof out), -1);
	assert_int_equal(dm_route_match_decode("a%00", 4, out, sizeof out), -1);
	assert_int_equal(dm_route_match_decode("a", 1, out, 0), -1);
	assert_int_equal(dm_route_match_decode("a", 1, out, 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_match_table),
		cmocka_unit_test(route_match_param_length),
		cmocka_unit_test(route_match_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
