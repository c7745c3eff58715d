/* Planning one station's local day of service appointments (issue 12) into
 * engineer routes: read the day (data/sql/service_plan_input.sql: the
 * engineers on shift, the booked and planned appointments), build the
 * routing problem (vehicles = engineers with their categories as skills and
 * capacity dimension 0 = visits left that day; stops = appointments at the
 * order's point, their window bounding the start of the visit, their
 * duration as service time, their category as the required skill), solve
 * and validate it on the worker pool (svc/vrp_solve.c, routing/vrp/), and
 * publish it as the day's next plan version (data/sql/service_plan_store.sql).
 * Every step but the solve runs on the loop. */
#ifndef DM_SERVICE_PLANNER_H
#define DM_SERVICE_PLANNER_H

#include <stddef.h>
#include <stdint.h>

struct dm_daemon;

/* Fixed planning settings (documented in docs/api.md). */
#define DM_SERVICE_PLANNER_MAX_VISITS 1000 /* appointments of a day we plan at most */
#define DM_SERVICE_PLANNER_DETOUR 1.3      /* road distance over great-circle distance */
#define DM_SERVICE_PLANNER_BUDGET_S 0.5    /* deterministic work budget */
#define DM_SERVICE_PLANNER_WALL_CAP_S 4.0  /* safety cap on a slow or sanitized build */
#define DM_SERVICE_PLANNER_SEED 1

/* What to plan: a station (its point from the areas) and one local day. */
struct dm_service_planner_target {
	char station[64];
	double lon, lat;     /* the station point (where engineers start and end), WGS84 */
	char day[16];        /* "2030-01-09", local to tz */
	char tz[64];         /* the region's zone ([promise] timezone) */
	char reason[16];     /* "planned" (POST) or "auto" (the scheduler) */
	int64_t fence_epoch; /* > 0: the scheduler's claim (service_auto_plans) */
};

enum dm_service_planner_status {
	DM_SERVICE_PLANNER_OK = 0,    /* stored; doc/len hold the routes document */
	DM_SERVICE_PLANNER_TOO_MANY,  /* more appointments than DM_SERVICE_PLANNER_MAX_VISITS */
	DM_SERVICE_PLANNER_FAILED,    /* the planner failed or the validator refused its plan */
	DM_SERVICE_PLANNER_NOT_STORED, /* fenced out: the claim was taken over or is done, or
					* another version of the day was stored meanwhile */
	DM_SERVICE_PLANNER_UNAVAILABLE, /* PostgreSQL or the worker pool, memory, stopping */
};

/* Outcome; doc/len (JSON text) when OK, else detail (fit for a client).
 * Borrowed for the callback only. */
struct dm_service_planner_result {
	enum dm_service_planner_status status;
	const char *detail;
	const char *doc;
	size_t len;
};

typedef void dm_service_planner_done_fn(const struct dm_service_planner_result *res,
					void *arg);

/* Plan target (copied) and store the plan. Returns 0 and calls done exactly
 * once later on the loop, or -1 at once (PostgreSQL down or out of memory;
 * done is never called). Loop thread only. */
int dm_service_planner_start(struct dm_daemon *d, const struct dm_service_planner_target *t,
			     dm_service_planner_done_fn *done, void *arg);

#endif
