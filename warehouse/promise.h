/* Delivery promise: the per-region promise settings, the warehouse -> station
 * chain (picking, line-haul shuttles) and the standard promise (the "211" rule,
 * or the large-item schedule). Times are on the local timeline of civil.h;
 * capacity comes in as a snapshot (capacity.h). Precise slots live in slot.h. */
#ifndef WH_PROMISE_H
#define WH_PROMISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/capacity.h"
#include "warehouse/err.h"

#define WH_PROMISE_MAX_WAVES 8	   /* waves per station, and large-item windows per day */
#define WH_PROMISE_HORIZON_DAYS 14 /* how far the standard promise searches for capacity */
#define WH_PROMISE_MAX_DAYS_AHEAD 31 /* bound on slot_days_ahead and large_days_ahead */
#define WH_PROMISE_TZ_LEN 64
#define WH_WEEKDAYS_ALL 0x7f /* bit 0 = Monday ... bit 6 = Sunday */

/* A daily delivery wave at a station (or a large-item window). */
struct wh_wave {
	int32_t start_s;   /* couriers leave the station, s since local midnight, whole minutes */
	int32_t end_s;	   /* last delivery, s since local midnight, start_s < end_s <= 86400 */
	uint8_t weekdays;  /* days it runs: bit 0 = Monday ... bit 6 = Sunday */
	uint16_t couriers; /* couriers (crews, for large-item windows) on shift */
};

/* Promise settings of one region. Fill with wh_promise_config_defaults, override from
 * config, validate with wh_promise_config_check. Plain data: copy freely. */
struct wh_promise_config {
	char tz[WH_PROMISE_TZ_LEN]; /* IANA zone the caller converts with ("Asia/Shanghai") */

	/* The 211 rule, seconds since local midnight. Ordered at sod < same_day_cutoff_s:
	 * due today at same_day_deadline_s; else at sod < next_day_cutoff_s: due tomorrow at
	 * next_day_deadline_s; else (late evening): due tomorrow at same_day_deadline_s. */
	int32_t same_day_cutoff_s;   /* 11:00 */
	int32_t same_day_deadline_s; /* 23:00 */
	int32_t next_day_cutoff_s;   /* 23:00 */
	int32_t next_day_deadline_s; /* 15:00 (next day) */

	/* Station: default waves (a station may override) and courier productivity. */
	int32_t station_sort_s; /* a parcel must be at the station this long before its wave */
	struct wh_wave waves[WH_PROMISE_MAX_WAVES];
	size_t n_waves;
	uint16_t stops_per_courier_wave; /* wave capacity = couriers x this */
	uint16_t stops_per_courier_slot; /* precise-slot capacity = couriers of its wave x this */

	/* Precise slots: windows [first, first+len), ... ending by last_end, today + N days. */
	int32_t slot_len_s;	 /* 7200 */
	int32_t slot_first_s;	 /* 09:00 */
	int32_t slot_last_end_s; /* 21:00 */
	int32_t slot_days_ahead; /* 0 = today only */

	/* Large items (appliances): own crews, windows, and a chosen date. */
	struct wh_wave large_windows[WH_PROMISE_MAX_WAVES]; /* couriers = crews */
	size_t n_large_windows;
	uint16_t large_stops_per_crew; /* large-window capacity = crews x this */
	uint16_t installs_per_crew;    /* installation visits per crew per window */
	int32_t large_prep_s;	       /* at the station this long before a large window */
	int32_t large_days_ahead;      /* dates offered: today .. today + N */
};

/* The customer's delivery station as the promise sees it. */
struct wh_station {
	const char *id;		     /* borrowed; informational */
	bool offers_slots;	     /* precise slots offered here */
	const struct wh_wave *waves; /* borrowed; NULL: the region's cfg->waves */
	size_t n_waves;
};

/* One warehouse -> one station chain. */
struct wh_chain {
	int32_t handling_s;	     /* picking and packing, from pick start to ready */
	int32_t pick_open_s;	     /* daily pick start, seconds since local midnight */
	int32_t pick_cutoff_s;	     /* orders at or after it wait for the next day's pick_open_s;
				      * 86400 = none; pick_open_s <= pick_cutoff_s */
	const int32_t *departures_s; /* borrowed; shuttle departures, seconds since midnight,
				      * each in [0, 86400); NULL/0: leaves as soon as ready */
	size_t n_departures;
	int32_t linehaul_s; /* shuttle travel time to the station */
};

/* Times along a chain, local seconds. */
struct wh_chain_times {
	int64_t pick_start_s;
	int64_t ready_s;
	int64_t depart_s;
	int64_t at_station_s;
};

enum wh_promise_kind {
	WH_PROMISE_STANDARD = 0, /* 211 rule, delivered in a station wave */
	WH_PROMISE_LARGE	 /* large-item window; no 211 target */
};

/* A promise. Plain data; holds no pointers. */
struct wh_promise {
	enum wh_promise_kind kind;
	int64_t target_s;	/* the 211 deadline for the order time (STANDARD), else 0 */
	bool late;		/* STANDARD only: the chain cannot make target_s; deliver_by_s
				 * is the earliest feasible */
	int64_t deliver_by_s;	/* the promise: target_s when met, else the window end */
	int64_t window_start_s; /* the delivering wave/window, local seconds */
	int64_t window_end_s;
	/* Counters the order books at the station (wave; or large [+ install]). */
	struct wh_capacity_counter counters[2];
	size_t n_counters;
};

