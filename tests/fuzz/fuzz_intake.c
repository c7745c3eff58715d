/* libFuzzer harness: the order-intake state machine (warehouse/intake.c)
 * promises to accept any event in any state. The input is read as a script:
 * a few bytes for the order and its plan, then one or two bytes per step
 * choosing the event (mostly an answer to the need, with random contents;
 * sometimes any event at all). Once the script runs out, every need is
 * answered with success. Checked: the flow ends in exactly one reply within
 * a bounded number of steps (never two, never none), nothing is gated twice
 * or released without being counted, and no counted place is left counted
 * at the reply unless the order was placed. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "warehouse/civil.h"
#include "warehouse/intake.h"

#define FUZZ_INTAKE_MAX_STEPS 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_intake_input {
	const uint8_t *p;
	size_t n;
};

/* The next byte, or def once the script has run out. */
static uint8_t
fuzz_intake_byte(struct fuzz_intake_input *in, uint8_t def)
{
	if (in->n == 0)
		return def;
	in->n--;
	return *in->p++;
}

static struct wh_capacity_counter
fuzz_intake_counter(struct fuzz_intake_input *in, int64_t day)
{
	uint8_t b = fuzz_intake_byte(in, 0);
	return (struct wh_capacity_counter){
		.ref = {(enum wh_capacity_kind)(b & 3), day + (b >> 2 & 3), 9 * 3600 + (b >> 4) * 3600,
			0},
		.capacity = fuzz_intake_byte(in, 100),
		.booked = fuzz_intake_byte(in, 0)};
}

