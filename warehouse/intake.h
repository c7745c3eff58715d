/* The decision flow of one order (POST /v1/orders) as an explicit state
 * machine, sans-I/O in the shape of Knot Resolver's consume/produce and
 * hiredis's reader: the caller performs the need the machine returns (read
 * the stock hints, plan, read the station's counts, gate in Redis, release,
 * commit in PostgreSQL, reply), feeds the result back as an event, and gets
 * the next need. The machine holds the flow's data (the plan, the counts
 * read, the counters gated, the counters found full, the attempt counts) as
 * plain data; it owns no daemon object and allocates nothing.
 *
 * The flow: plan on the hints (re-read once before refusing for stock) ->
 * station counts when needed (a chosen slot, or after a full wave) -> gate ->
 * commit -> created / replayed / key reused / external id taken / lost race
 * for stock (re-plan on the transaction's levels) / a full counter (spill to
 * the next wave, or refuse with the next slots). Every path ends in exactly
 * one WH_INTAKE_NEED_REPLY; counted places are released before it unless
 * the order was placed. */
#ifndef WH_INTAKE_H
#define WH_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/capacity.h"
#include "warehouse/err.h"
#include "warehouse/plan.h"
#include "warehouse/promise.h"
#include "warehouse/slot.h"

#define WH_INTAKE_COMMIT_ATTEMPTS 4   /* commits tried (lost stock races, transient retries) */
#define WH_INTAKE_CAPACITY_ATTEMPTS 8 /* plans of a standard order after a full counter */
#define WH_INTAKE_NEXT_SLOTS 8        /* slots proposed when refusing for capacity */
#define WH_INTAKE_MAX_COUNTS 512      /* station counts kept (as many as the Redis read gives) */
#define WH_INTAKE_MAX_COUNTERS 4      /* counters one order books: slot, wave, large, install */
/* Booked count recorded for a counter known to be full (sure to exceed any capacity). */
#define WH_INTAKE_BOOKED_FULL (UINT32_MAX / 2)

/* Where the flow stands: what the machine waits for. */
enum wh_intake_state {
	WH_INTAKE_S_START = 0, /* nothing done yet: feed WH_INTAKE_EV_START */
	WH_INTAKE_S_HINTS,     /* waiting for the stock hints read */
	WH_INTAKE_S_COUNTS,    /* waiting for the station's counts */
	WH_INTAKE_S_PLAN,      /* waiting for the plan */
	WH_INTAKE_S_GATE,      /* waiting for the Redis gate */
	WH_INTAKE_S_COMMIT,    /* waiting for the order's commit (or key check) */
	WH_INTAKE_S_RELEASE,   /* waiting for the release to be sent, then goes on */
	WH_INTAKE_S_DONE       /* replied: every further step returns WH_INTAKE_NEED_NONE */
};

/* What the machine knows of the station's booked counts. */
enum wh_intake_counts {
	WH_INTAKE_COUNTS_UNREAD = 0, /* not read (nor assumed) yet */
	WH_INTAKE_COUNTS_KNOWN,      /* read, or assumed empty for a first standard plan */
	WH_INTAKE_COUNTS_UNAVAILABLE /* Redis could not say: plan without a view */
};

/* What the caller must do next. */
enum wh_intake_need_kind {
	WH_INTAKE_NEED_NONE = 0, /* nothing: the flow has ended (after its reply) */
	WH_INTAKE_NEED_HINTS,    /* read the order's SKUs' stock hints -> EV_HINTS */
	WH_INTAKE_NEED_COUNTS,   /* read the station's booked counts -> EV_COUNTS */
	WH_INTAKE_NEED_PLAN,     /* plan over the hints with need.capacity -> EV_PLANNED */
	WH_INTAKE_NEED_GATE,     /* check-and-increment need.counters in Redis -> EV_GATED */
	WH_INTAKE_NEED_RELEASE,  /* give back need.counters in Redis -> EV_RELEASED */
	WH_INTAKE_NEED_COMMIT,   /* send to the committer (need.commit says what) -> EV_COMMITTED */
	WH_INTAKE_NEED_REPLY     /* answer with need.reply; the flow's last need */
};

/* What to commit. */
enum wh_intake_commit {
	WH_INTAKE_COMMIT_ORDER = 0, /* build the order's entry (need.counters, need.slot) */
	WH_INTAKE_COMMIT_CHECK,     /* a key lookup before refusing for stock */
	WH_INTAKE_COMMIT_AGAIN      /* send the same entry again (the batch asked to retry) */
};

