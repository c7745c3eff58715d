/* Unit tests for warehouse/intake.c: every path of one order's flow, each
 * retry limit, and the exact sequence of needs (a script of event -> need
 * pairs per case). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warehouse/intake.h"
#include "wh_test.h"

#define EV(k, ...) ((struct wh_intake_event){.kind = WH_INTAKE_EV_##k, __VA_ARGS__})

static struct wh_promise_config intake_cfg;
static struct wh_plan intake_plan; /* a standard order at the station 09:20 */

/* Ordered 2024-05-06 08:00: the 13:00 wave (and its 13:00 slot) is the first open. */
static int
intake_setup(void **state)
{
	(void)state;
	wh_promise_config_defaults(&intake_cfg);
	memset(&intake_plan, 0, sizeof intake_plan);
	intake_plan.has_standard = true;
	intake_plan.standard_at_station_s = wh_test_t(2024, 5, 6, 9, 20, 0);
	intake_plan.standard.n_counters = 1;
	intake_plan.standard.counters[0] = (struct wh_capacity_counter){
		.ref = {WH_CAPACITY_WAVE, wh_civil_days_from_ymd(2024, 5, 6), HM(13, 0), HM(17, 0)},
		.capacity = 240};
	intake_plan.alloc.n_lines = 1;
	intake_plan.alloc.lines[0].status = WH_ALLOC_LINE_OK;
	return 0;
}

static void
intake_start(struct wh_intake *in, bool fresh, bool slot)
{
	struct wh_intake_order o = {.cfg = &intake_cfg,
				    .now_local_s = wh_test_t(2024, 5, 6, 8, 0, 0),
				    .has_slot = slot,
				    .slot_local_s = wh_test_t(2024, 5, 6, 13, 0, 0),
				    .hints_fresh = fresh};
	wh_intake_init(in, &o);
}

static struct wh_intake_need
intake_go(struct wh_intake *in, struct wh_intake_event ev)
{
	return wh_intake_step(in, &ev);
}

/* Feed ev and check the need's kind. */
static struct wh_intake_need
intake_expect(struct wh_intake *in, struct wh_intake_event ev, enum wh_intake_need_kind kind)
{
	struct wh_intake_need n = intake_go(in, ev);
	if (n.kind != kind)
		fail_msg("after event %d: need %s, expected %s", (int)ev.kind,
			 wh_intake_need_name(n.kind), wh_intake_need_name(kind));
	return n;
}

/* Feed ev: expect the reply r (and nothing after it). */
static struct wh_intake_need
intake_expect_reply(struct wh_intake *in, struct wh_intake_event ev, enum wh_intake_reply r)
{
	struct wh_intake_need n = intake_expect(in, ev, WH_INTAKE_NEED_REPLY);
	if (n.reply != r)
		fail_msg("reply %s, expected %s", wh_intake_reply_name(n.reply),
			 wh_intake_reply_name(r));
	assert_int_equal(in->state, WH_INTAKE_S_DONE);
	assert_int_equal(intake_go(in, EV(RELEASED)).kind, WH_INTAKE_NEED_NONE);
	assert_int_equal(intake_go(in, EV(START)).kind, WH_INTAKE_NEED_NONE);
	return n;
}

/* Feed ev: expect a release of the gated counter, then the reply r. */
static struct wh_intake_need
intake_expect_release_reply(struct wh_intake *in, struct wh_intake_event ev,
			    enum wh_intake_reply r)
{
	struct wh_intake_need n = intake_expect(in, ev, WH_INTAKE_NEED_RELEASE);
	assert_int_equal(n.n_counters, 1);
	assert_int_equal(n.counters[0].ref.start_s, HM(13, 0));
	return intake_expect_reply(in, EV(RELEASED), r);
}

static const struct wh_intake_event intake_ok_plan = {
	.kind = WH_INTAKE_EV_PLANNED, .plan_status = WH_OK, .plan = &intake_plan};

