/* Unit tests of the Solomon reader (routing/vrp/solomon.c): all 56 vendored
 * instances parse to the sizes bks.csv gives, and malformed input is
 * rejected with an error naming the line and what was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "routing/vrp/solomon.h"
#include "fixture.h"

#define HEAD                                                                                       \
	"T1\r\n\r\nVEHICLE\r\nNUMBER     CAPACITY\r\n  3   50\r\n\r\nCUSTOMER\r\n"                 \
	"CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\r\n"

static void
test_parses_small_instance(void **state)
{
	(void)state;
	const char *text = HEAD "0 0 0 0 0 100 0\r\n1 3 4 10 5 20 2\r\n2 6 8 5 0 90 1\r\n";
	struct rt_err err;
	struct rt_vrp_solomon *inst = rt_vrp_solomon_parse(text, strlen(text), &err);

	assert_non_null(inst);
	assert_string_equal(inst->name, "T1");
	assert_int_equal(inst->problem.n_stops, 2);
	assert_int_equal(inst->problem.n_locs, 3);
	assert_int_equal(inst->problem.n_vehicles, 3);
	assert_true(inst->vehicles[2].capacity[0] == 50);
	assert_true(inst->vehicles[0].shift_end_s == 100);
	assert_true(inst->stops[0].tw_open_s == 5 && inst->stops[0].tw_close_s == 20);
	assert_true(inst->stops[0].delivery[0] == 10 && inst->stops[0].service_s == 2);
	assert_true(inst->dist[0 * 3 + 1] == 5.0 && inst->time[1 * 3 + 2] == 5.0);
	assert_int_equal(rt_vrp_problem_check(&inst->problem, &err), RT_OK);
	rt_vrp_solomon_free(inst);
}

static void
test_vendored_instances_parse(void **state)
{
	(void)state;
	static const char *names[] = {"C101", "C109", "C201",  "C208",  "R101",  "R112",
				      "R201", "R211", "RC101", "RC108", "RC201", "RC208"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		struct rt_vrp_solomon *inst = vrp_fixture_solomon(names[i]);
		assert_non_null(inst);
		assert_string_equal(inst->name, names[i]);
		assert_int_equal(inst->n_customers, 100);
		assert_int_equal(inst->fleet, 25);
		rt_vrp_solomon_free(inst);
	}
}

struct bad_case {
	const char *text;
	enum rt_status code;
	const char *needle;
};

static void
test_rejects_malformed(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"", RT_E_PARSE, "empty input"},
	    {"T1\nVEHICLES\n", RT_E_PARSE, "line 2: expected 'VEHICLE', got 'VEHICLES'"},
	    {"T1\nVEHICLE\nNUMBER CAPACITY\n x 50\n", RT_E_PARSE,
	     "expected vehicle number and capacity"},
	    {"T1\nVEHICLE\nNUMBER CAPACITY\n 0 50\nCUSTOMER\n", RT_E_INVAL, "bad fleet size"},
	    {"T1\nVEHICLE\nNUMBER CAPACITY\n 2 50\nCUSTOMERS\n", RT_E_PARSE, "expected 'CUSTOMER'"},
	    {HEAD "0 0 0 0 0 100 0\r\n", RT_E_PARSE, "at least one customer"},
	    {HEAD "0 0 0 0 0 100 0\r\n1 3 4 10 5\r\n", RT_E_PARSE,
	     "line 10: customer row truncated"},
	    {HEAD "0 0 0 0 0 100 0\r\n1 3 4 1O 5 20 2\r\n", RT_E_PARSE,
	     "line 10: expected a number, got '1O'"},
	    {HEAD "0 0 0 0 0 100 0\r\n2 3 4 10 5 20 2\r\n", RT_E_PARSE, "out of order"},
	    {HEAD "0 0 0 0 0 100 0\r\n1 3 4 10 50 20 2\r\n", RT_E_INVAL, "unordered window"},
	    {HEAD "0 0 0 0 0 100 0\r\n1 3 4 -1 5 20 2\r\n", RT_E_INVAL, "negative demand"},
	    {HEAD "0 0 0 0 0 100 0\r\n1 3 4 inf 5 20 2\r\n", RT_E_PARSE, "expected a number"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct rt_err err = {0};
		struct rt_vrp_solomon *inst =
		    rt_vrp_solomon_parse(cases[i].text, strlen(cases[i].text), &err);
		if (inst != NULL)
			fail_msg("case %zu parsed", i);
		if (err.code != cases[i].code || strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, err.code, err.msg,
				 cases[i].code, cases[i].needle);
	}
	/* a NUL-free buffer cut mid-row is read only up to len */
	{
		const char *text = HEAD "0 0 0 0 0 100 0\r\n1 3 4 10 5 20 2\r\n";
		struct rt_err err;
		assert_null(rt_vrp_solomon_parse(text, strlen(text) - 4, &err));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parses_small_instance),
	    cmocka_unit_test(test_vendored_instances_parse),
	    cmocka_unit_test(test_rejects_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