/* How the order ends. The daemon maps these to HTTP and problem documents. */
enum wh_intake_reply {
	WH_INTAKE_CREATED = 0,         /* placed: 201 with the order */
	WH_INTAKE_REPLAYED,            /* the key's earlier answer, as stored */
	WH_INTAKE_KEY_REUSED,          /* the key came with another body */
	WH_INTAKE_DUPLICATE,           /* the external id belongs to another order */
	WH_INTAKE_OUT_OF_STOCK,        /* need.plan->alloc.lines say why per line */
	WH_INTAKE_SLOT_FULL,           /* the chosen slot is full; need.slots has others */
	WH_INTAKE_CAPACITY_FULL,       /* every wave tried was full; need.slots has others */
	WH_INTAKE_NO_CAPACITY,         /* no capacity at the station within the horizon */
	WH_INTAKE_SLOT_INVALID,        /* the chosen slot is not offered for this order */
	WH_INTAKE_TOO_FAST,            /* stock kept changing: attempts ran out */
	WH_INTAKE_UNKNOWN_SKU,         /* a SKU does not exist (the hints read says which) */
	WH_INTAKE_HINTS_UNAVAILABLE,   /* PostgreSQL unreachable while reading the hints */
	WH_INTAKE_HINTS_FAILED,        /* reading the hints failed */
	WH_INTAKE_STORE_UNAVAILABLE,   /* PostgreSQL unreachable at commit: outcome unknown */
	WH_INTAKE_STORE_FAILED,        /* the commit failed or gave no outcome */
	WH_INTAKE_PLAN_FAILED,         /* the planner refused its input */
	WH_INTAKE_NOMEM,               /* the caller ran out of memory performing a need */
	WH_INTAKE_BAD_EVENT,           /* an event that does not answer the last need */
	WH_INTAKE_ABANDONED,           /* the request was answered already: send nothing */
	WH_INTAKE_PICKUP_FULL,         /* the chosen pickup point has no place left */
	WH_INTAKE_PICKUP_INVALID,      /* no open pickup point of the order's station has the id */
	WH_INTAKE_PICKUP_LARGE         /* a pickup order with large items (never offered one) */
};

/* The order's outcome in intake_commit's result ("r"), decoded once. */
enum wh_intake_outcome {
	WH_INTAKE_OUT_NONE = 0,      /* no outcome in the result */
	WH_INTAKE_OUT_OK,            /* placed */
	WH_INTAKE_OUT_REPLAY,        /* the key is known: its stored answer */
	WH_INTAKE_OUT_MISMATCH,      /* the key is known with another request hash */
	WH_INTAKE_OUT_DUPLICATE,     /* the external id is taken */
	WH_INTAKE_OUT_CAPACITY_FULL, /* a counter was full at commit (result names it) */
	WH_INTAKE_OUT_NO_STOCK,      /* a reservation lost a race (fresh levels come back) */
	WH_INTAKE_OUT_RETRY,         /* transient: send again */
	WH_INTAKE_OUT_ABSENT,        /* key check: the key is unknown */
	WH_INTAKE_OUT_PICKUP_FULL,   /* the pickup point had no place at commit */
	WH_INTAKE_OUT_PICKUP_INVALID,/* the pickup point is unknown, retired or another station's */
	WH_INTAKE_OUT_OTHER          /* an outcome this daemon does not know */
};

/* The Redis gate's answer (as svc/counters.h's). */
enum wh_intake_gate {
	WH_INTAKE_GATE_OK = 0, /* counted */
	WH_INTAKE_GATE_FULL,   /* a counter is full (full_index) */
	WH_INTAKE_GATE_SKIPPED,/* Redis down or rebuilding: nothing counted */
	WH_INTAKE_GATE_UNKNOWN /* no answer: maybe counted, so released unless placed */
};

/* How a read or a commit went. */
enum wh_intake_io {
	WH_INTAKE_IO_OK = 0,
	WH_INTAKE_IO_UNAVAILABLE, /* the backend is unreachable (or the link died) */
	WH_INTAKE_IO_FAILED,      /* it answered with an error */
	WH_INTAKE_IO_NOMEM        /* the caller could not perform the need (out of memory) */
};

enum wh_intake_event_kind {
	WH_INTAKE_EV_START = 0, /* first step */
	WH_INTAKE_EV_HINTS,     /* io; unknown_sku */
	WH_INTAKE_EV_COUNTS,    /* io (not OK: counts unknown); counts, n_counts, counts_ready */
	WH_INTAKE_EV_PLANNED,   /* plan_status; plan (valid for WH_OK, NO_STOCK, NO_CAPACITY) */
	WH_INTAKE_EV_GATED,     /* gate; full_index */
	WH_INTAKE_EV_RELEASED,  /* the release was sent (fire and forget) */
	WH_INTAKE_EV_COMMITTED, /* io; outcome; counter_key (CAPACITY_FULL) */
	WH_INTAKE_EV_NOMEM      /* the caller could not perform the last need */
};

