/* Unit tests for warehouse/slot.c: which precise slots and large-item windows
 * are offered, capacity, full slots, rollovers, and re-checking a choice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warehouse/slot.h"
#include "wh_test.h"

static const struct wh_station slot_station = {"bj-st-001", true, NULL, 0};

static void
slot_list_basic(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[64];
	struct wh_err err;
	size_t n;
	char key[WH_CAPACITY_KEY_LEN];
	(void)state;
	wh_promise_config_defaults(&cfg);
	/* At the station 09:20 (+30 min sort): the 09:00 wave is gone, 13:00 is the first. */
	assert_int_equal(wh_slot_list(&cfg, &slot_station, wh_test_t(2024, 5, 6, 8, 0, 0),
				      wh_test_t(2024, 5, 6, 9, 20, 0), NULL, out, 64, &n, &err),
			 WH_OK);
	assert_int_equal(n, 4 + 3 * 6);
	assert_int_equal(out[0].start_s, wh_test_t(2024, 5, 6, 13, 0, 0));
	assert_int_equal(out[0].end_s, wh_test_t(2024, 5, 6, 15, 0, 0));
	assert_int_equal(out[0].n_counters, 2);
	assert_int_equal(out[0].counters[0].ref.kind, WH_CAPACITY_SLOT);
	assert_int_equal(out[0].counters[0].capacity, 20 * 12);
	assert_int_equal(out[0].counters[1].ref.kind, WH_CAPACITY_WAVE);
	assert_int_equal(out[0].counters[1].ref.start_s, HM(13, 0));
	assert_int_equal(out[0].remaining, 240);
	assert_int_equal(out[3].start_s, wh_test_t(2024, 5, 6, 19, 0, 0));
	assert_int_equal(out[4].start_s, wh_test_t(2024, 5, 7, 9, 0, 0));
	assert_int_equal(out[n - 1].start_s, wh_test_t(2024, 5, 9, 19, 0, 0));
	wh_capacity_key(&out[4].counters[0].ref, key, sizeof key);
	assert_string_equal(key, "20240507-S0900");
	/* Truncation keeps the earliest. */
	assert_int_equal(wh_slot_list(&cfg, &slot_station, wh_test_t(2024, 5, 6, 8, 0, 0),
				      wh_test_t(2024, 5, 6, 9, 20, 0), NULL, out, 3, &n, &err),
			 WH_OK);
	assert_int_equal(n, 3);
	assert_int_equal(out[2].start_s, wh_test_t(2024, 5, 6, 17, 0, 0));
}

static void
slot_station_without_slots(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[8];
	struct wh_station st = slot_station;
	struct wh_err err;
	size_t n = 99;
	(void)state;
	wh_promise_config_defaults(&cfg);
	st.offers_slots = false;
	assert_int_equal(wh_slot_list(&cfg, &st, wh_test_t(2024, 5, 6, 8, 0, 0),
				      wh_test_t(2024, 5, 6, 8, 0, 0), NULL, out, 8, &n, &err),
			 WH_OK);
	assert_int_equal(n, 0);
}

static void
slot_rollover(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[64];
	struct wh_err err;
	size_t n;
	(void)state;
	wh_promise_config_defaults(&cfg);
	/* Ordered Dec 31 22:00: first slot Jan 1 09:00, last Jan 3 19:00 (today + 3 days). */
	assert_int_equal(wh_slot_list(&cfg, &slot_station, wh_test_t(2024, 12, 31, 22, 0, 0),
				      wh_test_t(2024, 12, 31, 23, 0, 0), NULL, out, 64, &n, &err),
			 WH_OK);
	assert_int_equal(n, 18);
	assert_int_equal(out[0].start_s, wh_test_t(2025, 1, 1, 9, 0, 0));
	assert_int_equal(out[0].counters[0].ref.day, wh_civil_days_from_ymd(2025, 1, 1));
	assert_int_equal(out[17].start_s, wh_test_t(2025, 1, 3, 19, 0, 0));
	/* Jan 31 -> Feb 1. */
	assert_int_equal(wh_slot_list(&cfg, &slot_station, wh_test_t(2024, 1, 31, 21, 30, 0),
				      wh_test_t(2024, 1, 31, 22, 0, 0), NULL, out, 64, &n, &err),
			 WH_OK);
	assert_int_equal(out[0].start_s, wh_test_t(2024, 2, 1, 9, 0, 0));
}

static void
slot_full_and_wave_full(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[64];
	struct wh_err err;
	size_t n;
	int64_t day = wh_civil_days_from_ymd(2024, 5, 6);
	struct wh_capacity_count counts[] = {
		{{WH_CAPACITY_SLOT, day, HM(13, 0), 0}, 240}, /* slot full */
		{{WH_CAPACITY_WAVE, day, HM(17, 0), 0}, 720}, /* wave full: both its slots */
		{{WH_CAPACITY_SLOT, day, HM(15, 0), 0}, 239},
	};
	struct wh_capacity_view view = {counts, 3};
	(void)state;
	wh_promise_config_defaults(&cfg);
	assert_int_equal(wh_slot_list(&cfg, &slot_station, wh_test_t(2024, 5, 6, 8, 0, 0),
				      wh_test_t(2024, 5, 6, 9, 20, 0), &view, out, 64, &n, &err),
			 WH_OK);
	assert_int_equal(n, 1 + 3 * 6);
	assert_int_equal(out[0].start_s, wh_test_t(2024, 5, 6, 15, 0, 0));
	assert_int_equal(out[0].remaining, 1);
	assert_int_equal(out[1].start_s, wh_test_t(2024, 5, 7, 9, 0, 0));
}

