/* Capacity counters of a delivery station, sans-I/O: the daemon keeps the
 * booked counts (Redis for speed, PostgreSQL as the record) and passes a
 * snapshot in; the core says which counters a booking must increment and
 * their limits. Counter identity is (kind, local day, window start). */
#ifndef WH_CAPACITY_H
#define WH_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

#include "warehouse/err.h"

/* Buffer size for wh_capacity_key ("20240131-W0900" style, with room for odd years). */
#define WH_CAPACITY_KEY_LEN 32

/* What a counter limits. */
enum wh_capacity_kind {
	WH_CAPACITY_WAVE = 0, /* stops in one delivery wave (standard orders and slots alike) */
	WH_CAPACITY_SLOT,     /* stops in one precise delivery window */
	WH_CAPACITY_LARGE,    /* large-item deliveries in one large-item window */
	WH_CAPACITY_INSTALL   /* installation visits in one large-item window */
};

/* Identity of one counter at one station. */
struct wh_capacity_ref {
	enum wh_capacity_kind kind;
	int64_t day;	 /* local day, days since 1970-01-01 */
	int32_t start_s; /* window start, seconds since local midnight */
	int32_t end_s;	 /* window end, seconds since local midnight (not part of the identity) */
};

/* One booked count, as the caller read it. */
struct wh_capacity_count {
	struct wh_capacity_ref ref; /* end_s is ignored */
	uint32_t booked;	    /* stops already booked against ref */
};

/* Snapshot of one station's booked counts; absent counters count as 0 booked. */
struct wh_capacity_view {
	const struct wh_capacity_count *counts; /* borrowed; may be NULL when n_counts == 0 */
	size_t n_counts;
};

/* A counter a booking must check-and-increment atomically: booked < capacity. */
struct wh_capacity_counter {
	struct wh_capacity_ref ref;
	uint32_t capacity; /* limit from config (couriers x stops) */
	uint32_t booked;   /* count seen in the snapshot */
};

/* Booked count of `ref` in `view` (view may be NULL: nothing booked); sums duplicates. */
uint32_t wh_capacity_booked(const struct wh_capacity_view *view, const struct wh_capacity_ref *ref);

/* Remaining places of a counter (capacity - booked, 0 when full or over). */
uint32_t wh_capacity_remaining(const struct wh_capacity_counter *c);

/* Writes the stable text key of `ref`, "YYYYMMDD-K" + "HHMM" (K = W, S, L or I), e.g.
 * "20240131-S0900", into buf[len] for Redis fields and logs; returns its length, 0 if it
 * does not fit. */
size_t wh_capacity_key(const struct wh_capacity_ref *ref, char *buf, size_t len);

/* Parses a key written by wh_capacity_key into *ref (end_s set to 0). WH_E_INVAL on
 * malformed input; accepts any bytes. */
enum wh_status wh_capacity_key_parse(const char *key, size_t len, struct wh_capacity_ref *ref,
				     struct wh_err *err) WH_MUST_CHECK;

#endif
