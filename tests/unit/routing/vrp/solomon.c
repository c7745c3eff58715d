/* Unit tests of the Solomon reader (routing/vrp/solomon.c): all 56 vendored
 * instances (every .txt in data/solomon) parse to the sizes bks.csv gives,
 * and malformed input is rejected with an error naming the line and what
 * was expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>

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

/* Every instance vendored in data/solomon parses, and agrees with its rows
 * in bks.csv: name, number of customers, fleet size and capacity; and the
 * best-known solutions are possible for what we read (the BKS vehicles can
 * carry the total demand, and there are no more of them than the fleet). */
static void
test_vendored_instances_parse(void **state)
{
	(void)state;
	static struct vrp_fixture_bks bks[256];
	char dir[1024];
	int n_bks = vrp_fixture_bks_load(bks, sizeof bks / sizeof bks[0]);
	size_t n_files = 0, n_checked_rows = 0;
	DIR *d;
	struct dirent *e;

	assert_true(n_bks > 0);
	snprintf(dir, sizeof dir, "%s/data/solomon", DISPATCH_SOURCE_DIR);
	assert_non_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		char name[64];
		size_t len = strlen(e->d_name);
		if (len < 5 || len - 4 >= sizeof name || strcmp(e->d_name + len - 4, ".txt") != 0)
			continue;
		memcpy(name, e->d_name, len - 4);
		name[len - 4] = '\0';
		struct rt_vrp_solomon *inst = vrp_fixture_solomon(name);
		if (inst == NULL)
			fail_msg("%s does not parse", e->d_name);
		struct rt_err err;
		double demand = 0.0;
		size_t rows = 0;
		assert_string_equal(inst->name, name);
		assert_int_equal(rt_vrp_problem_check(&inst->problem, &err), RT_OK);
		assert_int_equal(inst->problem.n_stops, inst->n_customers);
		assert_int_equal(inst->problem.n_locs, inst->n_customers + 1);
		assert_int_equal(inst->problem.n_vehicles, inst->fleet);
		for (size_t i = 0; i < inst->n_customers; i++)
			demand += inst->stops[i].delivery[0];
		for (int i = 0; i < n_bks; i++) {
			if (strcmp(bks[i].name, name) != 0)
				continue;
			rows++;
			if ((size_t)bks[i].customers != inst->n_customers ||
			    (size_t)bks[i].fleet != inst->fleet || bks[i].capacity != inst->capacity)
				fail_msg("%s: read %zu customers, fleet %zu, capacity %g; bks.csv says "
					 "%d, %d, %g",
					 name, inst->n_customers, inst->fleet, inst->capacity,
					 bks[i].customers, bks[i].fleet, bks[i].capacity);
			if (bks[i].vehicles < 1 || (size_t)bks[i].vehicles > inst->fleet ||
			    demand > bks[i].vehicles * inst->capacity)
				fail_msg("%s: %d vehicles of %g cannot carry %g (%s)", name,
					 bks[i].vehicles, inst->capacity, demand, bks[i].objective);
		}
		if (rows != 2) /* one row per objective */
			fail_msg("%s: %zu rows in bks.csv, want 2", name, rows);
		n_checked_rows += rows;
		n_files++;
		rt_vrp_solomon_free(inst);
	}
	closedir(d);
	assert_int_equal(n_files, 56);
	/* ... and bks.csv names no instance that is not vendored */
	assert_int_equal(n_checked_rows, (size_t)n_bks);
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
