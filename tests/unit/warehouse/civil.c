/* Unit tests for warehouse/civil.c and warehouse/capacity.c keys: calendar
 * arithmetic, rollovers, RFC 3339 formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "warehouse/capacity.h"
#include "warehouse/civil.h"

static void
civil_known_days(void **state)
{
	(void)state;
	assert_int_equal(wh_civil_days_from_ymd(1970, 1, 1), 0);
	assert_int_equal(wh_civil_days_from_ymd(2000, 3, 1), 11017);
	assert_int_equal(wh_civil_days_from_ymd(1969, 12, 31), -1);
	assert_int_equal(wh_civil_days_from_ymd(2024, 1, 1), 19723);
}

static void
civil_rollovers(void **state)
{
	static const struct {
		int y, m, d, ny, nm, nd;
	} cases[] = {
		{2024, 1, 31, 2024, 2, 1},  {2023, 12, 31, 2024, 1, 1}, {2024, 2, 28, 2024, 2, 29},
		{2024, 2, 29, 2024, 3, 1},  {2023, 2, 28, 2023, 3, 1},	{1900, 2, 28, 1900, 3, 1},
		{2000, 2, 28, 2000, 2, 29}, {2024, 4, 30, 2024, 5, 1},	{1969, 12, 31, 1970, 1, 1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t y;
		int m, d;
		int64_t day = wh_civil_days_from_ymd(cases[i].y, cases[i].m, cases[i].d);
		wh_civil_ymd_from_days(day + 1, &y, &m, &d);
		assert_int_equal(y, cases[i].ny);
		assert_int_equal(m, cases[i].nm);
		assert_int_equal(d, cases[i].nd);
	}
}

static void
civil_round_trip_and_timegm(void **state)
{
	(void)state;
	for (int64_t day = -800000; day <= 800000; day += 7) {
		int64_t y;
		int m, d;
		wh_civil_ymd_from_days(day, &y, &m, &d);
		assert_int_equal(wh_civil_days_from_ymd(y, m, d), day);
		if (day % 997 == 0 && y > 1900 && y < 2200) {
			struct tm tm = {.tm_year = (int)y - 1900, .tm_mon = m - 1, .tm_mday = d};
			assert_int_equal(timegm(&tm), day * 86400);
		}
	}
}

static void
civil_weekday(void **state)
{
	(void)state;
	assert_int_equal(wh_civil_weekday(0), 3);					/* Thu */
	assert_int_equal(wh_civil_weekday(wh_civil_days_from_ymd(2024, 1, 1)), 0);	/* Mon */
	assert_int_equal(wh_civil_weekday(wh_civil_days_from_ymd(2024, 3, 3)), 6);	/* Sun */
	assert_int_equal(wh_civil_weekday(-1), 2);					/* Wed */
	assert_int_equal(wh_civil_weekday(-7), 3);
}

static void
civil_split_and_utc(void **state)
{
	int64_t day = wh_civil_days_from_ymd(2024, 1, 31);
	int64_t local = wh_civil_at(day, 23 * 3600);
	(void)state;
	assert_int_equal(wh_civil_day(local), day);
	assert_int_equal(wh_civil_sec_of_day(local), 23 * 3600);
	assert_int_equal(wh_civil_day(-1), -1);
	assert_int_equal(wh_civil_sec_of_day(-1), 86399);
	/* 2024-01-31T15:00:00Z is 23:00 in Shanghai. */
	assert_int_equal(wh_civil_from_utc(1706713200, 8 * 3600), local);
	assert_int_equal(wh_civil_to_utc(local, 8 * 3600), 1706713200);
}

