/* Planning one station's wave: read what it plans (data/sql/wave_plan_input.sql:
 * the wave's orders and stops, the couriers on shift), build the VRPTW
 * problem with a warm start (done stops fixed), solve and validate it on the
 * worker pool (routing/vrp/), and publish it as the wave's next route version
 * (data/sql/route_plan_store.sql). Every step but the solve runs on the loop. */
#ifndef DM_WAVE_PLANNER_H
#define DM_WAVE_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "warehouse/capacity.h"
#include "warehouse/promise.h"

struct dm_daemon;

/* Fixed planning settings (documented in docs/api.md). */
#define DM_WAVE_PLANNER_MAX_STOPS 1000     /* orders per wave we plan at most */
#define DM_WAVE_PLANNER_SERVICE_S 180.0    /* handing over one parcel */
#define DM_WAVE_PLANNER_DETOUR 1.3         /* road distance over great-circle distance */
#define DM_WAVE_PLANNER_BUDGET_S 0.5       /* deterministic work budget (rt_vrp_params.seconds) */
#define DM_WAVE_PLANNER_WALL_CAP_S 4.0     /* safety cap on a slow or sanitized build */
#define DM_WAVE_PLANNER_REPLAN_BY_MAX 96   /* a replan's claimer: daemon id "/" take number */
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
	char reason[64];      /* why this version: "planned", "auto", a replan's reason */
	int64_t fence_epoch;  /* > 0: the scheduler's claim (wave_auto_plans) to publish under */
	char replan_by[DM_WAVE_PLANNER_REPLAN_BY_MAX]; /* non-empty: the claimer of the
							  * wave_replans_due row */
};

/* How a planning job ended. A service status, not an HTTP one: the handler
 * (api/wave_plans.c) maps it to a reply. */
enum dm_wave_planner_status {
	DM_WAVE_PLANNER_OK = 0,	     /* the plan is stored; doc/len hold it */
	DM_WAVE_PLANNER_TOO_MANY,    /* more orders in the wave than DM_WAVE_PLANNER_MAX_STOPS */
	DM_WAVE_PLANNER_FAILED,	     /* the planner failed or the validator rejected its plan;
				      * nothing was stored */
	DM_WAVE_PLANNER_NOT_STORED,  /* the store answered without a plan (a fenced
				      * store whose claim was taken over) */
	DM_WAVE_PLANNER_UNAVAILABLE, /* PostgreSQL or the worker pool unavailable, out of
				      * memory, or the daemon is stopping */
	DM_WAVE_PLANNER_RUNNING,     /* another run (of any daemon) plans this wave now:
				      * running names it */
};

/* A claim on a wave's planning older than this is a dead daemon's. */
#define DM_WAVE_PLANNER_STALE_S 120

/* Outcome. doc/len: the stored plan document (JSON text) when status is
 * DM_WAVE_PLANNER_OK, else detail says why (text fit for a client). Both
 * borrowed for the callback only. */
struct dm_wave_planner_result {
	enum dm_wave_planner_status status;
	const char *detail;
	const char *doc;
	size_t len;
	const char *running; /* DM_WAVE_PLANNER_RUNNING: the running plan's id */
};

/* Fill t (zeroed first) for the wave of station (at lon/lat) that ref (a
 * wave key) names under the promise config cfg, at the zone offset
 * utc_offset_s; reason "planned". Returns 0, or -1 when no configured wave
 * of the station starts at that time on that day. */
int dm_wave_planner_target_init(struct dm_wave_planner_target *t,
				const struct wh_promise_config *cfg, const char *station,
				double lon, double lat, const struct wh_capacity_ref *ref,
				int32_t utc_offset_s);

typedef void dm_wave_planner_done_fn(const struct dm_wave_planner_result *res, void *arg);

/* Plan target (copied) and store the plan. Returns 0 and calls done exactly
 * once later on the loop, or -1 at once (PostgreSQL down or out of memory;
 * done is never called). Loop thread only. */
int dm_wave_planner_start(struct dm_daemon *d, const struct dm_wave_planner_target *target,
			dm_wave_planner_done_fn *done, void *arg);

#endif