/* Fresh hints, standard order, up to the commit of the order (gate counted). */
static void
intake_to_commit(struct wh_intake *in)
{
	intake_start(in, true, false);
	struct wh_intake_need n = intake_expect(in, EV(START), WH_INTAKE_NEED_PLAN);
	assert_non_null(n.capacity); /* assumed empty: no counts read */
	assert_int_equal(n.capacity->n_counts, 0);
	n = intake_expect(in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	assert_int_equal(n.n_counters, 1);
	assert_int_equal(n.counters[0].ref.kind, WH_CAPACITY_WAVE);
	n = intake_expect(in, EV(GATED, .gate = WH_INTAKE_GATE_OK), WH_INTAKE_NEED_COMMIT);
	assert_int_equal(n.commit, WH_INTAKE_COMMIT_ORDER);
	assert_int_equal(n.n_counters, 1);
	assert_null(n.slot);
	assert_ptr_equal(n.plan, &in->plan);
}

static struct wh_intake_event
intake_committed(enum wh_intake_outcome out)
{
	return EV(COMMITTED, .io = WH_INTAKE_IO_OK, .outcome = out);
}

static void
intake_created(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_to_commit(&in);
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_OK), WH_INTAKE_CREATED);
	assert_false(in.gated);
}

/* A pickup point full or unknown at commit: the gated counter goes back, then
 * the refusal (no re-plan: another wave would not make a place). */
static void
intake_pickup_refused(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_to_commit(&in);
	intake_expect_release_reply(&in, intake_committed(WH_INTAKE_OUT_PICKUP_FULL),
				    WH_INTAKE_PICKUP_FULL);
	intake_to_commit(&in);
	intake_expect_release_reply(&in, intake_committed(WH_INTAKE_OUT_PICKUP_INVALID),
				    WH_INTAKE_PICKUP_INVALID);
}

static void
intake_stale_hints_read_first(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_start(&in, false, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_HINTS);
	intake_expect(&in, EV(HINTS), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	/* Redis down: nothing counted, so nothing is released later. */
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_SKIPPED), WH_INTAKE_NEED_COMMIT);
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_MISMATCH), WH_INTAKE_KEY_REUSED);
}

static void
intake_hints_fail(void **state)
{
	static const struct {
		struct wh_intake_event ev;
		enum wh_intake_reply reply;
	} cases[] = {
		{{.kind = WH_INTAKE_EV_HINTS, .io = WH_INTAKE_IO_UNAVAILABLE},
		 WH_INTAKE_HINTS_UNAVAILABLE},
		{{.kind = WH_INTAKE_EV_HINTS, .io = WH_INTAKE_IO_FAILED}, WH_INTAKE_HINTS_FAILED},
		{{.kind = WH_INTAKE_EV_HINTS, .unknown_sku = true}, WH_INTAKE_UNKNOWN_SKU},
		{{.kind = WH_INTAKE_EV_HINTS, .answered = true}, WH_INTAKE_ABANDONED},
		{{.kind = WH_INTAKE_EV_NOMEM}, WH_INTAKE_NOMEM},
		{{.kind = WH_INTAKE_EV_GATED}, WH_INTAKE_BAD_EVENT},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wh_intake in;
		intake_start(&in, false, false);
		intake_expect(&in, EV(START), WH_INTAKE_NEED_HINTS);
		intake_expect_reply(&in, cases[i].ev, cases[i].reply);
	}
}

static void
intake_out_of_stock(void **state)
{
	struct wh_intake in;
	struct wh_plan none = intake_plan;
	struct wh_intake_event no_stock = {
		.kind = WH_INTAKE_EV_PLANNED, .plan_status = WH_E_NO_STOCK, .plan = &none};
	(void)state;
	none.alloc.lines[0].status = WH_ALLOC_LINE_NO_STOCK;
	none.alloc.lines[0].best_available = 2;
	/* Cached hints said no: read them once more, then look the key up. */
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, no_stock, WH_INTAKE_NEED_HINTS);
	intake_expect(&in, EV(HINTS), WH_INTAKE_NEED_PLAN);
	struct wh_intake_need n = intake_expect(&in, no_stock, WH_INTAKE_NEED_COMMIT);
	assert_int_equal(n.commit, WH_INTAKE_COMMIT_CHECK);
	n = intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_ABSENT),
				WH_INTAKE_OUT_OF_STOCK);
	assert_non_null(n.plan);
	assert_int_equal(n.plan->alloc.lines[0].best_available, 2);

	/* Hints read for this order already: straight to the key check, which
	 * finds the order accepted earlier. */
	intake_start(&in, false, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_HINTS);
	intake_expect(&in, EV(HINTS), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, no_stock, WH_INTAKE_NEED_COMMIT);
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_REPLAY), WH_INTAKE_REPLAYED);
}

