/* Unit tests for warehouse/promise.c: config validation, the 211 rule at its
 * boundaries, the chain, wave choice under capacity, large items. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warehouse/promise.h"
#include "wh_test.h"

static void
promise_defaults_valid(void **state)
{
	struct wh_promise_config cfg;
	struct wh_err err;
	(void)state;
	wh_promise_config_defaults(&cfg);
	assert_int_equal(wh_promise_config_check(&cfg, &err), WH_OK);
	assert_string_equal(cfg.tz, "Asia/Shanghai");
	assert_int_equal(cfg.same_day_cutoff_s, HM(11, 0));
	assert_int_equal(wh_promise_chain_check(&wh_test_rdc, &err), WH_OK);
	assert_int_equal(wh_promise_chain_check(&wh_test_far, &err), WH_OK);
}

static void
promise_config_rejects(void **state)
{
	struct wh_promise_config cfg;
	struct wh_err err;
	struct wh_chain bad = wh_test_rdc;
	static const int32_t unsorted[] = {HM(8, 0), HM(5, 0)};
	(void)state;

	wh_promise_config_defaults(&cfg);
	cfg.next_day_cutoff_s = HM(10, 0); /* before the same-day cut-off */
	assert_int_equal(wh_promise_config_check(&cfg, &err), WH_E_INVAL);
	assert_non_null(strstr(err.msg, "next_day_cutoff"));

	wh_promise_config_defaults(&cfg);
	cfg.waves[1].end_s = cfg.waves[1].start_s;
	assert_int_equal(wh_promise_config_check(&cfg, &err), WH_E_INVAL);

	wh_promise_config_defaults(&cfg);
	cfg.n_waves = WH_PROMISE_MAX_WAVES + 1;
	assert_int_equal(wh_promise_config_check(&cfg, &err), WH_E_LIMIT);

	wh_promise_config_defaults(&cfg);
	cfg.waves[2].start_s = cfg.waves[0].start_s; /* duplicate counter key */
	assert_int_equal(wh_promise_config_check(&cfg, &err), WH_E_INVAL);

	wh_promise_config_defaults(&cfg);
	cfg.slot_len_s = 60;
	assert_int_equal(wh_promise_config_check(&cfg, &err), WH_E_INVAL);

	bad.departures_s = unsorted;
	bad.n_departures = 2;
	assert_int_equal(wh_promise_chain_check(&bad, &err), WH_E_INVAL);
	bad = wh_test_rdc;
	bad.pick_cutoff_s = HM(1, 0);
	bad.pick_open_s = HM(2, 0);
	assert_int_equal(wh_promise_chain_check(&bad, &err), WH_E_INVAL);
}

static void
promise_target_boundaries(void **state)
{
	struct wh_promise_config cfg;
	(void)state;
	wh_promise_config_defaults(&cfg);
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 0, 0, 0)),
			 wh_test_t(2024, 5, 6, 23, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 10, 59, 59)),
			 wh_test_t(2024, 5, 6, 23, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 11, 0, 0)),
			 wh_test_t(2024, 5, 7, 15, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 22, 59, 59)),
			 wh_test_t(2024, 5, 7, 15, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 23, 0, 0)),
			 wh_test_t(2024, 5, 7, 23, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 23, 59, 59)),
			 wh_test_t(2024, 5, 7, 23, 0, 0));
	/* Month and year rollovers. */
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 1, 31, 11, 0, 0)),
			 wh_test_t(2024, 2, 1, 15, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2023, 12, 31, 23, 30, 0)),
			 wh_test_t(2024, 1, 1, 23, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 2, 29, 12, 0, 0)),
			 wh_test_t(2024, 3, 1, 15, 0, 0));
	/* Configurable: a region with a 10:00 cut-off and 22:00 deadline. */
	cfg.same_day_cutoff_s = HM(10, 0);
	cfg.same_day_deadline_s = HM(22, 0);
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 10, 0, 0)),
			 wh_test_t(2024, 5, 7, 15, 0, 0));
	assert_int_equal(wh_promise_target(&cfg, wh_test_t(2024, 5, 6, 9, 59, 59)),
			 wh_test_t(2024, 5, 6, 22, 0, 0));
}

