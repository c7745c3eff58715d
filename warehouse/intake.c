/* The order-intake state machine (see intake.h). It owns the decisions of
 * one order's flow and the retry and re-plan policy: when to read the hints
 * again, when to read the station's counts, which counters to gate, what a
 * commit's outcome means, when to spill to the next wave and when to give
 * up. It does not plan (the caller plans over its hints and feeds the plan
 * back), touch a backend or build a document.
 *
 * Each handler below consumes one event in one state; the switch in
 * wh_intake_step is the whole table. A path that ends while places are
 * counted in Redis goes through wh_intake_end, which asks for the release
 * first and replies after. */
#include <string.h>

#include "warehouse/intake.h"

#define WH_INTAKE_NELEM(a) (sizeof(a) / sizeof((a)[0]))

void
wh_intake_init(struct wh_intake *in, const struct wh_intake_order *order)
{
	memset(in, 0, sizeof *in);
	in->state = WH_INTAKE_S_START;
	in->order = *order;
	in->counts_state = WH_INTAKE_COUNTS_UNREAD;
}

/* ---- outcome table ---- */

static const struct {
	const char *text;
	enum wh_intake_outcome outcome;
} wh_intake_outcomes[] = {
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
};

enum wh_intake_outcome
wh_intake_outcome_parse(const char *r)
{
	if (r == NULL)
		return WH_INTAKE_OUT_NONE;
	for (size_t i = 0; i < sizeof wh_intake_outcomes / sizeof wh_intake_outcomes[0]; i++)
		if (strcmp(r, wh_intake_outcomes[i].text) == 0)
			return wh_intake_outcomes[i].outcome;
	return WH_INTAKE_OUT_OTHER;
}