static void
intake_plan_refusals(void **state)
{
	static const struct {
		enum wh_status st;
		enum wh_intake_reply reply;
	} cases[] = {
		{WH_E_NO_CAPACITY, WH_INTAKE_NO_CAPACITY},
		{WH_E_INVAL, WH_INTAKE_PLAN_FAILED},
		{WH_E_LIMIT, WH_INTAKE_PLAN_FAILED},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wh_intake in;
		intake_start(&in, true, false);
		intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
		intake_expect_reply(
			&in, EV(PLANNED, .plan_status = cases[i].st, .plan = &intake_plan),
			cases[i].reply);
	}
	/* A plan status that promises a plan but brings none is refused. */
	struct wh_intake in;
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	intake_expect_reply(&in, EV(PLANNED, .plan_status = WH_OK), WH_INTAKE_BAD_EVENT);
}

/* The gate finds the wave full: the standard order reads the counts, then
 * plans again with that wave marked full. */
static void
intake_gate_full_spills(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_FULL, .full_index = 0),
		      WH_INTAKE_NEED_COUNTS);
	struct wh_capacity_count read[1] = {
		{.ref = {WH_CAPACITY_WAVE, wh_civil_days_from_ymd(2024, 5, 6), HM(9, 0), 0},
		 .booked = 3}};
	struct wh_intake_need n = intake_expect(
		&in, EV(COUNTS, .counts = read, .n_counts = 1, .counts_ready = true),
		WH_INTAKE_NEED_PLAN);
	assert_non_null(n.capacity);
	assert_int_equal(n.capacity->n_counts, 2);
	assert_int_equal(wh_capacity_booked(n.capacity, &read[0].ref), 3);
	assert_int_equal(wh_capacity_booked(n.capacity, &intake_plan.standard.counters[0].ref),
			 WH_INTAKE_BOOKED_FULL);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	/* The counts were read once: the next full wave re-plans without reading. */
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_FULL, .full_index = 0),
		      WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_UNKNOWN), WH_INTAKE_NEED_COMMIT);
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_OK), WH_INTAKE_CREATED);
}

/* WH_INTAKE_CAPACITY_ATTEMPTS full waves in a row: refused with the next slots. */
static void
intake_gate_full_limit(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	for (int i = 1; i < WH_INTAKE_CAPACITY_ATTEMPTS; i++) {
		intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
		intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_FULL),
			      i == 1 ? WH_INTAKE_NEED_COUNTS : WH_INTAKE_NEED_PLAN);
		if (i == 1)
			intake_expect(&in, EV(COUNTS, .io = WH_INTAKE_IO_OK, .counts_ready = true),
				      WH_INTAKE_NEED_PLAN);
		assert_int_equal(in.cap_attempts, i);
	}
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	struct wh_intake_need n = intake_expect_reply(
		&in, EV(GATED, .gate = WH_INTAKE_GATE_FULL), WH_INTAKE_CAPACITY_FULL);
	/* The full 13:00 wave is not proposed: the first slot is the 17:00 one. */
	assert_true(n.n_slots > 0 && n.n_slots <= WH_INTAKE_NEXT_SLOTS);
	assert_int_equal(n.slots[0].start_s, wh_test_t(2024, 5, 6, 17, 0, 0));
}

/* A chosen slot: counts first, both counters gated, and a full gate refuses at once. */
static void
intake_slot_full_at_gate(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_start(&in, true, true);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_COUNTS);
	struct wh_intake_need n = intake_expect(&in, EV(COUNTS, .counts_ready = true),
						WH_INTAKE_NEED_PLAN);
	assert_non_null(n.capacity);
	n = intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	assert_int_equal(n.n_counters, 2);
	assert_int_equal(n.counters[0].ref.kind, WH_CAPACITY_SLOT);
	assert_int_equal(n.counters[1].ref.kind, WH_CAPACITY_WAVE);
	n = intake_expect_reply(&in, EV(GATED, .gate = WH_INTAKE_GATE_FULL, .full_index = 0),
				WH_INTAKE_SLOT_FULL);
	assert_true(n.n_slots > 0);
	assert_int_not_equal(n.slots[0].start_s, wh_test_t(2024, 5, 6, 13, 0, 0));
}

