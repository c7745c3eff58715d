/* The couriers resource: a station's couriers, their shifts and duty; and
 * its engineers (issue 12), the second kind of field worker, through the
 * same handlers under /v1/stations/{id}/engineers[/{engineer}[/shifts|/duty]]
 * (the route's pattern names the kind: couriers.kind in SQL, so a courier is
 * never shown or changed as an engineer nor the other way round; an
 * engineer also has daily_capacity and provider, vehicle default van).
 *
 *   GET    /v1/stations/{id}/couriers[?active=true|false|all]  list (default: active)
 *   POST   /v1/stations/{id}/couriers                        create (409 if the id is taken)
 *   GET    /v1/stations/{id}/couriers/{courier}              one courier, shifts, duty
 *   PATCH  /v1/stations/{id}/couriers/{courier}              change name, phone, vehicle, ...
 *   DELETE /v1/stations/{id}/couriers/{courier}              deactivate (the record stays;
 *                                                            off duty from now)
 *   PUT    /v1/stations/{id}/couriers/{courier}/shifts       replace the shifts
 *   POST   /v1/stations/{id}/couriers/{courier}/duty         off duty now / back on
 *
 * Roles station (its own stations: admission checks {id}) and admin. The
 * station must be in the areas snapshot (404 otherwise); a courier of
 * another station is 404 through this station's path, decided in SQL
 * (data/sql/courier_*.sql), which also writes the feed line and the
 * replans due of a duty change in the same transaction. Bodies are checked
 * by api/courier_body.c. "Now" is the daemon's clock (dm_clock_now, which
 * [testing] clock drives), passed to SQL; shift times are local to the
 * region's zone ([promise] timezone), stored with them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/api/admission.h"
#include "daemon/api/courier_body.h"
#include "daemon/api/stations.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"

#define DM_API_COURIERS_BODY_MAX 4096
#define DM_API_COURIERS_SHIFTS_BODY_MAX (64 * 1024)

/* The kind of field worker a route serves. */
struct dm_api_couriers_kind {
	const char *kind; /* couriers.kind, and the noun of messages */
	const char *list; /* the list's member */
	bool engineer;
};

static const struct dm_api_couriers_kind dm_api_couriers_kinds[] = {
    {"courier", "couriers", false},
    {"engineer", "engineers", true},
};

static const struct dm_api_couriers_kind *
dm_api_couriers_kind(const struct dm_req *r)
{
	return &dm_api_couriers_kinds[strstr(r->route->pattern, "/engineers") != NULL];
}

/* "no such courier" / "no such engineer". */
static void
dm_api_couriers_not_found(struct dm_req *r)
{
	char msg[32];
	snprintf(msg, sizeof msg, "no such %s", dm_api_couriers_kind(r)->kind);
	dm_req_problem(r, DM_PROBLEM_NOT_FOUND, msg, NULL);
}

/* Now from the daemon's clock as UTC RFC 3339 ("2030-01-08T00:00:00Z"). */
static void
dm_api_couriers_now(char out[24])
{
	int64_t now_s;
	int32_t offset_s;
	struct tm tm;
	dm_clock_now(&now_s, &offset_s);
	time_t t = (time_t)now_s;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 24, "1970-01-01T00:00:00Z");
}

/* The body as an object, the station checked: NULL when r was answered. */
static json_t *
dm_api_couriers_body(struct dm_req *r)
{
	if (dm_api_stations_find(r, r->params[0], NULL) != 0)
		return NULL;
	return dm_req_body_json(r);
}

static void
dm_api_couriers_invalid(struct dm_req *r, const char *detail, json_t *errors)
{
	dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
		       json_pack("{s:o}", "errors", errors));
}

/* The one-row, one-column JSON answer of a write function ({"r": ...}), or
 * NULL after answering 503 (or nothing, when r was answered meanwhile). */
