/* The engineer's own resource on the handheld (issue 12), role engineer
 * only, the engineer being the token's scope:
 *
 *   GET /v1/engineers/me/route[?date=YYYY-MM-DD]  the engineer's planned visits
 *                                                 of the day (default: today,
 *                                                 local), in order
 *
 * data/sql/engineer_route_doc.sql writes the document (address, recipient,
 * window, eta, type, category and the booked price list of each visit). */
#include <stdint.h>

#include "daemon/api/courier_body.h"
#include "daemon/api/couriers_me.h"
#include "daemon/api/tables.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/req_pg.h"

static void
dm_api_engineers_me_route_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such engineer");
}

static void
dm_api_engineers_me_route(struct dm_req *r)
{
	int64_t now_ms;
	int32_t offset_s;
	char today[16];
	int days;
	const char *me = dm_api_couriers_me_worker(r, true);
	if (me == NULL)
		return;
	const char *date = dm_req_query(r, "date");
	if (date != NULL && !dm_api_courier_body_date(date, &days)) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "date", "message",
					 "must be a local date YYYY-MM-DD"));
		return;
	}
	dm_api_couriers_me_now(&now_ms, &offset_s, today);
	const char *params[] = {me, date, today, r->cfg->promise.tz};
	(void)dm_req_pg_query(r,
			      "SELECT engineer_route_doc($1, coalesce($2::date,"
			      " to_date($3, 'YYYYMMDD')), $4)",
			      4, params, DM_REQ_PG_READ, dm_api_engineers_me_route_done);
}

static const struct dm_route dm_api_engineers_me_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/engineers/me/route",
	 .handler = dm_api_engineers_me_route,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ENGINEER)},
};

const struct dm_route_table dm_api_engineers_me_table = {
	dm_api_engineers_me_routes,
	sizeof dm_api_engineers_me_routes / sizeof dm_api_engineers_me_routes[0]};