static void
intake_slot_checked(void **state)
{
	struct wh_intake in;
	struct wh_capacity_count booked[1] = {
		{.ref = {WH_CAPACITY_SLOT, wh_civil_days_from_ymd(2024, 5, 6), HM(13, 0), 0},
		 .booked = 1000}};
	(void)state;
	/* The counts say the slot is full: refused before the gate. */
	intake_start(&in, true, true);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_COUNTS);
	intake_expect(&in, EV(COUNTS, .counts = booked, .n_counts = 1, .counts_ready = true),
		      WH_INTAKE_NEED_PLAN);
	intake_expect_reply(&in, intake_ok_plan, WH_INTAKE_SLOT_FULL);
	/* A slot that is not offered (03:00). */
	intake_start(&in, true, true);
	in.order.slot_local_s = wh_test_t(2024, 5, 6, 3, 0, 0);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_COUNTS);
	intake_expect(&in, EV(COUNTS, .io = WH_INTAKE_IO_UNAVAILABLE), WH_INTAKE_NEED_PLAN);
	intake_expect_reply(&in, intake_ok_plan, WH_INTAKE_SLOT_INVALID);
	/* Redis unavailable: plans with no view; the slot is checked without counts. */
	intake_start(&in, true, true);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_COUNTS);
	struct wh_intake_need n =
		intake_expect(&in, EV(COUNTS, .io = WH_INTAKE_IO_UNAVAILABLE), WH_INTAKE_NEED_PLAN);
	assert_null(n.capacity);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	n = intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_SKIPPED), WH_INTAKE_NEED_COMMIT);
	assert_non_null(n.slot);
	assert_int_equal(n.slot->start_s, wh_test_t(2024, 5, 6, 13, 0, 0));
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_OK), WH_INTAKE_CREATED);
}

/* Every commit outcome that ends the flow gives the gated places back first. */
static void
intake_commit_endings(void **state)
{
	static const struct {
		struct wh_intake_event ev;
		enum wh_intake_reply reply;
	} cases[] = {
		{{.kind = WH_INTAKE_EV_COMMITTED, .outcome = WH_INTAKE_OUT_REPLAY}, WH_INTAKE_REPLAYED},
		{{.kind = WH_INTAKE_EV_COMMITTED, .outcome = WH_INTAKE_OUT_MISMATCH},
		 WH_INTAKE_KEY_REUSED},
		{{.kind = WH_INTAKE_EV_COMMITTED, .outcome = WH_INTAKE_OUT_DUPLICATE},
		 WH_INTAKE_DUPLICATE},
		{{.kind = WH_INTAKE_EV_COMMITTED, .outcome = WH_INTAKE_OUT_ABSENT},
		 WH_INTAKE_OUT_OF_STOCK},
		{{.kind = WH_INTAKE_EV_COMMITTED, .outcome = WH_INTAKE_OUT_OTHER}, WH_INTAKE_TOO_FAST},
		{{.kind = WH_INTAKE_EV_COMMITTED, .outcome = WH_INTAKE_OUT_NONE},
		 WH_INTAKE_STORE_FAILED},
		{{.kind = WH_INTAKE_EV_COMMITTED, .io = WH_INTAKE_IO_UNAVAILABLE},
		 WH_INTAKE_STORE_UNAVAILABLE},
		{{.kind = WH_INTAKE_EV_COMMITTED, .io = WH_INTAKE_IO_FAILED, .outcome = WH_INTAKE_OUT_OK},
		 WH_INTAKE_STORE_FAILED},
		{{.kind = WH_INTAKE_EV_COMMITTED, .answered = true, .outcome = WH_INTAKE_OUT_RETRY},
		 WH_INTAKE_ABANDONED},
		{{.kind = WH_INTAKE_EV_NOMEM}, WH_INTAKE_NOMEM},
		{{.kind = WH_INTAKE_EV_HINTS}, WH_INTAKE_BAD_EVENT},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wh_intake in;
		intake_to_commit(&in);
		intake_expect_release_reply(&in, cases[i].ev, cases[i].reply);
	}
	/* Placed, then found answered by the deadline: the counts stay. */
	struct wh_intake in;
	intake_to_commit(&in);
	intake_expect_reply(&in, EV(COMMITTED, .answered = true, .outcome = WH_INTAKE_OUT_OK),
			    WH_INTAKE_ABANDONED);
	/* Counted by the gate, but the request was answered meanwhile. */
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect_release_reply(&in, EV(GATED, .gate = WH_INTAKE_GATE_OK, .answered = true),
				    WH_INTAKE_ABANDONED);
	/* Nothing counted (skipped gate): a mismatch replies at once. */
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_SKIPPED), WH_INTAKE_NEED_COMMIT);
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_DUPLICATE), WH_INTAKE_DUPLICATE);
}

