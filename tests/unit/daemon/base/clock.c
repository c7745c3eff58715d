/* Unit tests of daemon/base/clock.c's time sources: the driven clock of the
 * simulated day (starts at its instant, moves only when driven, keeps its
 * instant across a reload with the same start, restarts with a new one,
 * refuses to be driven under another source) beside the fixed and offset
 * clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/base/clock.h"

static int64_t
now_ms(void)
{
	int64_t ms;
	int32_t off;
	dm_clock_now_ms(&ms, &off);
	return ms;
}

static void
test_a_driven_clock_moves_only_when_driven(void **state)
{
	(void)state;
	const int64_t start = 1894060800; /* 2030-01-08T00:00:00+08:00 */
	dm_clock_set_source(DM_CLOCK_DRIVEN, start, 0);
	assert_int_equal(dm_clock_source(), DM_CLOCK_DRIVEN);
	assert_true(now_ms() == start * 1000);
	assert_true(now_ms() == start * 1000); /* stands still */
	assert_int_equal(dm_clock_drive((start + 3600) * 1000 + 250), 0);
	assert_true(now_ms() == (start + 3600) * 1000 + 250);
	int64_t s;
	int32_t off;
	dm_clock_now(&s, &off);
	assert_true(s == start + 3600);
	/* A reload with the same start keeps the day where it is... */
	dm_clock_set_source(DM_CLOCK_DRIVEN, start, 0);
	assert_true(now_ms() == (start + 3600) * 1000 + 250);
	/* ...a new start restarts it there. */
	dm_clock_set_source(DM_CLOCK_DRIVEN, start + 86400, 0);
	assert_true(now_ms() == (start + 86400) * 1000);
	/* Back in time is the driver's choice. */
	assert_int_equal(dm_clock_drive(start * 1000), 0);
	assert_true(now_ms() == start * 1000);
}

static void
test_only_a_driven_clock_can_be_driven(void **state)
{
	(void)state;
	const int64_t start = 1894060800;
	dm_clock_set_source(DM_CLOCK_FIXED, start, 0);
	assert_int_equal(dm_clock_drive((start + 60) * 1000), -1);
	assert_true(now_ms() == start * 1000);
	dm_clock_set_source(DM_CLOCK_SYSTEM, 0, 0);
	assert_int_equal(dm_clock_drive((start + 60) * 1000), -1);
	assert_int_equal(dm_clock_source(), DM_CLOCK_SYSTEM);
	int64_t real = (int64_t)time(NULL) * 1000;
	int64_t got = now_ms();
	assert_true(got >= real - 2000 && got <= real + 2000);
	/* Driven again after another source: from its start, not from before. */
	dm_clock_set_source(DM_CLOCK_DRIVEN, start, 0);
	assert_true(now_ms() == start * 1000);
	dm_clock_set_source(DM_CLOCK_SYSTEM, 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_driven_clock_moves_only_when_driven),
	    cmocka_unit_test(test_only_a_driven_clock_can_be_driven),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