/* The result of the last need. Pointers are borrowed for the step only. */
struct wh_intake_event {
	enum wh_intake_event_kind kind;
	bool answered; /* the request was answered meanwhile (deadline): end the flow */
	enum wh_intake_io io;
	bool unknown_sku;                         /* EV_HINTS: some SKU does not exist */
	const struct wh_capacity_count *counts;   /* EV_COUNTS */
	size_t n_counts;
	bool counts_ready;                        /* false: Redis is rebuilding the counts */
	enum wh_status plan_status;               /* EV_PLANNED */
	const struct wh_plan *plan;
	enum wh_intake_gate gate;                 /* EV_GATED */
	size_t full_index;                        /* GATE_FULL: index into the gated counters */
	enum wh_intake_outcome outcome;           /* EV_COMMITTED with io OK */
	const char *counter_key;                  /* OUT_CAPACITY_FULL: the full counter's key */
};

/* The next need. Pointers point into the machine: valid until the next step. */
struct wh_intake_need {
	enum wh_intake_need_kind kind;
	/* NEED_PLAN: the counts to plan with; NULL when unknown (no view). */
	const struct wh_capacity_view *capacity;
	/* NEED_GATE, NEED_RELEASE, NEED_COMMIT (ORDER): the counters the order books. */
	const struct wh_capacity_counter *counters;
	size_t n_counters;
	enum wh_intake_commit commit;      /* NEED_COMMIT */
	const struct wh_slot_offer *slot;  /* NEED_COMMIT (ORDER): the chosen slot, or NULL */
	const struct wh_plan *plan;        /* NEED_COMMIT (ORDER), NEED_REPLY: the last plan */
	enum wh_intake_reply reply;        /* NEED_REPLY */
	const struct wh_slot_offer *slots; /* NEED_REPLY (SLOT_FULL, CAPACITY_FULL): next slots */
	size_t n_slots;
};

/* What the order is, fixed at its arrival. */
struct wh_intake_order {
	const struct wh_promise_config *cfg; /* the region's; borrowed for the machine's life */
	int64_t now_local_s;                 /* arrival on the local timeline */
	bool has_slot;                       /* the customer chose a precise slot ... */
	int64_t slot_local_s;                /* ... starting then (local) */
	bool hints_fresh;                    /* the cached hints are recent enough to plan on */
	bool pickup;                         /* for a pickup point: refused with large items */
};

/* One order's flow. Plain data: embed it in the request's state. Read the
 * fields only through wh_intake_step's needs (and the accessors below). */
struct wh_intake {
	enum wh_intake_state state;
	struct wh_intake_order order;
	bool fresh;          /* the hints were read for this order */
	int attempts;        /* commits tried */
	int cap_attempts;    /* re-plans after a full counter */
	enum wh_intake_counts counts_state;
	bool counts_fetched; /* read from Redis (not assumed empty) */
	bool counts_ready;
	size_t n_counts;
	struct wh_capacity_count counts[WH_INTAKE_MAX_COUNTS];
	struct wh_capacity_view view;
	size_t n_full; /* counters found full by the gate or PostgreSQL */
	struct wh_capacity_ref full[WH_INTAKE_CAPACITY_ATTEMPTS];
	bool have_plan;
	struct wh_plan plan;
	bool has_slot; /* a precise slot was chosen and checked */
	struct wh_slot_offer slot;
	size_t n_cap;
	struct wh_capacity_counter cap[WH_INTAKE_MAX_COUNTERS];
	bool gated; /* cap is counted in Redis: release it unless placed */
	size_t n_slots;
	struct wh_slot_offer slots[WH_INTAKE_NEXT_SLOTS];
	struct wh_intake_need after_release; /* the need that follows a release */
	enum wh_intake_state state_after_release;
};

/* Start the flow of order (copied; order->cfg is borrowed for the machine's life). */
void wh_intake_init(struct wh_intake *in, const struct wh_intake_order *order);

/* Consume the result of the last need (first call: WH_INTAKE_EV_START) and
 * return the next need. Accepts any event: one that does not answer the last
 * need ends the flow with WH_INTAKE_BAD_EVENT. After the reply, returns
 * WH_INTAKE_NEED_NONE. The returned need's pointers are valid until the next
 * call. Safe from any thread (one machine per thread at a time). */
struct wh_intake_need wh_intake_step(struct wh_intake *in, const struct wh_intake_event *ev);

/* Decode intake_commit's outcome text ("ok", "replay", ...); NULL gives
 * WH_INTAKE_OUT_NONE, an unknown text WH_INTAKE_OUT_OTHER. */
enum wh_intake_outcome wh_intake_outcome_parse(const char *r);

/* Static names for logs and tests; never NULL. */
const char *wh_intake_need_name(enum wh_intake_need_kind kind);
const char *wh_intake_reply_name(enum wh_intake_reply reply);

#endif
