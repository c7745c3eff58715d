/* Unit tests for warehouse/plan.c: allocation fed by chain promises, then the
 * order's promises and slots, on a small Beijing-like network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warehouse/plan.h"
#include "warehouse/slot.h"
#include "wh_test.h"

#define CHAOYANG 110105u

static const uint32_t plan_cy[] = {CHAOYANG};
static const struct wh_stock_level plan_rdc_stock[] = {
	{"PHONE", 100}, {"FRIDGE", 5}, {"CABLE", 50}};
static const struct wh_stock_level plan_fdc_stock[] = {{"PHONE", 10}};
static const struct wh_station plan_station = {"bj-st-cy-01", true, NULL, 0};

static void
plan_network(struct wh_plan_candidate *c, const struct wh_chain *rdc_chain)
{
	memset(c, 0, 2 * sizeof *c);
	c[0].wh = (struct wh_alloc_warehouse){
		"bj-rdc-01", WH_ALLOC_REGIONAL, "north", NULL, 0, plan_rdc_stock, 3, 35000, 0};
	c[0].chain = *rdc_chain;
	c[1].wh = (struct wh_alloc_warehouse){
		"bj-fdc-01", WH_ALLOC_FRONT, "north", plan_cy, 1, plan_fdc_stock, 1, 8000, 0};
	c[1].chain = wh_test_near;
}

static struct wh_plan_input
plan_input(const struct wh_promise_config *cfg, const struct wh_alloc_order *o,
	   const struct wh_plan_candidate *c, const struct wh_alloc_cost *cost, int64_t now)
{
	struct wh_plan_input in = {cfg, &plan_station, NULL, now, o, c, 2, cost, false};
	return in;
}

static void
plan_fast_mover_from_fdc(void **state)
{
	static const struct wh_alloc_line lines[] = {{"PHONE", 1, 400, false}};
	static const struct wh_alloc_order o = {lines, 1, "north", CHAOYANG};
	struct wh_promise_config cfg;
	struct wh_alloc_cost cost;
	struct wh_plan_candidate c[2];
	struct wh_plan p;
	struct wh_slot_offer slots[32];
	size_t n;
	struct wh_err err;
	struct wh_plan_input in;
	(void)state;
	wh_promise_config_defaults(&cfg);
	wh_alloc_cost_defaults(&cost);
	plan_network(c, &wh_test_rdc);
	in = plan_input(&cfg, &o, c, &cost, wh_test_t(2024, 5, 6, 10, 0, 0));
	assert_int_equal(wh_plan_order(&in, &p, &err), WH_OK);
	assert_int_equal(p.alloc.n_shipments, 1);
	assert_string_equal(c[p.alloc.shipments[0].warehouse].wh.id, "bj-fdc-01");
	assert_true(p.has_standard);
	assert_false(p.has_large);
	assert_false(p.standard.late);
	assert_int_equal(p.standard.deliver_by_s, wh_test_t(2024, 5, 6, 23, 0, 0));
	assert_int_equal(p.standard_at_station_s, wh_test_t(2024, 5, 6, 11, 10, 0));
	assert_int_equal(wh_slot_list(&cfg, in.station, in.now_local_s, p.standard_at_station_s,
				      in.capacity, slots, 32, &n, &err),
			 WH_OK);
	assert_int_equal(n, 4 + 3 * 6);
	assert_int_equal(slots[0].start_s, wh_test_t(2024, 5, 6, 13, 0, 0));
}

static void
plan_appliance_from_rdc(void **state)
{
	static const struct wh_alloc_line lines[] = {{"PHONE", 1, 400, false},
						     {"FRIDGE", 1, 65000, true}};
	static const struct wh_alloc_order o = {lines, 2, "north", CHAOYANG};
	struct wh_promise_config cfg;
	struct wh_alloc_cost cost;
	struct wh_plan_candidate c[2];
	struct wh_plan p;
	struct wh_err err;
	struct wh_plan_input in;
	(void)state;
	wh_promise_config_defaults(&cfg);
	wh_alloc_cost_defaults(&cost);
	plan_network(c, &wh_test_rdc);
	in = plan_input(&cfg, &o, c, &cost, wh_test_t(2024, 5, 6, 10, 0, 0));
	in.install = true;
	assert_int_equal(wh_plan_order(&in, &p, &err), WH_OK);
	/* One shipment from the RDC (it holds both) rather than a split. */
	assert_int_equal(p.alloc.n_shipments, 1);
	assert_string_equal(c[p.alloc.shipments[0].warehouse].wh.id, "bj-rdc-01");
	assert_true(p.alloc.shipments[0].large);
	assert_false(p.has_standard);
	assert_true(p.has_large);
	assert_int_equal(p.large.kind, WH_PROMISE_LARGE);
	assert_int_equal(p.large.n_counters, 2);
	/* Shuttle 13:00, station 14:30, +2 h prep: tomorrow 09:00. */
	assert_int_equal(p.large.window_start_s, wh_test_t(2024, 5, 7, 9, 0, 0));
}

