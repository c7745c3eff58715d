/* Precise delivery slots and large-item dates offered to a customer, with the
 * station capacity they would consume. Sans-I/O: the booked counts come in as a
 * snapshot; a booking is the daemon's atomic check-and-increment of the
 * counters an offer lists. Times are local seconds (civil.h). */
#ifndef WH_SLOT_H
#define WH_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/capacity.h"
#include "warehouse/err.h"
#include "warehouse/promise.h"

/* One offered window. Plain data; holds no pointers. */
struct wh_slot_offer {
	int64_t start_s; /* local seconds */
	int64_t end_s;
	uint32_t remaining; /* places left: the smallest remaining over counters */
	bool install;	    /* large only: an installation visit is included */
	/* Counters to check-and-increment together when booking: precise slot = [slot, wave];
	 * large = [large] or [large, install]. */
	struct wh_capacity_counter counters[2];
	size_t n_counters;
};

/* Precise slots for parcels at the station at at_station_s, ordered at now_local_s: every
 * slot of cfg (slot_first .. slot_last_end, slot_len) from today to today +
 * slot_days_ahead that lies inside a wave running that day, whose wave starts at least
 * station_sort_s after arrival, and whose slot and wave both have capacity left. Earliest
 * first, at most cap into out; *n_out receives the count. A station that does not offer
 * slots yields 0 offers. view may be NULL. Never fails on valid config. */
enum wh_status wh_slot_list(const struct wh_promise_config *cfg, const struct wh_station *st,
			    int64_t now_local_s, int64_t at_station_s,
			    const struct wh_capacity_view *view, struct wh_slot_offer *out,
			    size_t cap, size_t *n_out, struct wh_err *err) WH_MUST_CHECK;

/* Large-item windows a customer may choose: each large window from today to today +
 * large_days_ahead starting at least large_prep_s after arrival, with large capacity (and
 * install capacity when install). Earliest first, at most cap; *n_out receives the count. */
enum wh_status wh_slot_list_large(const struct wh_promise_config *cfg, int64_t now_local_s,
				  int64_t at_station_s, const struct wh_capacity_view *view,
				  bool install, struct wh_slot_offer *out, size_t cap,
				  size_t *n_out, struct wh_err *err) WH_MUST_CHECK;

/* Re-checks a window the customer chose (its local start, start_local_s) against the same
 * rules: WH_OK and *out filled (book out->counters), WH_E_SLOT_INVALID when no such
 * offer exists for this order, WH_E_SLOT_FULL when it exists but has no capacity left
 * (then list again to propose others). large selects wh_slot_list_large's rules. */
enum wh_status wh_slot_check(const struct wh_promise_config *cfg, const struct wh_station *st,
			     int64_t now_local_s, int64_t at_station_s,
			     const struct wh_capacity_view *view, bool large, bool install,
			     int64_t start_local_s, struct wh_slot_offer *out,
			     struct wh_err *err) WH_MUST_CHECK;

#endif
