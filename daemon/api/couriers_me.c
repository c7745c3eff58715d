/* The courier's own resources on the handheld (docs/api.md, "Couriers'
 * handheld"), role courier only, the courier being the token's scope:
 *
 *   GET  /v1/couriers/me/route        the current route version and its stops
 *   POST /v1/couriers/me/route/start  shipments of the route out for delivery
 *   POST /v1/couriers/me/locations    a batch of pings: 202 {accepted, stale}
 *
 * The route is read and started by courier_route_doc() and
 * courier_route_start() (data/sql/); pings go to svc/courier_pings.c (Redis
 * live position, buffered PostgreSQL flush). This file parses, checks the
 * caller and maps answers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/couriers_me.h"
#include "daemon/api/handheld_body.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/courier_pings.h"
#include "daemon/svc/tokens.h"
#include "warehouse/civil.h"

#define DM_API_COURIERS_ME_PINGS_BODY_MAX (DM_COURIER_PINGS_BATCH_MAX * 400)

const char *
dm_api_couriers_me_id(struct dm_req *r)
{
	return dm_api_couriers_me_worker(r, false);
}

const char *
dm_api_couriers_me_worker(struct dm_req *r, bool engineer)
{
	const struct dm_tokens_principal *p = r->principal;
	if (p == NULL || p->role != (engineer ? DM_TOKEN_ENGINEER : DM_TOKEN_COURIER) ||
	    p->scope.n != 1) {
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN,
			       engineer ? "only an engineer token has a route"
					: "only a courier token has a route",
			       NULL);
		return NULL;
	}
	/* couriers.id's shape (019): the id goes into Redis keys and JSON as is. */
	const char *id = p->scope.ids[0];
	size_t n = strlen(id);
	if (n < 1 || n >= DM_COURIER_PINGS_ID_MAX || strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
								"abcdefghijklmnopqrstuvwxyz"
								"0123456789_.:/-") != n) {
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN, "the token's id is not usable", NULL);
		return NULL;
	}
	return id;
}

void
dm_api_couriers_me_now(int64_t *now_ms, int32_t *offset_s, char today[16])
{
	int64_t y;
	int m, dd;
	dm_clock_now_ms(now_ms, offset_s);
	int64_t local_s = wh_civil_from_utc(*now_ms / 1000, *offset_s);
	wh_civil_ymd_from_days(wh_civil_day(local_s), &y, &m, &dd);
	snprintf(today, 16, "%04d%02d%02d", (int)y, m, dd);
}

/* ---- GET /v1/couriers/me/route ---- */

static void
dm_api_couriers_me_route_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such courier");
}

static void
dm_api_couriers_me_route(struct dm_req *r)
{
	int64_t now_ms;
	int32_t offset_s;
	char today[16];
	const char *me = dm_api_couriers_me_id(r);
	if (me == NULL)
		return;
	dm_api_couriers_me_now(&now_ms, &offset_s, today);
	const char *params[] = {me, today};
	(void)dm_req_pg_query(r, "SELECT courier_route_doc($1, $2)", 2, params, DM_REQ_PG_READ,
			      dm_api_couriers_me_route_done);
}

/* ---- POST /v1/couriers/me/route/start ---- */

static void
dm_api_couriers_me_start_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (dm_req_answered(r))
		goto out;
	const char *what = json_string_value(json_object_get(res, "r"));
	if (what == NULL) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s route start failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	} else {
		json_object_del(res, "r");
		dm_req_reply_json(r, 200, json_incref(res));
	}
out:
	json_decref(res);
}

static void
dm_api_couriers_me_start(struct dm_req *r)
{
	int64_t now_ms;
	int32_t offset_s;
	char today[16], at[32];
	const char *me = dm_api_couriers_me_id(r);
	if (me == NULL)
		return;
	dm_api_couriers_me_now(&now_ms, &offset_s, today);
	snprintf(at, sizeof at, "%" PRId64, now_ms);
	const char *params[] = {me, today, at};
	(void)dm_req_pg_query(r,
			      "SELECT courier_route_start($1, $2, to_timestamp($3::float8 / 1000))",
			      3, params, DM_REQ_PG_WRITE, dm_api_couriers_me_start_done);
}

/* ---- POST /v1/couriers/me/locations ---- */

/* A batch waiting for Redis: the device times, to count the stale pings. */
struct dm_api_couriers_me_batch {
	struct dm_req *r;
	size_t n;
	int64_t t_ms[DM_COURIER_PINGS_BATCH_MAX];
};

static void
dm_api_couriers_me_recorded(bool live, int64_t previous_t_ms, void *arg)
{
	struct dm_api_couriers_me_batch *b = arg;
	size_t stale = 0;
	for (size_t i = 0; live && i < b->n; i++)
		if (b->t_ms[i] <= previous_t_ms)
			stale++;
	if (!dm_req_answered(b->r))
		dm_req_reply_json(b->r, 202, json_pack("{s:I,s:I}", "accepted", (json_int_t)b->n,
						       "stale", (json_int_t)stale));
	dm_req_unref(b->r, "pings");
	free(b);
}

static void
dm_api_couriers_me_locations(struct dm_req *r)
{
	struct dm_courier_ping pings[DM_COURIER_PINGS_BATCH_MAX];
	size_t n;
	int64_t now_ms;
	int32_t offset_s;
	char today[16];
	const char *me = dm_api_couriers_me_id(r);
	if (me == NULL)
		return;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	int rc = dm_handheld_body_pings(body, pings, &n, errors);
	json_decref(body);
	if (rc != 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid pings",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	struct dm_api_couriers_me_batch *b = malloc(sizeof *b);
	if (b == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	b->r = r;
	b->n = n;
	for (size_t i = 0; i < n; i++)
		b->t_ms[i] = pings[i].t_ms;
	dm_api_couriers_me_now(&now_ms, &offset_s, today);
	dm_req_ref(r, "pings");
	dm_courier_pings_record(r->d, me, pings, n, now_ms, dm_api_couriers_me_recorded, b);
}

static const struct dm_route dm_api_couriers_me_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/couriers/me/route",
	 .handler = dm_api_couriers_me_route,
	 .roles = DM_ROLE(COURIER)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/couriers/me/route/start",
	 .handler = dm_api_couriers_me_start,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(COURIER)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/couriers/me/locations",
	 .handler = dm_api_couriers_me_locations,
	 .body_limit = DM_API_COURIERS_ME_PINGS_BODY_MAX,
	 .roles = DM_ROLE(COURIER)},
};

const struct dm_route_table dm_api_couriers_me_table = {
	dm_api_couriers_me_routes,
	sizeof dm_api_couriers_me_routes / sizeof dm_api_couriers_me_routes[0]};