static json_t *
dm_api_couriers_result(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1 && !PQgetisnull(reply->res, 0, 0))
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (dm_req_answered(r)) {
		json_decref(res);
		return NULL;
	}
	if (!json_is_object(res)) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s courier write failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		json_decref(res);
		return NULL;
	}
	return res;
}

/* Answer a courier_create / courier_update result. */
static void
dm_api_couriers_saved(struct dm_req *r, const struct dm_pg_reply *reply, int ok_status)
{
	json_t *res = dm_api_couriers_result(r, reply);
	if (res == NULL)
		return;
	const char *what = json_string_value(json_object_get(res, "r"));
	if (what != NULL && strcmp(what, "ok") == 0)
		dm_req_reply_json(r, ok_status, json_incref(json_object_get(res, "courier")));
	else if (what != NULL && strcmp(what, "exists") == 0)
		dm_req_problem(r, DM_PROBLEM_ALREADY_EXISTS,
			       "a courier or engineer with this id exists (their ids are unique "
			       "across stations and kinds)",
			       NULL);
	else if (what != NULL && strcmp(what, "not_found") == 0)
		dm_api_couriers_not_found(r);
	else if (what != NULL && strcmp(what, "invalid") == 0)
		dm_api_couriers_invalid(r, "invalid courier",
					json_pack("[{s:s,s:s}]", "field", "vehicle", "message",
						  "no such vehicle profile"));
	else
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	json_decref(res);
}

/* ---- GET /v1/stations/{id}/couriers ---- */

static void
dm_api_couriers_doc_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	bool engineer = dm_api_couriers_kind(r)->engineer;
	dm_req_reply_pg_doc(r, reply, engineer ? "no such engineer" : "no such courier");
}

static void
dm_api_couriers_list(struct dm_req *r)
{
	const char *active = dm_req_query(r, "active");
	char now[24];
	if (active == NULL)
		active = "true";
	if (strcmp(active, "true") != 0 && strcmp(active, "false") != 0 &&
	    strcmp(active, "all") != 0) {
		dm_api_couriers_invalid(r, "invalid query",
					json_pack("[{s:s,s:s}]", "field", "active", "message",
						  "must be true, false or all"));
		return;
	}
	if (dm_api_stations_find(r, r->params[0], NULL) != 0)
		return;
	dm_api_couriers_now(now);
	const struct dm_api_couriers_kind *k = dm_api_couriers_kind(r);
	const char *params[] = {r->params[0], active, now, k->list, k->kind};
	(void)dm_req_pg_query(r,
			      "SELECT jsonb_build_object($4::text, coalesce(jsonb_agg("
			      "courier_doc($1, c.id, $3::timestamptz, $5) ORDER BY c.id), '[]'))"
			      "  FROM couriers c WHERE c.station_id = $1 AND c.kind = $5"
			      "   AND ($2 = 'all' OR c.active = ($2 = 'true'))",
			      5, params, DM_REQ_PG_READ, dm_api_couriers_doc_done);
}

/* ---- POST /v1/stations/{id}/couriers ---- */

static void
dm_api_couriers_created(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_couriers_saved(r, reply, 201);
}