const char *
wh_intake_need_name(enum wh_intake_need_kind kind)
{
	static const char *const names[] = {"none",    "hints",  "counts", "plan",
					    "gate",    "release", "commit", "reply"};
	return (size_t)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

const char *
wh_intake_reply_name(enum wh_intake_reply reply)
{
	static const char *const names[] = {
		"created",       "replayed",       "key_reused",        "duplicate",
		"out_of_stock",  "slot_full",      "capacity_full",     "no_capacity",
		"slot_invalid",  "too_fast",       "unknown_sku",       "hints_unavailable",
		"hints_failed",  "store_unavailable", "store_failed",   "plan_failed",
		"nomem",         "bad_event",      "abandoned",         "pickup_full",
		"pickup_invalid", "pickup_large"};
	return (size_t)reply < sizeof names / sizeof names[0] ? names[reply] : "?";
}

/* ---- the counts the order plans with ---- */

/* The capacity view of the counts, or NULL when they are unknown. */
static const struct wh_capacity_view *
wh_intake_view(struct wh_intake *in)
{
	if (in->counts_state != WH_INTAKE_COUNTS_KNOWN || !in->counts_ready)
		return NULL;
	in->view = (struct wh_capacity_view){.counts = in->counts, .n_counts = in->n_counts};
	return &in->view;
}

/* Set counter ref to full in the counts. */
static void
wh_intake_apply_full(struct wh_intake *in, const struct wh_capacity_ref *ref)
{
	if (in->counts_state != WH_INTAKE_COUNTS_KNOWN || !in->counts_ready) {
		in->counts_state = WH_INTAKE_COUNTS_KNOWN;
		in->counts_ready = true;
		in->n_counts = 0;
	}
	for (size_t i = 0; i < in->n_counts; i++) {
		struct wh_capacity_ref *c = &in->counts[i].ref;
		if (c->kind == ref->kind && c->day == ref->day && c->start_s == ref->start_s) {
			in->counts[i].booked = WH_INTAKE_BOOKED_FULL;
			return;
		}
	}
	if (in->n_counts < WH_INTAKE_MAX_COUNTS)
		in->counts[in->n_counts++] =
			(struct wh_capacity_count){.ref = *ref, .booked = WH_INTAKE_BOOKED_FULL};
}

/* Record that counter ref is full (the gate or PostgreSQL just said so), so
 * that it is neither planned nor proposed again, even after a counts read. */
static void
wh_intake_mark_full(struct wh_intake *in, const struct wh_capacity_ref *ref)
{
	if (in->n_full < WH_INTAKE_CAPACITY_ATTEMPTS)
		in->full[in->n_full++] = *ref;
	wh_intake_apply_full(in, ref);
}

/* ---- needs ---- */

static struct wh_intake_need
wh_intake_need(struct wh_intake *in, enum wh_intake_state state, enum wh_intake_need_kind kind)
{
	in->state = state;
	return (struct wh_intake_need){.kind = kind};
}

static struct wh_intake_need
wh_intake_reply(struct wh_intake *in, enum wh_intake_reply reply)
{
	struct wh_intake_need n = wh_intake_need(in, WH_INTAKE_S_DONE, WH_INTAKE_NEED_REPLY);
	n.reply = reply;
	n.plan = in->have_plan ? &in->plan : NULL;
	if (reply == WH_INTAKE_SLOT_FULL || reply == WH_INTAKE_CAPACITY_FULL) {
		n.slots = in->slots;
		n.n_slots = in->n_slots;
	}
	return n;
}

/* Continue with next, giving back what the gate counted first. */
static struct wh_intake_need
wh_intake_release_then(struct wh_intake *in, struct wh_intake_need next)
{
	if (!in->gated)
		return next;
	in->gated = false;
	in->after_release = next;
	in->state_after_release = in->state;
	struct wh_intake_need n = wh_intake_need(in, WH_INTAKE_S_RELEASE, WH_INTAKE_NEED_RELEASE);
	n.counters = in->cap;
	n.n_counters = in->n_cap;
	return n;
}

/* The flow's end: release what is counted, then reply. */
static struct wh_intake_need
wh_intake_end(struct wh_intake *in, enum wh_intake_reply reply)
{
	return wh_intake_release_then(in, wh_intake_reply(in, reply));
}

/* Plan (reading the station's counts first when they are needed). A standard
 * order's first plan assumes every wave has room: the gate says which is
 * full (one Redis round trip when there is room, the common case). A chosen
 * slot needs the counts first, to check it and to propose others; so does a
 * re-plan after a full counter, so that one re-plan skips every full wave.
 * PostgreSQL's count at commit decides either way. */
static struct wh_intake_need
wh_intake_plan(struct wh_intake *in)
{
	if (in->counts_state == WH_INTAKE_COUNTS_UNREAD && !in->order.has_slot &&
	    in->cap_attempts == 0) {
		in->counts_state = WH_INTAKE_COUNTS_KNOWN;
		in->counts_ready = true;
		in->n_counts = 0;
	}
	if (in->counts_state == WH_INTAKE_COUNTS_UNREAD)
		return wh_intake_need(in, WH_INTAKE_S_COUNTS, WH_INTAKE_NEED_COUNTS);
	struct wh_intake_need n = wh_intake_need(in, WH_INTAKE_S_PLAN, WH_INTAKE_NEED_PLAN);
	n.capacity = wh_intake_view(in);
	return n;
}

/* A standard order met a full counter: plan again, reading the real counts
 * first if they were only assumed. */
static struct wh_intake_need
wh_intake_replan(struct wh_intake *in)
{
	if (!in->counts_fetched)
		in->counts_state = WH_INTAKE_COUNTS_UNREAD;
	return wh_intake_plan(in);
}

/* The next slots with room, for a refusal for capacity. */
static void
wh_intake_next_slots(struct wh_intake *in)
{
	struct wh_station station = {.id = "", .offers_slots = true};
	struct wh_err err;
	size_t n = 0;
	if (in->have_plan && in->plan.has_standard &&
	    wh_slot_list(in->order.cfg, &station, in->order.now_local_s,
			 in->plan.standard_at_station_s, wh_intake_view(in), in->slots,
			 WH_INTAKE_NEXT_SLOTS, &n, &err) != WH_OK)
		n = 0;
	in->n_slots = n;
}

/* Refuse for capacity (the chosen slot, or every wave tried, is full) with
 * the next slots that have room. */
static struct wh_intake_need
wh_intake_full(struct wh_intake *in, enum wh_intake_reply reply)
{
	wh_intake_next_slots(in);
	return wh_intake_end(in, reply);
}

/* A counter was full: a standard order spills to the next wave with room
 * until the attempts run out; a chosen slot is refused at once. */
static struct wh_intake_need
wh_intake_counter_full(struct wh_intake *in)
{
	if (!in->has_slot && ++in->cap_attempts < WH_INTAKE_CAPACITY_ATTEMPTS)
		return wh_intake_release_then(in, wh_intake_replan(in));
	return wh_intake_full(in, in->has_slot ? WH_INTAKE_SLOT_FULL : WH_INTAKE_CAPACITY_FULL);
}

static void
wh_intake_add_counters(struct wh_intake *in, const struct wh_capacity_counter *c, size_t n,
		       size_t max)
{
	if (n > max)
		n = max; /* a promise or offer holds at most max */
	for (size_t i = 0; i < n && in->n_cap < WH_INTAKE_MAX_COUNTERS; i++)
		in->cap[in->n_cap++] = c[i];
}

/* Which station counters the order books: the chosen precise slot (slot and
 * wave) or the standard promise's wave, plus the large-item window; then gate. */
static struct wh_intake_need
wh_intake_counters(struct wh_intake *in)
{
	const struct wh_plan *plan = &in->plan;
	struct wh_station station = {.id = "", .offers_slots = true};
	struct wh_err err;
	in->n_cap = 0;
	in->has_slot = false;
	/* A pickup point takes parcels only: the promise offers no point to an
	 * order with large items (its van delivers them to the door). */
	if (in->order.pickup && plan->has_large)
		return wh_intake_end(in, WH_INTAKE_PICKUP_LARGE);
	if (in->order.has_slot) {
		enum wh_status st = plan->has_standard
			? wh_slot_check(in->order.cfg, &station, in->order.now_local_s,
					plan->standard_at_station_s, wh_intake_view(in), false,
					false, in->order.slot_local_s, &in->slot, &err)
			: WH_E_SLOT_INVALID;
		if (st == WH_E_SLOT_FULL)
			return wh_intake_full(in, WH_INTAKE_SLOT_FULL);
		if (st != WH_OK)
			return wh_intake_end(in, WH_INTAKE_SLOT_INVALID);
		in->has_slot = true;
		wh_intake_add_counters(in, in->slot.counters, in->slot.n_counters,
				       WH_INTAKE_NELEM(in->slot.counters));
	} else if (plan->has_standard) {
		wh_intake_add_counters(in, plan->standard.counters, plan->standard.n_counters,
				       WH_INTAKE_NELEM(plan->standard.counters));
	}
	if (plan->has_large)
		wh_intake_add_counters(in, plan->large.counters, plan->large.n_counters,
				       WH_INTAKE_NELEM(plan->large.counters));
	struct wh_intake_need n = wh_intake_need(in, WH_INTAKE_S_GATE, WH_INTAKE_NEED_GATE);
	n.counters = in->cap;
	n.n_counters = in->n_cap;
	return n;
}

static struct wh_intake_need
wh_intake_commit(struct wh_intake *in, enum wh_intake_commit what)
{
	struct wh_intake_need n = wh_intake_need(in, WH_INTAKE_S_COMMIT, WH_INTAKE_NEED_COMMIT);
	n.commit = what;
	if (what == WH_INTAKE_COMMIT_ORDER) {
		n.counters = in->cap;
		n.n_counters = in->n_cap;
		n.slot = in->has_slot ? &in->slot : NULL;
		n.plan = &in->plan;
	}
	return n;
}

/* The plan found no stock: read the hints again before saying so, then look
 * the key up (a key whose order was accepted replays even when stock ran out). */
static struct wh_intake_need
wh_intake_refuse(struct wh_intake *in)
{
	if (!in->fresh) {
		in->fresh = true;
		return wh_intake_need(in, WH_INTAKE_S_HINTS, WH_INTAKE_NEED_HINTS);
	}
	return wh_intake_commit(in, WH_INTAKE_COMMIT_CHECK);
}

/* ---- events ---- */

static struct wh_intake_need
wh_intake_on_start(struct wh_intake *in)
{
	if (in->order.hints_fresh)
		return wh_intake_plan(in);
	in->fresh = true;
	return wh_intake_need(in, WH_INTAKE_S_HINTS, WH_INTAKE_NEED_HINTS);
}

static struct wh_intake_need
wh_intake_on_hints(struct wh_intake *in, const struct wh_intake_event *ev)
{
	switch (ev->io) {
	case WH_INTAKE_IO_OK: break;
	case WH_INTAKE_IO_UNAVAILABLE: return wh_intake_end(in, WH_INTAKE_HINTS_UNAVAILABLE);
	case WH_INTAKE_IO_NOMEM: return wh_intake_end(in, WH_INTAKE_NOMEM);
	case WH_INTAKE_IO_FAILED:
	default: return wh_intake_end(in, WH_INTAKE_HINTS_FAILED);
	}
	if (ev->unknown_sku)
		return wh_intake_end(in, WH_INTAKE_UNKNOWN_SKU);
	return wh_intake_plan(in);
}

static struct wh_intake_need
wh_intake_on_counts(struct wh_intake *in, const struct wh_intake_event *ev)
{
	in->counts_fetched = true;
	if (ev->io == WH_INTAKE_IO_OK && (ev->counts != NULL || ev->n_counts == 0)) {
		size_t n = ev->n_counts < WH_INTAKE_MAX_COUNTS ? ev->n_counts : WH_INTAKE_MAX_COUNTS;
		in->counts_state = WH_INTAKE_COUNTS_KNOWN;
		in->counts_ready = ev->counts_ready;
		in->n_counts = n;
		if (n > 0)
			memcpy(in->counts, ev->counts, n * sizeof in->counts[0]);
	} else {
		in->counts_state = WH_INTAKE_COUNTS_UNAVAILABLE;
	}
	for (size_t i = 0; i < in->n_full; i++)
		wh_intake_apply_full(in, &in->full[i]);
	return wh_intake_plan(in);
}

static struct wh_intake_need
wh_intake_on_planned(struct wh_intake *in, const struct wh_intake_event *ev)
{
	bool valid = ev->plan_status == WH_OK || ev->plan_status == WH_E_NO_STOCK ||
		     ev->plan_status == WH_E_NO_CAPACITY;
	if (valid && ev->plan == NULL)
		return wh_intake_end(in, WH_INTAKE_BAD_EVENT);
	if (valid) {
		in->plan = *ev->plan;
		in->have_plan = true;
	}
	switch (ev->plan_status) {
	case WH_OK: return wh_intake_counters(in);
	case WH_E_NO_STOCK: return wh_intake_refuse(in);
	case WH_E_NO_CAPACITY: return wh_intake_end(in, WH_INTAKE_NO_CAPACITY);
	default: return wh_intake_end(in, WH_INTAKE_PLAN_FAILED);
	}
}

static struct wh_intake_need
wh_intake_on_gated(struct wh_intake *in, const struct wh_intake_event *ev)
{
	/* Counted (or maybe counted): given back unless placed, even when the
	 * request has meanwhile been answered. */
	in->gated = ev->gate == WH_INTAKE_GATE_OK || ev->gate == WH_INTAKE_GATE_UNKNOWN;
	if (ev->answered)
		return wh_intake_end(in, WH_INTAKE_ABANDONED);
	if (ev->gate == WH_INTAKE_GATE_FULL) {
		if (ev->full_index < in->n_cap)
			wh_intake_mark_full(in, &in->cap[ev->full_index].ref);
		return wh_intake_counter_full(in);
	}
	return wh_intake_commit(in, WH_INTAKE_COMMIT_ORDER);
}

static struct wh_intake_need
wh_intake_on_committed(struct wh_intake *in, const struct wh_intake_event *ev)
{
	enum wh_intake_outcome out = ev->io == WH_INTAKE_IO_OK ? ev->outcome : WH_INTAKE_OUT_NONE;
	/* Placed: the counts stay. Retried as it is: they stay counted for it.
	 * Otherwise they go back (a lost link may have placed it: then the
	 * reconcile puts the count right again). */
	if (out == WH_INTAKE_OUT_OK)
		in->gated = false;
	if (ev->answered)
		return wh_intake_end(in, WH_INTAKE_ABANDONED);
	switch (ev->io) {
	case WH_INTAKE_IO_OK: break;
	case WH_INTAKE_IO_UNAVAILABLE: return wh_intake_end(in, WH_INTAKE_STORE_UNAVAILABLE);
	case WH_INTAKE_IO_NOMEM: return wh_intake_end(in, WH_INTAKE_NOMEM);
	case WH_INTAKE_IO_FAILED:
	default: return wh_intake_end(in, WH_INTAKE_STORE_FAILED);
	}
	switch (out) {
	case WH_INTAKE_OUT_OK: return wh_intake_reply(in, WH_INTAKE_CREATED);
	case WH_INTAKE_OUT_REPLAY: return wh_intake_end(in, WH_INTAKE_REPLAYED);
	case WH_INTAKE_OUT_MISMATCH: return wh_intake_end(in, WH_INTAKE_KEY_REUSED);
	case WH_INTAKE_OUT_DUPLICATE: return wh_intake_end(in, WH_INTAKE_DUPLICATE);
	case WH_INTAKE_OUT_ABSENT: return wh_intake_end(in, WH_INTAKE_OUT_OF_STOCK);
	case WH_INTAKE_OUT_PICKUP_FULL: return wh_intake_end(in, WH_INTAKE_PICKUP_FULL);
	case WH_INTAKE_OUT_PICKUP_INVALID: return wh_intake_end(in, WH_INTAKE_PICKUP_INVALID);
	case WH_INTAKE_OUT_NONE: return wh_intake_end(in, WH_INTAKE_STORE_FAILED);
	case WH_INTAKE_OUT_CAPACITY_FULL: {
		struct wh_capacity_ref ref;
		struct wh_err err;
		const char *k = ev->counter_key;
		if (k != NULL && wh_capacity_key_parse(k, strlen(k), &ref, &err) == WH_OK)
			wh_intake_mark_full(in, &ref);
		return wh_intake_counter_full(in);
	}
	case WH_INTAKE_OUT_NO_STOCK:
		/* Lost a race for the last units: plan again on the levels the
		 * transaction saw (the caller noted them in its hints). */
		if (++in->attempts < WH_INTAKE_COMMIT_ATTEMPTS) {
			in->fresh = true;
			return wh_intake_release_then(in, wh_intake_plan(in));
		}
		return wh_intake_end(in, WH_INTAKE_TOO_FAST);
	case WH_INTAKE_OUT_RETRY:
		if (++in->attempts < WH_INTAKE_COMMIT_ATTEMPTS)
			return wh_intake_commit(in, WH_INTAKE_COMMIT_AGAIN);
		return wh_intake_end(in, WH_INTAKE_TOO_FAST);
	case WH_INTAKE_OUT_OTHER:
	default: return wh_intake_end(in, WH_INTAKE_TOO_FAST);
	}
}

static struct wh_intake_need
wh_intake_on_released(struct wh_intake *in)
{
	in->state = in->state_after_release;
	return in->after_release;
}

struct wh_intake_need
wh_intake_step(struct wh_intake *in, const struct wh_intake_event *ev)
{
	if (in->state == WH_INTAKE_S_DONE)
		return (struct wh_intake_need){.kind = WH_INTAKE_NEED_NONE};
	/* The caller could not perform the need (out of memory): end here. */
	if (ev->kind == WH_INTAKE_EV_NOMEM && in->state != WH_INTAKE_S_START &&
	    in->state != WH_INTAKE_S_RELEASE)
		return wh_intake_end(in, WH_INTAKE_NOMEM);
	/* Answered meanwhile: only a gate or commit result changes what is
	 * counted; otherwise stop at once. */
	if (ev->answered && ev->kind != WH_INTAKE_EV_GATED && ev->kind != WH_INTAKE_EV_COMMITTED &&
	    in->state != WH_INTAKE_S_RELEASE)
		return wh_intake_end(in, WH_INTAKE_ABANDONED);
	switch (in->state) {
	case WH_INTAKE_S_START:
		if (ev->kind == WH_INTAKE_EV_START)
			return wh_intake_on_start(in);
		break;
	case WH_INTAKE_S_HINTS:
		if (ev->kind == WH_INTAKE_EV_HINTS)
			return wh_intake_on_hints(in, ev);
		break;
	case WH_INTAKE_S_COUNTS:
		if (ev->kind == WH_INTAKE_EV_COUNTS)
			return wh_intake_on_counts(in, ev);
		break;
	case WH_INTAKE_S_PLAN:
		if (ev->kind == WH_INTAKE_EV_PLANNED)
			return wh_intake_on_planned(in, ev);
		break;
	case WH_INTAKE_S_GATE:
		if (ev->kind == WH_INTAKE_EV_GATED)
			return wh_intake_on_gated(in, ev);
		break;
	case WH_INTAKE_S_COMMIT:
		if (ev->kind == WH_INTAKE_EV_COMMITTED)
			return wh_intake_on_committed(in, ev);
		break;
	case WH_INTAKE_S_RELEASE:
		/* The release is fire and forget: whatever the caller says, go on. */
		if (ev->kind == WH_INTAKE_EV_RELEASED)
			return wh_intake_on_released(in);
		break;
	case WH_INTAKE_S_DONE: break;
	}
	return wh_intake_end(in, WH_INTAKE_BAD_EVENT);
}
