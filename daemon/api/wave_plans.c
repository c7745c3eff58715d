/* The wave plans resource: courier routes of one station wave.
 *
 *   POST /v1/stations/{id}/waves/{key}/plan    plan the wave now, store, answer the plan
 *   POST /v1/stations/{id}/waves/{key}/replan  {"reason"}: a warm-start replan, the next version
 *   GET  /v1/stations/{id}/waves/{key}/routes  the current version (?version=N: an older one)
 *
 * {key} is the wave's capacity counter key ("20261123-W0900"). This file
 * only validates the path (station from the areas snapshot, wave from the
 * [promise] config) and maps outcomes to HTTP statuses; svc/wave_planner.c reads the
 * orders, runs the planner on the worker pool and stores the plan. */
#include <stdio.h>
#include <stdlib.h>
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
#include "daemon/api/stations.h"
#include "daemon/api/tables.h"
#include "warehouse/capacity.h"

#define DM_API_WAVE_PLANS_REASON_MAX 60 /* bytes of a replan's reason */

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

/* Plan the wave of the path now, for reason. */
static void
dm_api_wave_plans_run(struct dm_req *r, const char *reason)
{
	struct wh_capacity_ref ref;
	struct dm_areas_place place;
	struct dm_wave_planner_target t;
	int64_t now;
	int32_t offset;
	if (dm_api_wave_plans_key(r, r->params[1], &ref) != 0 ||
	    dm_api_stations_find(r, r->params[0], &place) != 0)
		return;
	dm_clock_now(&now, &offset);
	if (dm_wave_planner_target_init(&t, &r->cfg->promise, place.station_id, place.station_lon,
					place.station_lat, &ref, offset) != 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no wave starts at that time at this station on that day",
			       NULL);
		return;
	}
	snprintf(t.reason, sizeof t.reason, "%s", reason);
	dm_req_ref(r, "routes");
	if (dm_wave_planner_start(r->d, &t, dm_api_wave_plans_planned, r) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_req_unref(r, "routes");
	}
}

static void
dm_api_wave_plans_plan(struct dm_req *r)
{
	dm_api_wave_plans_run(r, "planned");
}

/* POST .../replan {"reason": "..."}: a warm-start replan, published as the
 * next version with that reason. */
static void
dm_api_wave_plans_replan(struct dm_req *r)
{
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	const char *name;
	json_t *v, *errors = json_array();
	json_object_foreach(body, name, v)
		if (strcmp(name, "reason") != 0)
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", name,
								"message", "unknown field"));
	const char *reason = json_string_value(json_object_get(body, "reason"));
	size_t len = reason != NULL ? strlen(reason) : 0;
	if (len < 1 || len > DM_API_WAVE_PLANS_REASON_MAX)
		json_array_append_new(errors,
				      json_pack("{s:s,s:s}", "field", "reason", "message",
						"a string of 1 to 60 bytes is required"));
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid replan",
			       json_pack("{s:o}", "errors", errors));
		json_decref(body);
		return;
	}
	json_decref(errors);
	char copy[DM_API_WAVE_PLANS_REASON_MAX + 1];
	snprintf(copy, sizeof copy, "%s", reason);
	json_decref(body);
	dm_api_wave_plans_run(r, copy);
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
	    dm_api_stations_find(r, r->params[0], &place) != 0)
		return;
	const char *version = dm_req_query(r, "version");
	if (version != NULL) {
		char *end;
		long v = strtol(version, &end, 10);
		if (version[0] < '1' || version[0] > '9' || *end != '\0' || v > 1000000000L) {
			dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "malformed version",
				       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "version",
						 "message", "must be a positive integer"));
			return;
		}
	}
	const char *params[] = {place.station_id, r->params[1], version};
	(void)dm_req_pg_query(r, "SELECT route_plan_doc_version($1, $2, $3::integer)", 3, params,
			      DM_REQ_PG_READ, dm_api_wave_plans_get_done);
}

static const struct dm_route dm_api_wave_plans_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/waves/{key}/plan",
	 .handler = dm_api_wave_plans_plan,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .flags = DM_ROUTE_EXPENSIVE,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/waves/{key}/replan",
	 .handler = dm_api_wave_plans_replan,
	 .body_limit = 4096,
	 .flags = DM_ROUTE_EXPENSIVE,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/waves/{key}/routes",
	 .handler = dm_api_wave_plans_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
};

const struct dm_route_table dm_api_wave_plans_table = {
	dm_api_wave_plans_routes, sizeof dm_api_wave_plans_routes / sizeof dm_api_wave_plans_routes[0]};