static void
slot_all_full(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[64];
	struct wh_err err;
	size_t n;
	(void)state;
	wh_promise_config_defaults(&cfg);
	cfg.stops_per_courier_slot = 0;
	assert_int_equal(wh_slot_list(&cfg, &slot_station, wh_test_t(2024, 5, 6, 8, 0, 0),
				      wh_test_t(2024, 5, 6, 9, 20, 0), NULL, out, 64, &n, &err),
			 WH_OK);
	assert_int_equal(n, 0);
}

static void
slot_weekday_waves(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[64];
	struct wh_wave waves[4];
	struct wh_station st = {"bj-st-002", true, waves, 4};
	struct wh_err err;
	size_t n;
	(void)state;
	wh_promise_config_defaults(&cfg);
	memcpy(waves, cfg.waves, sizeof waves);
	for (int i = 0; i < 4; i++)
		waves[i].weekdays = 0x3f; /* not on Sunday */
	/* Friday 2024-03-01 08:00: Fri 4 slots after 13:00, Sat 6, Sun 0, Mon 6. */
	assert_int_equal(wh_slot_list(&cfg, &st, wh_test_t(2024, 3, 1, 8, 0, 0),
				      wh_test_t(2024, 3, 1, 9, 20, 0), NULL, out, 64, &n, &err),
			 WH_OK);
	assert_int_equal(n, 16);
	assert_int_equal(out[10].start_s, wh_test_t(2024, 3, 4, 9, 0, 0));
}

static void
slot_large_windows(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer out[64];
	struct wh_err err;
	size_t n;
	(void)state;
	wh_promise_config_defaults(&cfg);
	/* At the station 10:00 + 2 h prep: today 14:00, then 2 a day for 7 more days. */
	assert_int_equal(wh_slot_list_large(&cfg, wh_test_t(2024, 5, 6, 8, 0, 0),
					    wh_test_t(2024, 5, 6, 10, 0, 0), NULL, true, out, 64,
					    &n, &err),
			 WH_OK);
	assert_int_equal(n, 1 + 7 * 2);
	assert_int_equal(out[0].start_s, wh_test_t(2024, 5, 6, 14, 0, 0));
	assert_true(out[0].install);
	assert_int_equal(out[0].n_counters, 2);
	assert_int_equal(out[0].counters[1].ref.kind, WH_CAPACITY_INSTALL);
	assert_int_equal(out[0].remaining, 12);
	assert_int_equal(out[n - 1].start_s, wh_test_t(2024, 5, 13, 14, 0, 0));
}

static void
slot_check_choice(void **state)
{
	struct wh_promise_config cfg;
	struct wh_slot_offer o;
	struct wh_err err;
	int64_t now = wh_test_t(2024, 5, 6, 8, 0, 0), at = wh_test_t(2024, 5, 6, 9, 20, 0);
	int64_t day = wh_civil_days_from_ymd(2024, 5, 6);
	struct wh_capacity_count counts[] = {{{WH_CAPACITY_SLOT, day, HM(15, 0), 0}, 240}};
	struct wh_capacity_view view = {counts, 1};
	(void)state;
	wh_promise_config_defaults(&cfg);
	assert_int_equal(wh_slot_check(&cfg, &slot_station, now, at, &view, false, false,
				       wh_test_t(2024, 5, 6, 13, 0, 0), &o, &err),
			 WH_OK);
	assert_int_equal(o.counters[1].ref.start_s, HM(13, 0));
	assert_int_equal(wh_slot_check(&cfg, &slot_station, now, at, &view, false, false,
				       wh_test_t(2024, 5, 6, 15, 0, 0), &o, &err),
			 WH_E_SLOT_FULL);
	/* The 09:00 slot's wave leaves before the parcel is sorted. */
	assert_int_equal(wh_slot_check(&cfg, &slot_station, now, at, &view, false, false,
				       wh_test_t(2024, 5, 6, 9, 0, 0), &o, &err),
			 WH_E_SLOT_INVALID);
	assert_int_equal(wh_slot_check(&cfg, &slot_station, now, at, &view, false, false,
				       wh_test_t(2024, 5, 6, 14, 0, 0), &o, &err),
			 WH_E_SLOT_INVALID);
	assert_int_equal(wh_slot_check(&cfg, &slot_station, now, at, &view, true, false,
				       wh_test_t(2024, 5, 6, 14, 0, 0), &o, &err),
			 WH_OK);
	assert_int_equal(o.counters[0].ref.kind, WH_CAPACITY_LARGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slot_list_basic),
		cmocka_unit_test(slot_station_without_slots),
		cmocka_unit_test(slot_rollover),
		cmocka_unit_test(slot_full_and_wave_full),
		cmocka_unit_test(slot_all_full),
		cmocka_unit_test(slot_weekday_waves),
		cmocka_unit_test(slot_large_windows),
		cmocka_unit_test(slot_check_choice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