static void
promise_chain_times(void **state)
{
	struct wh_chain_times t;
	struct wh_chain c = wh_test_rdc;
	(void)state;
	wh_promise_chain_times(&wh_test_rdc, wh_test_t(2024, 5, 6, 22, 59, 59), &t);
	assert_int_equal(t.ready_s, wh_test_t(2024, 5, 7, 0, 29, 59));
	assert_int_equal(t.depart_s, wh_test_t(2024, 5, 7, 5, 0, 0));
	assert_int_equal(t.at_station_s, wh_test_t(2024, 5, 7, 6, 30, 0));
	/* Exactly at a departure: it makes it. */
	wh_promise_chain_times(&wh_test_rdc, wh_test_t(2024, 5, 6, 9, 30, 0), &t);
	assert_int_equal(t.depart_s, wh_test_t(2024, 5, 6, 11, 0, 0));
	/* Pick window 08:00-20:00: before opens at 08:00; at the cut-off waits a day. */
	c.pick_open_s = HM(8, 0);
	c.pick_cutoff_s = HM(20, 0);
	wh_promise_chain_times(&c, wh_test_t(2024, 5, 6, 7, 0, 0), &t);
	assert_int_equal(t.pick_start_s, wh_test_t(2024, 5, 6, 8, 0, 0));
	wh_promise_chain_times(&c, wh_test_t(2024, 5, 6, 19, 59, 59), &t);
	assert_int_equal(t.pick_start_s, wh_test_t(2024, 5, 6, 19, 59, 59));
	wh_promise_chain_times(&c, wh_test_t(2024, 12, 31, 20, 0, 0), &t);
	assert_int_equal(t.pick_start_s, wh_test_t(2025, 1, 1, 8, 0, 0));
	/* No timetable: leaves when ready. */
	wh_promise_chain_times(&wh_test_near, wh_test_t(2024, 5, 6, 10, 0, 0), &t);
	assert_int_equal(t.depart_s, t.ready_s);
	assert_int_equal(t.at_station_s, wh_test_t(2024, 5, 6, 11, 10, 0));
}

static void
promise_standard_near_and_rdc(void **state)
{
	struct wh_promise_config cfg;
	struct wh_promise p;
	struct wh_err err;
	(void)state;
	wh_promise_config_defaults(&cfg);

	/* 10:59:59 from the front centre: wave 13:00, same day by 23:00. */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 10, 59, 59), NULL, false,
					      false, &p, NULL, &err),
			 WH_OK);
	assert_int_equal(p.kind, WH_PROMISE_STANDARD);
	assert_false(p.late);
	assert_int_equal(p.deliver_by_s, wh_test_t(2024, 5, 6, 23, 0, 0));
	assert_int_equal(p.window_start_s, wh_test_t(2024, 5, 6, 13, 0, 0));
	assert_int_equal(p.n_counters, 1);
	assert_int_equal(p.counters[0].ref.kind, WH_CAPACITY_WAVE);
	assert_int_equal(p.counters[0].ref.start_s, HM(13, 0));
	assert_int_equal(p.counters[0].capacity, 20 * 30);

	/* 11:00:00: next day by 15:00 (the same wave still carries it). */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 11, 0, 0), NULL, false, false,
					      &p, NULL, &err),
			 WH_OK);
	assert_false(p.late);
	assert_int_equal(p.deliver_by_s, wh_test_t(2024, 5, 7, 15, 0, 0));

	/* RDC at 10:59:59: ready 12:29:59, shuttle 13:00, station 14:30, wave 17:00. */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_rdc,
					      wh_test_t(2024, 5, 6, 10, 59, 59), NULL, false,
					      false, &p, NULL, &err),
			 WH_OK);
	assert_false(p.late);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 5, 6, 17, 0, 0));

	/* RDC 22:59:59 vs 23:00:00: both go out in the 09:00 wave; the promise differs. */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_rdc,
					      wh_test_t(2024, 1, 31, 22, 59, 59), NULL, false,
					      false, &p, NULL, &err),
			 WH_OK);
	assert_false(p.late);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 2, 1, 9, 0, 0));
	assert_int_equal(p.deliver_by_s, wh_test_t(2024, 2, 1, 15, 0, 0));
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_rdc,
					      wh_test_t(2024, 1, 31, 23, 0, 0), NULL, false, false,
					      &p, NULL, &err),
			 WH_OK);
	assert_false(p.late);
	assert_int_equal(p.deliver_by_s, wh_test_t(2024, 2, 1, 23, 0, 0));
}

