/* The wave plans resource: courier routes of one station wave.
 *
 *   POST /v1/stations/{id}/waves/{key}/plan    plan the wave now, store, answer the plan
 *   GET  /v1/stations/{id}/waves/{key}/routes  the stored plan
 *
 * {key} is the wave's capacity counter key ("20261123-W0900"). This file
 * only validates the path (station from the areas snapshot, wave from the
 * [promise] config) and maps outcomes to HTTP statuses; svc/wave_planner.c reads the
 * orders, runs the planner on the worker pool and stores the plan. */
#include <stdio.h>
#include <string.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/io/query_parse.h"
#include "daemon/base/reload.h"
#include "daemon/svc/wave_planner.h"
#include "daemon/api/tables.h"
#include "warehouse/capacity.h"

/* Parse a canonical wave key into ref; -1 (422 answered) when malformed. */
static int
dm_api_wave_plans_key(struct dm_req *r, const char *key, struct wh_capacity_ref *ref)
{
	if (!dm_query_parse_wave_key(key, ref)) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "malformed wave key",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "key", "message",
					 "must be a wave key such as 20261123-W0900"));
		return -1;
	}
	return 0;
}

/* The station's place; -1 (404 or 503 answered) when unknown or not loaded. */
static int
dm_api_wave_plans_station(struct dm_req *r, const char *id, struct dm_areas_place *place)
{
	struct dm_areas_snap *geo = dm_areas_current(r->d);
	enum dm_areas_status gs =
	    geo != NULL ? dm_areas_station(geo, id, place) : DM_AREAS_NOT_LOADED;
	dm_areas_unref(geo);
	if (gs == DM_AREAS_OK)
		return 0;
	if (gs == DM_AREAS_NOT_LOADED)
		dm_req_problem(r, DM_PROBLEM_NOT_READY, "no service areas loaded yet", NULL);
	else
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such station", NULL);
	return -1;
}

/* The problem kind of a planning outcome that is not OK. */
static enum dm_problem
dm_api_wave_plans_problem(enum dm_wave_planner_status st)
{
	switch (st) {
	case DM_WAVE_PLANNER_TOO_MANY:
		return DM_PROBLEM_WAVE_TOO_LARGE;
	case DM_WAVE_PLANNER_RUNNING:
		return DM_PROBLEM_PLAN_RUNNING;
	case DM_WAVE_PLANNER_UNAVAILABLE:
		return DM_PROBLEM_BACKEND_UNAVAILABLE;
	case DM_WAVE_PLANNER_OK:
	case DM_WAVE_PLANNER_FAILED:
	case DM_WAVE_PLANNER_NOT_STORED:
		break;
	}
	return DM_PROBLEM_INTERNAL;
}

static void
dm_api_wave_plans_planned(const struct dm_wave_planner_result *res, void *arg)
{
	struct dm_req *r = arg;
	if (!dm_req_answered(r)) {
		if (res->status == DM_WAVE_PLANNER_OK)
			dm_req_reply(r, 200, "application/json", res->doc, res->len);
		else
			dm_req_problem(r, dm_api_wave_plans_problem(res->status), res->detail,
				       res->running != NULL
					       ? json_pack("{s:s}", "running_plan", res->running)
					       : NULL);
	}
	dm_req_unref(r, "routes");
}

static void
dm_api_wave_plans_plan(struct dm_req *r)
{
	struct wh_capacity_ref ref;
	struct dm_areas_place place;
	struct dm_wave_planner_target t = {0};
	int64_t now;
	size_t n = 0;
	if (dm_api_wave_plans_key(r, r->params[1], &ref) != 0 ||
	    dm_api_wave_plans_station(r, r->params[0], &place) != 0)
		return;
	const struct wh_promise_config *cfg = &r->cfg->promise;
	struct wh_station st = {.id = place.station_id, .offers_slots = true};
	const struct wh_wave *waves = wh_promise_station_waves(cfg, &st, &n);
	for (size_t i = 0; i < n; i++)
		if (waves[i].start_s == ref.start_s && wh_promise_wave_runs(&waves[i], ref.day))
			t.wave = waves[i];
	if (t.wave.end_s == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no wave starts at that time at this station on that day",
			       NULL);
		return;
	}
	snprintf(t.station, sizeof t.station, "%s", place.station_id);
	if (wh_capacity_key(&ref, t.wave_key, sizeof t.wave_key) == 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "malformed wave key", NULL);
		return;
	}
	t.lon = place.station_lon;
	t.lat = place.station_lat;
	t.day = ref.day;
	t.slot_first_s = cfg->slot_first_s;
	t.slot_len_s = cfg->slot_len_s;
	dm_clock_now(&now, &t.utc_offset_s);
	dm_req_ref(r, "routes");
	if (dm_wave_planner_start(r->d, &t, dm_api_wave_plans_planned, r) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_req_unref(r, "routes");
	}
}

static void
dm_api_wave_plans_get_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no plan stored for this wave");
}

static void
dm_api_wave_plans_get(struct dm_req *r)
{
	struct wh_capacity_ref ref;
	struct dm_areas_place place;
	if (dm_api_wave_plans_key(r, r->params[1], &ref) != 0 ||
	    dm_api_wave_plans_station(r, r->params[0], &place) != 0)
		return;
	const char *params[] = {place.station_id, r->params[1]};
	(void)dm_req_pg_query(r, "SELECT route_plan_doc($1, $2)", 2, params, DM_REQ_PG_READ,
			      dm_api_wave_plans_get_done);
}

static const struct dm_route dm_api_wave_plans_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/waves/{key}/plan",
	 .handler = dm_api_wave_plans_plan,
	 .body_limit = 1,
	 .flags = DM_ROUTE_EXPENSIVE,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/waves/{key}/routes",
	 .handler = dm_api_wave_plans_get,
	 .body_limit = 1,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
};

const struct dm_route_table dm_api_wave_plans_table = {
	dm_api_wave_plans_routes, sizeof dm_api_wave_plans_routes / sizeof dm_api_wave_plans_routes[0]};