/* Answer need with an event whose contents come from the script. */
static struct wh_intake_event
fuzz_intake_answer(struct fuzz_intake_input *in, const struct wh_intake_need *need,
		   const struct wh_plan *plan, struct wh_capacity_count *counts, bool *counted)
{
	static const char *const keys[] = {"20240506-W1300", "20240506-S1300", "20240507-W0900",
					   "garbage", NULL};
	uint8_t b = fuzz_intake_byte(in, 0);
	struct wh_intake_event ev = {.answered = (b & 0xe0) == 0xe0};
	switch (need->kind) {
	case WH_INTAKE_NEED_HINTS:
		ev.kind = WH_INTAKE_EV_HINTS;
		ev.io = (enum wh_intake_io)(b % 5 < 4 ? b % 5 : 0);
		ev.unknown_sku = (b & 0x18) == 0x18;
		break;
	case WH_INTAKE_NEED_COUNTS: {
		ev.kind = WH_INTAKE_EV_COUNTS;
		ev.io = (enum wh_intake_io)(b & 3);
		ev.n_counts = (b >> 2) & 7;
		for (size_t i = 0; i < ev.n_counts; i++) {
			struct wh_capacity_counter c = fuzz_intake_counter(in, plan->alloc.n_lines);
			counts[i] = (struct wh_capacity_count){.ref = c.ref, .booked = c.booked};
		}
		ev.counts = ev.n_counts > 0 ? counts : NULL;
		ev.counts_ready = (b & 0x20) == 0;
		break;
	}
	case WH_INTAKE_NEED_PLAN: {
		static const enum wh_status st[] = {WH_OK, WH_OK, WH_E_NO_STOCK, WH_E_NO_CAPACITY,
						    WH_E_INVAL, WH_E_LIMIT};
		ev.kind = WH_INTAKE_EV_PLANNED;
		ev.plan_status = st[b % (sizeof st / sizeof st[0])];
		ev.plan = (b & 0x40) && ev.plan_status != WH_OK ? NULL : plan;
		break;
	}
	case WH_INTAKE_NEED_GATE:
		ev.kind = WH_INTAKE_EV_GATED;
		ev.gate = (enum wh_intake_gate)(b & 3);
		ev.full_index = (b >> 2) & 7;
		if (ev.gate == WH_INTAKE_GATE_OK || ev.gate == WH_INTAKE_GATE_UNKNOWN)
			*counted = true;
		break;
	case WH_INTAKE_NEED_RELEASE: ev.kind = WH_INTAKE_EV_RELEASED; break;
	case WH_INTAKE_NEED_COMMIT:
		ev.kind = WH_INTAKE_EV_COMMITTED;
		ev.io = (enum wh_intake_io)((b >> 4) & 3);
		ev.outcome = (enum wh_intake_outcome)(b % 10);
		ev.counter_key = keys[(b >> 3) % 5];
		if (ev.io == WH_INTAKE_IO_OK && ev.outcome == WH_INTAKE_OUT_OK)
			*counted = false; /* placed: the count is the order's */
		break;
	default: ev.kind = WH_INTAKE_EV_START; break;
	}
	return ev;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_intake_input in = {data, size};
	struct wh_promise_config cfg;
	static struct wh_intake flow;
	static struct wh_plan plan;
	struct wh_capacity_count counts[8];
	wh_promise_config_defaults(&cfg);

	/* The order: ordered 2024-05-06 from 06:00, maybe with a slot. */
	int64_t day = wh_civil_days_from_ymd(2024, 5, 6);
	uint8_t b = fuzz_intake_byte(&in, 0);
	struct wh_intake_order order = {
		.cfg = &cfg,
		.now_local_s = wh_civil_at(day, 6 * 3600 + (b & 15) * 1800),
		.has_slot = (b & 0x10) != 0,
		.slot_local_s = wh_civil_at(day + (b >> 6), 9 * 3600 + 2 * 3600 * (b >> 5 & 1)),
		.hints_fresh = (b & 0x20) != 0,
		/* for a pickup point (refused with large items) with a slot too:
		 * the body's checks are not the machine's to trust */
		.pickup = (b & 0x30) == 0x30,
	};
	/* Its plan, as the daemon would feed it each time. */
	memset(&plan, 0, sizeof plan);
	b = fuzz_intake_byte(&in, 0);
	plan.has_standard = (b & 1) == 0;
	plan.standard_at_station_s = order.now_local_s + (b >> 1) * 1800;
	plan.standard.n_counters = (b >> 5) & 3; /* up to 3: more than the array holds */
	plan.has_large = (b & 0x80) != 0;
	plan.large.n_counters = fuzz_intake_byte(&in, 0) & 3;
	for (size_t i = 0; i < 2; i++) {
		plan.standard.counters[i] = fuzz_intake_counter(&in, day);
		plan.large.counters[i] = fuzz_intake_counter(&in, day);
	}
	plan.alloc.n_lines = 1;
	wh_intake_init(&flow, &order);

	struct wh_intake_event ev = {.kind = WH_INTAKE_EV_START};
	struct wh_intake_need need;
	int replies = 0;
	bool counted = false;
	for (int step = 0; step < FUZZ_INTAKE_MAX_STEPS; step++) {
		need = wh_intake_step(&flow, &ev);
		if (need.kind == WH_INTAKE_NEED_REPLY) {
			if (counted || flow.gated)
				__builtin_trap(); /* a counted place was never given back */
			replies++;
			break;
		}
		if (need.kind == WH_INTAKE_NEED_NONE)
			__builtin_trap(); /* the flow ended without a reply */
		if (need.kind == WH_INTAKE_NEED_GATE && counted)
			__builtin_trap(); /* gated twice without a release */
		if (need.kind == WH_INTAKE_NEED_RELEASE) {
			if (!counted || need.n_counters > WH_INTAKE_MAX_COUNTERS)
				__builtin_trap(); /* released what was not counted */
			counted = false;
		}
		if ((need.kind == WH_INTAKE_NEED_GATE || need.kind == WH_INTAKE_NEED_COMMIT) &&
		    need.n_counters > WH_INTAKE_MAX_COUNTERS)
			__builtin_trap();
		b = fuzz_intake_byte(&in, 1);
		if ((b & 7) != 0) {
			ev = fuzz_intake_answer(&in, &need, &plan, counts, &counted);
		} else {
			/* Any event at all (still tracking what the gate counted). */
			ev = (struct wh_intake_event){.kind = (enum wh_intake_event_kind)((b >> 3) % 8),
						      .gate = (enum wh_intake_gate)(b >> 6),
						      .io = (enum wh_intake_io)((b >> 6) & 1)};
			if (ev.kind == WH_INTAKE_EV_GATED && need.kind == WH_INTAKE_NEED_GATE &&
			    (ev.gate == WH_INTAKE_GATE_OK || ev.gate == WH_INTAKE_GATE_UNKNOWN))
				counted = true;
			if (ev.kind == WH_INTAKE_EV_COMMITTED && need.kind == WH_INTAKE_NEED_COMMIT &&
			    ev.io == WH_INTAKE_IO_OK && ev.outcome == WH_INTAKE_OUT_OK)
				counted = false;
		}
	}
	if (replies != 1)
		__builtin_trap(); /* no reply within the bound */
	/* Never a second reply, whatever comes next. */
	for (int k = 0; k < 8; k++) {
		ev.kind = (enum wh_intake_event_kind)(fuzz_intake_byte(&in, (uint8_t)k) % 8);
		if (wh_intake_step(&flow, &ev).kind != WH_INTAKE_NEED_NONE)
			__builtin_trap();
	}
	return 0;
}
