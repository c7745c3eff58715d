/* The service days resource (issue 12): a station's engineers' day plans.
 *
 *   POST /v1/stations/{id}/service-days/{date}/plan    plan the day now, store it, answer
 *                                                      its routes
 *   GET  /v1/stations/{id}/service-days/{date}/routes  the current plan of the day
 *
 * {date} is the local day (YYYY-MM-DD, in [promise] timezone). Roles station
 * (its own stations) and admin. This file only validates the path and maps
 * outcomes; svc/service_planner.c reads the day, plans it on the worker
 * pool and stores it (data/sql/service_plan_store.sql), and
 * data/sql/service_day_routes_doc.sql writes the document. The automatic
 * plan of each day is svc/service_scheduler.c's. */
#include <stdio.h>
#include <string.h>

#include "daemon/api/courier_body.h"
#include "daemon/api/stations.h"
#include "daemon/api/tables.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/areas.h"
#include "daemon/svc/service_planner.h"

/* The path's date, or -1 after answering 422. */
static int
dm_api_service_days_date(struct dm_req *r)
{
	int days;
	if (dm_api_courier_body_date(r->params[1], &days))
		return 0;
	dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "malformed date",
		       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "date", "message",
				 "must be a local date YYYY-MM-DD"));
	return -1;
}

static void
dm_api_service_days_planned(const struct dm_service_planner_result *res, void *arg)
{
	struct dm_req *r = arg;
	if (!dm_req_answered(r)) {
		if (res->status == DM_SERVICE_PLANNER_OK)
			dm_req_reply(r, 200, "application/json", res->doc, res->len);
		else
			dm_req_problem(r,
				       res->status == DM_SERVICE_PLANNER_TOO_MANY
					   ? DM_PROBLEM_WAVE_TOO_LARGE
				       : res->status == DM_SERVICE_PLANNER_NOT_STORED
					   ? DM_PROBLEM_PLAN_RUNNING
				       : res->status == DM_SERVICE_PLANNER_UNAVAILABLE
					   ? DM_PROBLEM_BACKEND_UNAVAILABLE
					   : DM_PROBLEM_INTERNAL,
				       res->detail, NULL);
	}
	dm_req_unref(r, "service-day");
}

static void
dm_api_service_days_plan(struct dm_req *r)
{
	struct dm_areas_place place;
	struct dm_service_planner_target t = {0};
	if (dm_api_service_days_date(r) != 0 ||
	    dm_api_stations_find(r, r->params[0], &place) != 0)
		return;
	snprintf(t.station, sizeof t.station, "%s", place.station_id);
	t.lon = place.station_lon;
	t.lat = place.station_lat;
	memcpy(t.day, r->params[1], 10); /* checked: YYYY-MM-DD */
	snprintf(t.tz, sizeof t.tz, "%s", r->cfg->promise.tz);
	snprintf(t.reason, sizeof t.reason, "planned");
	dm_req_ref(r, "service-day");
	if (dm_service_planner_start(r->d, &t, dm_api_service_days_planned, r) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_req_unref(r, "service-day");
	}
}

static void
dm_api_service_days_routes_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such day");
}

static void
dm_api_service_days_routes(struct dm_req *r)
{
	struct dm_areas_place place;
	if (dm_api_service_days_date(r) != 0 ||
	    dm_api_stations_find(r, r->params[0], &place) != 0)
		return;
	const char *params[] = {place.station_id, r->params[1], r->cfg->promise.tz};
	(void)dm_req_pg_query(r, "SELECT service_day_routes_doc($1, $2::date, $3)", 3, params,
			      DM_REQ_PG_READ, dm_api_service_days_routes_done);
}

static const struct dm_route dm_api_service_days_routes_table[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/service-days/{date}/plan",
	 .handler = dm_api_service_days_plan,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .flags = DM_ROUTE_EXPENSIVE,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/service-days/{date}/routes",
	 .handler = dm_api_service_days_routes,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
};

const struct dm_route_table dm_api_service_days_table = {
	dm_api_service_days_routes_table,
	sizeof dm_api_service_days_routes_table / sizeof dm_api_service_days_routes_table[0]};
