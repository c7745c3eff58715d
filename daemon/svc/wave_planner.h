/* Planning one station's wave: read the orders booked in it (PostgreSQL),
 * build the VRPTW problem, solve and validate it on the worker pool
 * (routing/vrp_*), and store the plan (data/sql/route_plan_store.sql),
 * replacing the previous one. Every step but the solve runs on the loop. */
#ifndef DM_WAVE_PLANNER_H
#define DM_WAVE_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "warehouse/promise.h"

struct dm_daemon;

/* Fixed planning settings (documented in docs/api.md). */
#define DM_WAVE_PLANNER_MAX_STOPS 1000     /* orders per wave we plan at most */
#define DM_WAVE_PLANNER_SERVICE_S 180.0    /* handing over one parcel */
#define DM_WAVE_PLANNER_CAPACITY_KG 150.0  /* e-bike courier */
#define DM_WAVE_PLANNER_CAPACITY_L 1200.0  /* e-bike box, litres */
#define DM_WAVE_PLANNER_SPEED_KMH 15.0     /* e-bike, door to door */
#define DM_WAVE_PLANNER_DETOUR 1.3         /* road distance over great-circle distance */
#define DM_WAVE_PLANNER_BUDGET_S 0.5       /* deterministic work budget (rt_vrp_params.seconds) */
#define DM_WAVE_PLANNER_WALL_CAP_S 4.0     /* safety cap on a slow or sanitized build */
#define DM_WAVE_PLANNER_SEED 1

/* What to plan: a station (its point from the areas) and one wave on one day. */
struct dm_wave_planner_target {
	char station[64];  /* station id */
	double lon, lat;   /* the station point (depot), WGS84 degrees */
	char wave_key[32]; /* "20261123-W0900" */
	int64_t day;       /* local day of the wave, days since 1970-01-01 */
	struct wh_wave wave;
	int32_t slot_first_s; /* first precise slot of a day, s since midnight ([promise]) */
	int32_t slot_len_s;   /* precise slot length ([promise]) */
	int32_t utc_offset_s; /* the zone's offset, for the RFC 3339 times */
};

/* Outcome: status is an HTTP status (200 stored; 409 too many orders; 500
 * planning failed or the plan was invalid; 503 a backend is down or the
 * daemon is stopping). doc/len: the stored plan document (JSON text) when
 * 200, else detail says why. Both borrowed for the callback only. */
struct dm_wave_planner_result {
	int status;
	const char *detail;
	const char *doc;
	size_t len;
};

typedef void dm_wave_planner_done_fn(const struct dm_wave_planner_result *res, void *arg);

/* Plan target (copied) and store the plan. Returns 0 and calls done exactly
 * once later on the loop, or -1 at once (PostgreSQL down or out of memory;
 * done is never called). Loop thread only. */
int dm_wave_planner_start(struct dm_daemon *d, const struct dm_wave_planner_target *target,
			dm_wave_planner_done_fn *done, void *arg);

#endif