/* Lost races for stock: release, re-plan on fresh levels; the fourth loss is "too fast". */
static void
intake_no_stock_race_limit(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_to_commit(&in);
	for (int i = 1; i < WH_INTAKE_COMMIT_ATTEMPTS; i++) {
		struct wh_intake_need n = intake_expect(
			&in, intake_committed(WH_INTAKE_OUT_NO_STOCK), WH_INTAKE_NEED_RELEASE);
		assert_int_equal(n.n_counters, 1);
		intake_expect(&in, EV(RELEASED), WH_INTAKE_NEED_PLAN);
		assert_true(in.fresh);
		intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
		intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_OK), WH_INTAKE_NEED_COMMIT);
	}
	intake_expect_release_reply(&in, intake_committed(WH_INTAKE_OUT_NO_STOCK),
				    WH_INTAKE_TOO_FAST);
	assert_int_equal(in.attempts, WH_INTAKE_COMMIT_ATTEMPTS);
}

/* "retry" sends the same entry again, keeping the count; the limit is shared
 * with lost races. */
static void
intake_retry_limit(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_to_commit(&in);
	intake_expect(&in, intake_committed(WH_INTAKE_OUT_NO_STOCK), WH_INTAKE_NEED_RELEASE);
	intake_expect(&in, EV(RELEASED), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_OK), WH_INTAKE_NEED_COMMIT);
	for (int i = 2; i < WH_INTAKE_COMMIT_ATTEMPTS; i++) {
		struct wh_intake_need n = intake_expect(&in, intake_committed(WH_INTAKE_OUT_RETRY),
							WH_INTAKE_NEED_COMMIT);
		assert_int_equal(n.commit, WH_INTAKE_COMMIT_AGAIN);
		assert_true(in.gated);
	}
	intake_expect_release_reply(&in, intake_committed(WH_INTAKE_OUT_RETRY), WH_INTAKE_TOO_FAST);
	/* A retry that then succeeds keeps the count. */
	intake_to_commit(&in);
	intake_expect(&in, intake_committed(WH_INTAKE_OUT_RETRY), WH_INTAKE_NEED_COMMIT);
	intake_expect_reply(&in, intake_committed(WH_INTAKE_OUT_OK), WH_INTAKE_CREATED);
}

/* PostgreSQL finds the wave full at commit: release, read the counts, re-plan
 * with that counter full; the limit is shared with full gates. */
static void
intake_capacity_full_at_commit(void **state)
{
	struct wh_intake in;
	struct wh_intake_event full = intake_committed(WH_INTAKE_OUT_CAPACITY_FULL);
	(void)state;
	full.counter_key = "20240506-W1300";
	intake_to_commit(&in);
	intake_expect(&in, full, WH_INTAKE_NEED_RELEASE);
	intake_expect(&in, EV(RELEASED), WH_INTAKE_NEED_COUNTS);
	struct wh_intake_need n =
		intake_expect(&in, EV(COUNTS, .counts_ready = true), WH_INTAKE_NEED_PLAN);
	assert_int_equal(wh_capacity_booked(n.capacity, &intake_plan.standard.counters[0].ref),
			 WH_INTAKE_BOOKED_FULL);
	for (int i = 2; i < WH_INTAKE_CAPACITY_ATTEMPTS; i++) {
		intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
		intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_FULL), WH_INTAKE_NEED_PLAN);
	}
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_OK), WH_INTAKE_NEED_COMMIT);
	full.counter_key = "garbage"; /* unparsable: still counts as full */
	n = intake_expect(&in, full, WH_INTAKE_NEED_RELEASE);
	n = intake_expect_reply(&in, EV(RELEASED), WH_INTAKE_CAPACITY_FULL);
	assert_int_equal(in.n_full, 1 + WH_INTAKE_CAPACITY_ATTEMPTS - 2);
	/* A chosen slot found full by PostgreSQL is refused at once. */
	intake_start(&in, true, true);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_COUNTS);
	intake_expect(&in, EV(COUNTS, .counts_ready = true), WH_INTAKE_NEED_PLAN);
	intake_expect(&in, intake_ok_plan, WH_INTAKE_NEED_GATE);
	intake_expect(&in, EV(GATED, .gate = WH_INTAKE_GATE_SKIPPED), WH_INTAKE_NEED_COMMIT);
	full.counter_key = "20240506-S1300";
	intake_expect_reply(&in, full, WH_INTAKE_SLOT_FULL);
}