static void
promise_far_warehouse_late(void **state)
{
	struct wh_promise_config cfg;
	struct wh_promise p;
	struct wh_chain_times t;
	struct wh_err err;
	(void)state;
	wh_promise_config_defaults(&cfg);
	/* Ordered 10:00 Dec 31: shuttle 20:00, station 06:00 Jan 1: misses 23:00 Dec 31. */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_far,
					      wh_test_t(2024, 12, 31, 10, 0, 0), NULL, false,
					      false, &p, &t, &err),
			 WH_OK);
	assert_int_equal(t.at_station_s, wh_test_t(2025, 1, 1, 6, 0, 0));
	assert_true(p.late);
	assert_int_equal(p.target_s, wh_test_t(2024, 12, 31, 23, 0, 0));
	assert_int_equal(p.deliver_by_s, wh_test_t(2025, 1, 1, 13, 0, 0));
}

static void
promise_no_waves_on_sunday(void **state)
{
	struct wh_promise_config cfg;
	struct wh_promise p;
	struct wh_err err;
	struct wh_wave weekdays[4];
	struct wh_station st = {"bj-st-x", true, weekdays, 4};
	(void)state;
	wh_promise_config_defaults(&cfg);
	memcpy(weekdays, cfg.waves, sizeof weekdays);
	for (int i = 0; i < 4; i++)
		weekdays[i].weekdays = 0x3f; /* Monday .. Saturday */
	assert_int_equal(wh_civil_weekday(wh_civil_days_from_ymd(2024, 3, 3)), 6);
	assert_int_equal(wh_promise_station_check(&cfg, &st, &err), WH_OK);
	/* Saturday 22:00 -> due Sunday 15:00, but nothing runs on Sunday. */
	assert_int_equal(wh_promise_via_chain(&cfg, &st, &wh_test_near,
					      wh_test_t(2024, 3, 2, 22, 0, 0), NULL, false, false,
					      &p, NULL, &err),
			 WH_OK);
	assert_true(p.late);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 3, 4, 9, 0, 0));
	assert_int_equal(p.deliver_by_s, wh_test_t(2024, 3, 4, 13, 0, 0));
	/* A station with no waves at all cannot promise. */
	st.n_waves = 0;
	assert_int_equal(wh_promise_via_chain(&cfg, &st, &wh_test_near,
					      wh_test_t(2024, 3, 2, 22, 0, 0), NULL, false, false,
					      &p, NULL, &err),
			 WH_E_NO_CAPACITY);
}

static void
promise_wave_full(void **state)
{
	struct wh_promise_config cfg;
	struct wh_promise p;
	struct wh_err err;
	int64_t day = wh_civil_days_from_ymd(2024, 5, 6);
	struct wh_capacity_count counts[] = {
		{{WH_CAPACITY_WAVE, day, HM(13, 0), 0}, 600}, /* 20 couriers x 30: full */
		{{WH_CAPACITY_WAVE, day, HM(17, 0), 0}, 719}, /* one place left */
	};
	struct wh_capacity_view view = {counts, 2};
	(void)state;
	wh_promise_config_defaults(&cfg);
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 10, 0, 0), &view, false, false,
					      &p, NULL, &err),
			 WH_OK);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 5, 6, 17, 0, 0));
	assert_int_equal(p.counters[0].booked, 719);
	assert_int_equal(wh_capacity_remaining(&p.counters[0]), 1);
	counts[1].booked = 720;
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 10, 0, 0), &view, false, false,
					      &p, NULL, &err),
			 WH_OK);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 5, 6, 21, 0, 0));
	assert_false(p.late); /* 21:00-23:00 still makes 23:00 */
	/* No couriers anywhere: nothing within the horizon. */
	for (size_t i = 0; i < cfg.n_waves; i++)
		cfg.waves[i].couriers = 0;
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 10, 0, 0), &view, false, false,
					      &p, NULL, &err),
			 WH_E_NO_CAPACITY);
}