/* Fills *cfg with the Beijing sample (Asia/Shanghai, 211 at 11:00/23:00 -> 23:00/15:00,
 * waves 09-13, 13-17, 17-21, 21-23, 2-hour slots 09:00-21:00 for today + 3 days, large
 * windows 09-13 and 14-18 for today + 7 days). See docs/warehouse.md. */
void wh_promise_config_defaults(struct wh_promise_config *cfg);

/* Validates every field of *cfg (ranges, order of cut-offs, windows); the message names
 * the field. Call at config load and reload. */
enum wh_status wh_promise_config_check(const struct wh_promise_config *cfg,
				       struct wh_err *err) WH_MUST_CHECK;

/* Validates a station (its own waves, if any) against cfg. */
enum wh_status wh_promise_station_check(const struct wh_promise_config *cfg,
					const struct wh_station *st,
					struct wh_err *err) WH_MUST_CHECK;

/* Validates a chain (ranges, ascending departures). */
enum wh_status wh_promise_chain_check(const struct wh_chain *chain,
				      struct wh_err *err) WH_MUST_CHECK;

/* Waves of a station: its own, or the region's; *n receives the count. Pointer borrowed
 * from st or cfg. */
const struct wh_wave *wh_promise_station_waves(const struct wh_promise_config *cfg,
					       const struct wh_station *st, size_t *n);

/* True when wave w runs on local day `day`. */
bool wh_promise_wave_runs(const struct wh_wave *w, int64_t day);

/* Indexes (into waves[n]) of the waves running on local day `day`, ordered by start then
 * end then index, into idx[WH_PROMISE_MAX_WAVES]; returns how many (n is capped). */
size_t wh_promise_day_waves(const struct wh_wave *waves, size_t n, int64_t day, size_t *idx);

/* The 211 deadline (local seconds) for an order placed at now_local_s. */
int64_t wh_promise_target(const struct wh_promise_config *cfg, int64_t now_local_s);

/* Times along `chain` for an order accepted at now_local_s. The chain must be valid. */
void wh_promise_chain_times(const struct wh_chain *chain, int64_t now_local_s,
			    struct wh_chain_times *out);

/* The promise for parcels at the station at at_station_s, ordered at now_local_s:
 * STANDARD (large = false): the first wave with capacity whose start is at least
 * station_sort_s after arrival; LARGE: the first large window with capacity (and
 * install capacity when install) at least large_prep_s after arrival. view may be NULL.
 * WH_E_NO_CAPACITY when nothing within WH_PROMISE_HORIZON_DAYS. */
enum wh_status wh_promise_at_station(const struct wh_promise_config *cfg,
				     const struct wh_station *st, int64_t now_local_s,
				     int64_t at_station_s, const struct wh_capacity_view *view,
				     bool large, bool install, struct wh_promise *out,
				     struct wh_err *err) WH_MUST_CHECK;

/* wh_promise_chain_times then wh_promise_at_station; *times may be NULL. */
enum wh_status wh_promise_via_chain(const struct wh_promise_config *cfg,
				    const struct wh_station *st, const struct wh_chain *chain,
				    int64_t now_local_s, const struct wh_capacity_view *view,
				    bool large, bool install, struct wh_promise *out,
				    struct wh_chain_times *times, struct wh_err *err) WH_MUST_CHECK;

/* ---- pickup points (issue 13 part C3) ---- */

#define WH_PICKUP_MAX_OFFERS 8 /* pickup points one promise offers */

/* A pickup point as the promise sees it (the daemon's cache of pickup_points). */
struct wh_pickup_point {
	const char *id;      /* borrowed */
	const char *station; /* borrowed: the station it belongs to */
	const char *name;    /* borrowed; informational (may be NULL) */
	const char *address; /* borrowed; informational (may be NULL) */
	double lon, lat;     /* degrees */
	int32_t capacity;    /* places */
	int32_t used;        /* places taken: orders routed there, not yet gone */
	bool shelf;          /* the station's own shelf (no courier leg) */
};

/* One pickup point offered: points[index], free places, distance from the
 * customer (0 without a location) and the earliest local time the parcel
 * can be there. */
struct wh_pickup_offer {
	size_t index;
	int32_t free;
	double distance_m;
	int64_t ready_s;
};

/* The pickup points to offer for an order of `station` whose parcels reach
 * the station at at_station_s and go out in the wave ending at wave_end_s:
 * the station's points with a free place (a full point is never offered),
 * nearest to (lon, lat) first when has_loc (else by id), at most max. A
 * shelf's parcel is there at at_station_s, a courier-served point's by the
 * end of the wave. Returns how many were written to out. */
size_t wh_pickup_offers(const struct wh_pickup_point *points, size_t n, const char *station,
			bool has_loc, double lon, double lat, int64_t at_station_s,
			int64_t wave_end_s, struct wh_pickup_offer *out, size_t max);

/* Great-circle distance in metres between two WGS84 points (haversine). */
double wh_pickup_distance_m(double lon1, double lat1, double lon2, double lat2);

#endif