static void
intake_bad_events(void **state)
{
	struct wh_intake in;
	(void)state;
	intake_start(&in, true, false);
	intake_expect_reply(&in, EV(HINTS), WH_INTAKE_BAD_EVENT);
	intake_start(&in, true, false);
	intake_expect_reply(&in, EV(NOMEM), WH_INTAKE_BAD_EVENT);
	intake_start(&in, true, false);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_PLAN);
	intake_expect_reply(&in, EV(COUNTS), WH_INTAKE_BAD_EVENT);
	/* Answered by the deadline while the counts were read: nothing counted, end. */
	intake_start(&in, true, true);
	intake_expect(&in, EV(START), WH_INTAKE_NEED_COUNTS);
	intake_expect_reply(&in, EV(COUNTS, .answered = true), WH_INTAKE_ABANDONED);
	/* During a release, anything but RELEASED still ends in one reply. */
	intake_to_commit(&in);
	intake_expect(&in, intake_committed(WH_INTAKE_OUT_MISMATCH), WH_INTAKE_NEED_RELEASE);
	intake_expect_reply(&in, EV(GATED), WH_INTAKE_BAD_EVENT);
}

static void
intake_outcomes(void **state)
{
	static const struct {
		const char *text;
		enum wh_intake_outcome out;
	} cases[] = {
		{"ok", WH_INTAKE_OUT_OK},
		{"replay", WH_INTAKE_OUT_REPLAY},
		{"mismatch", WH_INTAKE_OUT_MISMATCH},
		{"duplicate", WH_INTAKE_OUT_DUPLICATE},
		{"capacity_full", WH_INTAKE_OUT_CAPACITY_FULL},
		{"no_stock", WH_INTAKE_OUT_NO_STOCK},
		{"retry", WH_INTAKE_OUT_RETRY},
		{"absent", WH_INTAKE_OUT_ABSENT},
		{"pickup_full", WH_INTAKE_OUT_PICKUP_FULL},
		{"pickup_invalid", WH_INTAKE_OUT_PICKUP_INVALID},
		{"OK", WH_INTAKE_OUT_OTHER},
		{"", WH_INTAKE_OUT_OTHER},
		{NULL, WH_INTAKE_OUT_NONE},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_int_equal(wh_intake_outcome_parse(cases[i].text), cases[i].out);
	assert_string_equal(wh_intake_reply_name(WH_INTAKE_ABANDONED), "abandoned");
	assert_string_equal(wh_intake_reply_name(WH_INTAKE_PICKUP_FULL), "pickup_full");
	assert_string_equal(wh_intake_reply_name(WH_INTAKE_PICKUP_INVALID), "pickup_invalid");
	assert_string_equal(wh_intake_need_name(WH_INTAKE_NEED_REPLY), "reply");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(intake_created, intake_setup),
		cmocka_unit_test_setup(intake_pickup_refused, intake_setup),
		cmocka_unit_test_setup(intake_stale_hints_read_first, intake_setup),
		cmocka_unit_test_setup(intake_hints_fail, intake_setup),
		cmocka_unit_test_setup(intake_out_of_stock, intake_setup),
		cmocka_unit_test_setup(intake_plan_refusals, intake_setup),
		cmocka_unit_test_setup(intake_gate_full_spills, intake_setup),
		cmocka_unit_test_setup(intake_gate_full_limit, intake_setup),
		cmocka_unit_test_setup(intake_slot_full_at_gate, intake_setup),
		cmocka_unit_test_setup(intake_slot_checked, intake_setup),
		cmocka_unit_test_setup(intake_commit_endings, intake_setup),
		cmocka_unit_test_setup(intake_no_stock_race_limit, intake_setup),
		cmocka_unit_test_setup(intake_retry_limit, intake_setup),
		cmocka_unit_test_setup(intake_capacity_full_at_commit, intake_setup),
		cmocka_unit_test_setup(intake_bad_events, intake_setup),
		cmocka_unit_test_setup(intake_outcomes, intake_setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