static void
promise_large_items(void **state)
{
	struct wh_promise_config cfg;
	struct wh_promise p;
	struct wh_err err;
	int64_t day = wh_civil_days_from_ymd(2024, 5, 6);
	struct wh_capacity_count counts[] = {
		{{WH_CAPACITY_INSTALL, day, HM(14, 0), 0}, 12}, /* 4 crews x 3: full */
	};
	struct wh_capacity_view view = {counts, 1};
	(void)state;
	wh_promise_config_defaults(&cfg);
	/* Near FDC at 10:00: station 11:10, prep 2 h -> 14:00 window. */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 10, 0, 0), &view, true, false,
					      &p, NULL, &err),
			 WH_OK);
	assert_int_equal(p.kind, WH_PROMISE_LARGE);
	assert_false(p.late);
	assert_int_equal(p.target_s, 0);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 5, 6, 14, 0, 0));
	assert_int_equal(p.deliver_by_s, wh_test_t(2024, 5, 6, 18, 0, 0));
	assert_int_equal(p.n_counters, 1);
	assert_int_equal(p.counters[0].ref.kind, WH_CAPACITY_LARGE);
	assert_int_equal(p.counters[0].capacity, 24);
	/* With installation: the 14:00 install capacity is gone, next morning. */
	assert_int_equal(wh_promise_via_chain(&cfg, NULL, &wh_test_near,
					      wh_test_t(2024, 5, 6, 10, 0, 0), &view, true, true,
					      &p, NULL, &err),
			 WH_OK);
	assert_int_equal(p.window_start_s, wh_test_t(2024, 5, 7, 9, 0, 0));
	assert_int_equal(p.n_counters, 2);
	assert_int_equal(p.counters[1].ref.kind, WH_CAPACITY_INSTALL);
}

/* Pickup offers: the station's points with a place, nearest first, a full
 * point never, a shelf ready at arrival and a courier-served point after its
 * wave; at most max, the farthest dropped. */
static void
promise_pickup_offers(void **state)
{
	(void)state;
	const struct wh_pickup_point pts[] = {
		{"far", "st-1", NULL, NULL, 116.50, 39.90, 5, 0, false},
		{"full", "st-1", NULL, NULL, 116.40, 39.90, 2, 2, false},
		{"other-station", "st-2", NULL, NULL, 116.40, 39.90, 5, 0, false},
		{"shelf", "st-1", NULL, NULL, 116.41, 39.90, 10, 3, true},
		{"near", "st-1", NULL, NULL, 116.401, 39.90, 1, 0, false},
		{"over", "st-1", NULL, NULL, 116.40, 39.90, 1, 4, false},
	};
	struct wh_pickup_offer out[WH_PICKUP_MAX_OFFERS];
	size_t n = wh_pickup_offers(pts, 6, "st-1", true, 116.40, 39.90, 1000, 5000, out,
				    WH_PICKUP_MAX_OFFERS);
	assert_int_equal(n, 3);
	assert_string_equal(pts[out[0].index].id, "near");
	assert_string_equal(pts[out[1].index].id, "shelf");
	assert_string_equal(pts[out[2].index].id, "far");
	assert_int_equal(out[0].free, 1);
	assert_int_equal(out[1].free, 7);
	assert_int_equal(out[0].ready_s, 5000); /* after the wave */
	assert_int_equal(out[1].ready_s, 1000); /* on the station's shelf at arrival */
	/* 0.001 degree of longitude at 39.9N is about 85 m; 0.1 about 8.5 km. */
	assert_true(out[0].distance_m > 80 && out[0].distance_m < 90);
	assert_true(out[2].distance_m > 8400 && out[2].distance_m < 8600);
	/* At most max: the farthest go. */
	n = wh_pickup_offers(pts, 6, "st-1", true, 116.40, 39.90, 1000, 5000, out, 2);
	assert_int_equal(n, 2);
	assert_string_equal(pts[out[1].index].id, "shelf");
	/* Without a location: by id. */
	n = wh_pickup_offers(pts, 6, "st-1", false, 0, 0, 1000, 5000, out, WH_PICKUP_MAX_OFFERS);
	assert_int_equal(n, 3);
	assert_string_equal(pts[out[0].index].id, "far");
	assert_string_equal(pts[out[2].index].id, "shelf");
	assert_int_equal(wh_pickup_offers(pts, 6, "st-9", true, 0, 0, 0, 0, out, 8), 0);
	assert_int_equal(wh_pickup_offers(pts, 6, "st-1", true, 0, 0, 0, 0, out, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(promise_defaults_valid),
		cmocka_unit_test(promise_config_rejects),
		cmocka_unit_test(promise_target_boundaries),
		cmocka_unit_test(promise_chain_times),
		cmocka_unit_test(promise_standard_near_and_rdc),
		cmocka_unit_test(promise_far_warehouse_late),
		cmocka_unit_test(promise_no_waves_on_sunday),
		cmocka_unit_test(promise_wave_full),
		cmocka_unit_test(promise_large_items),
		cmocka_unit_test(promise_pickup_offers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