static void
civil_format(void **state)
{
	char buf[WH_CIVIL_RFC3339_LEN];
	int64_t local = wh_civil_at(wh_civil_days_from_ymd(2024, 1, 31), 23 * 3600 + 5);
	(void)state;
	assert_int_equal(wh_civil_format(local, 8 * 3600, buf, sizeof buf), 25);
	assert_string_equal(buf, "2024-01-31T23:00:05+08:00");
	wh_civil_format(local, -(5 * 3600 + 30 * 60), buf, sizeof buf);
	assert_string_equal(buf, "2024-01-31T23:00:05-05:30");
	assert_int_equal(wh_civil_format(local, 0, buf, 10), 0);
	assert_string_equal(buf, "");
	/* Leading zeros in every field, and years beyond the fast path. */
	wh_civil_format(wh_civil_at(wh_civil_days_from_ymd(987, 1, 2), 3 * 3600 + 4 * 60 + 5),
			9 * 3600, buf, sizeof buf);
	assert_string_equal(buf, "0987-01-02T03:04:05+09:00");
	wh_civil_format(wh_civil_at(wh_civil_days_from_ymd(12345, 6, 7), 0), 0, buf, sizeof buf);
	assert_string_equal(buf, "12345-06-07T00:00:00+00:00");
}

static void
capacity_keys(void **state)
{
	char buf[WH_CAPACITY_KEY_LEN];
	struct wh_capacity_ref ref = {WH_CAPACITY_SLOT, wh_civil_days_from_ymd(2024, 2, 1),
				      9 * 3600, 11 * 3600};
	struct wh_capacity_ref back;
	struct wh_err err;
	(void)state;
	assert_int_equal(wh_capacity_key(&ref, buf, sizeof buf), 14);
	assert_string_equal(buf, "20240201-S0900");
	assert_int_equal(wh_capacity_key_parse(buf, strlen(buf), &back, &err), WH_OK);
	assert_int_equal(back.kind, WH_CAPACITY_SLOT);
	assert_int_equal(back.day, ref.day);
	assert_int_equal(back.start_s, ref.start_s);
	assert_int_equal(wh_capacity_key_parse("20240230-W0900", 14, &back, &err), WH_E_INVAL);
	assert_int_equal(wh_capacity_key_parse("20240201-X0900", 14, &back, &err), WH_E_INVAL);
	assert_int_equal(wh_capacity_key_parse("20240201-W2400", 14, &back, &err), WH_E_INVAL);
	assert_int_equal(wh_capacity_key_parse("20240201-W090", 13, &back, &err), WH_E_INVAL);
	assert_int_equal(wh_capacity_key_parse("2024020a-W0900", 14, &back, &err), WH_E_INVAL);
	assert_int_equal(wh_capacity_key(&ref, buf, 5), 0);
}

static void
capacity_lookup(void **state)
{
	struct wh_capacity_count counts[] = {
		{{WH_CAPACITY_WAVE, 10, 3600, 0}, 4},
		{{WH_CAPACITY_SLOT, 10, 3600, 0}, 7},
		{{WH_CAPACITY_WAVE, 10, 3600, 0}, 1},
	};
	struct wh_capacity_view view = {counts, 3};
	struct wh_capacity_ref r = {WH_CAPACITY_WAVE, 10, 3600, 7200};
	struct wh_capacity_counter c = {r, 3, 5};
	(void)state;
	assert_int_equal(wh_capacity_booked(&view, &r), 5);
	r.day = 11;
	assert_int_equal(wh_capacity_booked(&view, &r), 0);
	assert_int_equal(wh_capacity_booked(NULL, &r), 0);
	assert_int_equal(wh_capacity_remaining(&c), 0);
	c.capacity = 9;
	assert_int_equal(wh_capacity_remaining(&c), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(civil_known_days),
		cmocka_unit_test(civil_rollovers),
		cmocka_unit_test(civil_round_trip_and_timegm),
		cmocka_unit_test(civil_weekday),
		cmocka_unit_test(civil_split_and_utc),
		cmocka_unit_test(civil_format),
		cmocka_unit_test(capacity_keys),
		cmocka_unit_test(capacity_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