static void
dm_api_couriers_create(struct dm_req *r)
{
	json_t *body = dm_api_couriers_body(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const struct dm_api_couriers_kind *k = dm_api_couriers_kind(r);
	json_t *fields = dm_api_courier_body_fields(body, true, k->engineer, errors);
	json_decref(body);
	if (fields == NULL) {
		dm_api_couriers_invalid(r, k->engineer ? "invalid engineer" : "invalid courier",
					errors);
		return;
	}
	json_decref(errors);
	char now[24];
	char *text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_api_couriers_now(now);
	const char *params[] = {r->params[0], text, now, k->kind};
	(void)dm_req_pg_query(r, "SELECT courier_create($1, $2::jsonb, $3::timestamptz, $4)", 4,
			      params, DM_REQ_PG_WRITE, dm_api_couriers_created);
	free(text);
}

/* ---- GET, PATCH, DELETE /v1/stations/{id}/couriers/{courier} ---- */

static void
dm_api_couriers_get(struct dm_req *r)
{
	char now[24];
	if (dm_api_stations_find(r, r->params[0], NULL) != 0)
		return;
	dm_api_couriers_now(now);
	const char *params[] = {r->params[0], r->params[1], now, dm_api_couriers_kind(r)->kind};
	(void)dm_req_pg_query(r, "SELECT courier_doc($1, $2, $3::timestamptz, $4)", 4, params,
			      DM_REQ_PG_READ, dm_api_couriers_doc_done);
}

static void
dm_api_couriers_updated(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_couriers_saved(r, reply, 200);
}

/* Send courier_update with fields (JSON text) for r. */
static void
dm_api_couriers_update_send(struct dm_req *r, const char *fields)
{
	char now[24];
	dm_api_couriers_now(now);
	const char *params[] = {r->params[0], r->params[1], fields, now, dm_admission_actor(r),
				r->cfg->promise.tz, dm_api_couriers_kind(r)->kind};
	(void)dm_req_pg_query(r,
			      "SELECT courier_update($1, $2, $3::jsonb, $4::timestamptz, $5, $6,"
			      " $7)",
			      7, params, DM_REQ_PG_WRITE, dm_api_couriers_updated);
}

static void
dm_api_couriers_patch(struct dm_req *r)
{
	json_t *body = dm_api_couriers_body(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const struct dm_api_couriers_kind *k = dm_api_couriers_kind(r);
	json_t *fields = dm_api_courier_body_fields(body, false, k->engineer, errors);
	json_decref(body);
	if (fields == NULL) {
		dm_api_couriers_invalid(r, k->engineer ? "invalid engineer" : "invalid courier",
					errors);
		return;
	}
	json_decref(errors);
	char *text = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_api_couriers_update_send(r, text);
	free(text);
}

static void
dm_api_couriers_delete(struct dm_req *r)
{
	if (dm_api_stations_find(r, r->params[0], NULL) != 0)
		return;
	dm_api_couriers_update_send(r, "{\"active\":false}");
}

/* ---- PUT /v1/stations/{id}/couriers/{courier}/shifts ---- */

static void
dm_api_couriers_shifts(struct dm_req *r)
{
	json_t *body = dm_api_couriers_body(r);
	if (body == NULL)
		return;
	json_t *errors = json_array(), *weekly, *dates;
	int rc = dm_api_courier_body_shifts(body, &weekly, &dates, errors);
	json_decref(body);
	if (rc != 0) {
		dm_api_couriers_invalid(r, "invalid shifts", errors);
		return;
	}
	json_decref(errors);
	char now[24];
	char *wtext = json_dumps(weekly, JSON_COMPACT), *dtext = json_dumps(dates, JSON_COMPACT);
	json_decref(weekly);
	json_decref(dates);
	if (wtext == NULL || dtext == NULL) {
		free(wtext);
		free(dtext);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_api_couriers_now(now);
	const char *params[] = {r->params[0], r->params[1], r->cfg->promise.tz, wtext, dtext, now,
				dm_api_couriers_kind(r)->kind};
	(void)dm_req_pg_query(r,
			      "SELECT courier_shifts_set($1, $2, $3, $4::jsonb, $5::jsonb, "
			      "$6::timestamptz, $7)",
			      7, params, DM_REQ_PG_WRITE, dm_api_couriers_doc_done);
	free(wtext);
	free(dtext);
}

/* ---- POST /v1/stations/{id}/couriers/{courier}/duty ---- */

static void
dm_api_couriers_duty_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = dm_api_couriers_result(r, reply);
	if (res == NULL)
		return;
	const char *what = json_string_value(json_object_get(res, "r"));
	if (what != NULL && strcmp(what, "ok") == 0) {
		json_object_del(res, "r");
		if (dm_api_couriers_kind(r)->engineer) { /* {"engineer": id, ...} */
			json_object_set(res, "engineer", json_object_get(res, "courier"));
			json_object_del(res, "courier");
			json_object_del(res, "replans_due"); /* engineers have no waves */
		}
		dm_req_reply_json(r, 200, json_incref(res));
	} else if (what != NULL && strcmp(what, "not_found") == 0) {
		dm_api_couriers_not_found(r);
	} else {
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
	json_decref(res);
}

static void
dm_api_couriers_duty(struct dm_req *r)
{
	json_t *body = dm_api_couriers_body(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	bool on_shift = false;
	const char *reason;
	if (dm_api_courier_body_duty(body, &on_shift, &reason, errors) != 0) {
		json_decref(body);
		dm_api_couriers_invalid(r, "invalid duty change", errors);
		return;
	}
	json_decref(errors);
	char now[24];
	dm_api_couriers_now(now);
	const char *params[] = {r->params[0], r->params[1], on_shift ? "true" : "false", reason,
				dm_admission_actor(r), now, r->cfg->promise.tz,
				dm_api_couriers_kind(r)->kind};
	(void)dm_req_pg_query(r,
			      "SELECT courier_duty_set($1, $2, $3::boolean, $4, $5, "
			      "$6::timestamptz, $7, $8)",
			      8, params, DM_REQ_PG_WRITE, dm_api_couriers_duty_done);
	json_decref(body); /* reason was borrowed from it until the query was sent */
}

#define DM_API_COURIERS_ROLES (DM_ROLE(ADMIN) | DM_ROLE(STATION))

static const struct dm_route dm_api_couriers_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/couriers",
	 .handler = dm_api_couriers_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/couriers",
	 .handler = dm_api_couriers_create,
	 .body_limit = DM_API_COURIERS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/couriers/{courier}",
	 .handler = dm_api_couriers_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_PATCH,
	 .pattern = "/v1/stations/{id}/couriers/{courier}",
	 .handler = dm_api_couriers_patch,
	 .body_limit = DM_API_COURIERS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_DELETE,
	 .pattern = "/v1/stations/{id}/couriers/{courier}",
	 .handler = dm_api_couriers_delete,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_PUT,
	 .pattern = "/v1/stations/{id}/couriers/{courier}/shifts",
	 .handler = dm_api_couriers_shifts,
	 .body_limit = DM_API_COURIERS_SHIFTS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/couriers/{courier}/duty",
	 .handler = dm_api_couriers_duty,
	 .body_limit = DM_API_COURIERS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/engineers",
	 .handler = dm_api_couriers_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/engineers",
	 .handler = dm_api_couriers_create,
	 .body_limit = DM_API_COURIERS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/engineers/{engineer}",
	 .handler = dm_api_couriers_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_PATCH,
	 .pattern = "/v1/stations/{id}/engineers/{engineer}",
	 .handler = dm_api_couriers_patch,
	 .body_limit = DM_API_COURIERS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_DELETE,
	 .pattern = "/v1/stations/{id}/engineers/{engineer}",
	 .handler = dm_api_couriers_delete,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_PUT,
	 .pattern = "/v1/stations/{id}/engineers/{engineer}/shifts",
	 .handler = dm_api_couriers_shifts,
	 .body_limit = DM_API_COURIERS_SHIFTS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/engineers/{engineer}/duty",
	 .handler = dm_api_couriers_duty,
	 .body_limit = DM_API_COURIERS_BODY_MAX,
	 .roles = DM_API_COURIERS_ROLES,
	 .scope_param = 1},
};

const struct dm_route_table dm_api_couriers_table = {
	dm_api_couriers_routes, sizeof dm_api_couriers_routes / sizeof dm_api_couriers_routes[0]};
