/* Unit tests of daemon/base/backoff.c: the reconnect delays (doubling,
 * capped, reset) and the jittered retry delay of a job by attempt
 * (webhook deliveries): doubling from min, capped at max, spread into
 * [d/2, d] by the random draw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "daemon/base/backoff.h"

static void
test_reconnect_delays_double_up_to_the_cap(void **state)
{
	(void)state;
	struct dm_backoff b = {0};
	int want[] = {100, 200, 400, 800, 1000, 1000};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(dm_backoff_next_ms(&b, 100, 1000), want[i]);
	dm_backoff_reset(&b);
	assert_int_equal(dm_backoff_next_ms(&b, 100, 1000), 100);
}

static void
test_retry_delay_bounds_by_attempt(void **state)
{
	(void)state;
	/* attempt -> the full delay d: the draw spreads it over [d/2, d]. */
	static const struct {
		int attempt;
		int64_t d;
	} rows[] = {{1, 30000}, {2, 60000}, {3, 120000}, {7, 1920000}, {8, 3600000},
		    {40, 3600000}, {0, 30000}, {-3, 30000}};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int64_t d = rows[i].d;
		assert_int_equal(dm_backoff_jitter_ms(rows[i].attempt, 30000, 3600000, 0), d / 2);
		int64_t top = dm_backoff_jitter_ms(rows[i].attempt, 30000, 3600000, UINT32_MAX);
		assert_true(top <= d && top >= d - 1);
		int64_t mid = dm_backoff_jitter_ms(rows[i].attempt, 30000, 3600000, 1u << 31);
		assert_int_equal(mid, d / 2 + d / 4);
	}
}

static void
test_retry_delay_spreads_over_draws(void **state)
{
	(void)state;
	/* Different draws give different delays (no lockstep), all in range. */
	int64_t lo = INT64_MAX, hi = 0;
	uint32_t x = 12345;
	for (int i = 0; i < 1000; i++) {
		x = x * 1664525u + 1013904223u;
		int64_t v = dm_backoff_jitter_ms(3, 1000, 60000, x);
		assert_true(v >= 2000 && v <= 4000);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	assert_true(lo < 2200 && hi > 3800);
}

static void
test_retry_delay_with_a_tiny_min(void **state)
{
	(void)state;
	assert_int_equal(dm_backoff_jitter_ms(1, 0, 1000, 0), 0);
	assert_true(dm_backoff_jitter_ms(1, 0, 1000, UINT32_MAX) <= 1);
	assert_int_equal(dm_backoff_jitter_ms(30, 1, 1000, 0), 500);
	assert_int_equal(dm_backoff_jitter_ms(5, 200, 1000, 0), 500); /* capped by max */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconnect_delays_double_up_to_the_cap),
		cmocka_unit_test(test_retry_delay_bounds_by_attempt),
		cmocka_unit_test(test_retry_delay_spreads_over_draws),
		cmocka_unit_test(test_retry_delay_with_a_tiny_min),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