static void
plan_split_standard_and_large(void **state)
{
	static const struct wh_alloc_line lines[] = {{"PHONE", 20, 400, false},
						     {"FRIDGE", 1, 65000, true}};
	static const struct wh_alloc_order o = {lines, 2, "north", CHAOYANG};
	static const struct wh_stock_level rdc_no_phone[] = {{"FRIDGE", 5}};
	static const struct wh_stock_level fdc_phones[] = {{"PHONE", 40}};
	struct wh_promise_config cfg;
	struct wh_alloc_cost cost;
	struct wh_plan_candidate c[2];
	struct wh_plan p;
	struct wh_err err;
	struct wh_plan_input in;
	(void)state;
	wh_promise_config_defaults(&cfg);
	wh_alloc_cost_defaults(&cost);
	plan_network(c, &wh_test_rdc);
	c[0].wh.stock = rdc_no_phone;
	c[0].wh.n_stock = 1;
	c[1].wh.stock = fdc_phones;
	in = plan_input(&cfg, &o, c, &cost, wh_test_t(2024, 5, 6, 10, 0, 0));
	assert_int_equal(wh_plan_order(&in, &p, &err), WH_OK);
	assert_int_equal(p.alloc.n_shipments, 2);
	assert_true(p.has_standard);
	assert_true(p.has_large);
	assert_int_equal(p.standard.deliver_by_s, wh_test_t(2024, 5, 6, 23, 0, 0));
	assert_int_equal(p.large.n_counters, 1);
}

static void
plan_far_only_is_late(void **state)
{
	static const struct wh_alloc_line lines[] = {{"CABLE", 2, 100, false}};
	static const struct wh_alloc_order o = {lines, 1, "north", CHAOYANG};
	struct wh_promise_config cfg;
	struct wh_alloc_cost cost;
	struct wh_plan_candidate c[2];
	struct wh_plan p;
	struct wh_err err;
	struct wh_plan_input in;
	(void)state;
	wh_promise_config_defaults(&cfg);
	wh_alloc_cost_defaults(&cost);
	plan_network(c, &wh_test_far);
	in = plan_input(&cfg, &o, c, &cost, wh_test_t(2024, 1, 31, 10, 0, 0));
	assert_int_equal(wh_plan_order(&in, &p, &err), WH_OK);
	assert_string_equal(c[p.alloc.shipments[0].warehouse].wh.id, "bj-rdc-01");
	assert_true(p.standard.late);
	assert_int_equal(p.standard.target_s, wh_test_t(2024, 1, 31, 23, 0, 0));
	assert_int_equal(p.standard.deliver_by_s, wh_test_t(2024, 2, 1, 13, 0, 0));
	assert_int_equal(p.alloc.promise_s, p.standard.deliver_by_s);
}

static void
plan_out_of_stock_and_bad_chain(void **state)
{
	static const struct wh_alloc_line lines[] = {{"PHONE", 500, 400, false}};
	static const struct wh_alloc_order o = {lines, 1, "north", CHAOYANG};
	struct wh_promise_config cfg;
	struct wh_alloc_cost cost;
	struct wh_plan_candidate c[2];
	struct wh_plan p;
	struct wh_err err;
	struct wh_plan_input in;
	(void)state;
	wh_promise_config_defaults(&cfg);
	wh_alloc_cost_defaults(&cost);
	plan_network(c, &wh_test_rdc);
	in = plan_input(&cfg, &o, c, &cost, wh_test_t(2024, 5, 6, 10, 0, 0));
	assert_int_equal(wh_plan_order(&in, &p, &err), WH_E_NO_STOCK);
	assert_int_equal(p.alloc.lines[0].status, WH_ALLOC_LINE_NO_STOCK);
	assert_int_equal(p.alloc.lines[0].best_available, 100);
	c[1].chain.pick_cutoff_s = 90000;
	assert_int_equal(wh_plan_order(&in, &p, &err), WH_E_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_fast_mover_from_fdc),
		cmocka_unit_test(plan_appliance_from_rdc),
		cmocka_unit_test(plan_split_standard_and_large),
		cmocka_unit_test(plan_far_only_is_late),
		cmocka_unit_test(plan_out_of_stock_and_bad_chain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
