/* The service visits resource (docs/api.md, "Service visits"; issue 12):
 *
 *   POST /v1/services/{id}/events   arrived | started | completed (with the
 *                                   charges applied) | failed, with an
 *                                   Idempotency-Key header: engineer
 *   GET  /v1/services/{id}          the visit: engineer (own), station
 *                                   (scope), order_service, admin
 *
 * An engineer sees and reports only the visits assigned to them (anything
 * else is 404, as if it did not exist). This file checks the body
 * (api/visit_body.c) and maps the answer of service_event()
 * (data/sql/service_event.sql), which checks the charges against the
 * appointment's price list and does the rest in one transaction under the
 * appointment's row lock. A 200 answer of an event is the stored document,
 * so a replay is byte for byte the first answer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/handheld_answer.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/tables.h"
#include "daemon/api/visit_body.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"

#define DM_API_VISITS_BODY_MAX 8192

/* True for an appointment id's shape ("svc_" and 16 lower-case hex digits). */
static bool
dm_api_visits_valid_id(const char *id)
{
	return strlen(id) == 20 && strncmp(id, "svc_", 4) == 0 &&
	       strspn(id + 4, "0123456789abcdef") == 16;
}

/* The calling engineer's id (the token's one scope id), or NULL after
 * answering r 403. Borrowed from r's principal. */
static const char *
dm_api_visits_engineer(struct dm_req *r)
{
	const struct dm_tokens_principal *p = r->principal;
	if (p == NULL || p->role != DM_TOKEN_ENGINEER || p->scope.n != 1) {
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN, "only an engineer token reports visits",
			       NULL);
		return NULL;
	}
	return p->scope.ids[0];
}

/* ---- POST /v1/services/{id}/events ---- */

static void
dm_api_visits_event_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	static const struct dm_api_handheld_answer how = {"visit", "no such visit of yours"};
	dm_api_handheld_answer(r, reply, &how);
}

static void
dm_api_visits_event(struct dm_req *r)
{
	int64_t now_ms;
	int32_t offset_s;
	char at[32], comp[32], offset[16], cutoff_h[16];
	const char *me = dm_api_visits_engineer(r);
	if (me == NULL)
		return;
	if (!dm_api_visits_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such visit of yours", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(errors, key, true);
	json_t *ev = dm_visit_body_event(body, errors);
	json_decref(body);
	if (json_array_size(errors) > 0) {
		json_decref(ev);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid visit event",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	char *req = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(ev);
	if (req == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_clock_now_ms(&now_ms, &offset_s);
	snprintf(at, sizeof at, "%" PRId64, now_ms);
	snprintf(comp, sizeof comp, "%" PRId64, r->cfg->cfg->services_late_compensation_fen);
	snprintf(offset, sizeof offset, "%" PRId32, offset_s);
	snprintf(cutoff_h, sizeof cutoff_h, "%d", r->cfg->cfg->services_change_cutoff_h);
	const char *params[] = {me, r->params[0], key, req, at, comp, offset,
				r->cfg->cfg->promise_timezone, cutoff_h};
	(void)dm_req_pg_query(
		r,
		"SELECT a->>'r', (a->'service')::text, a->>'current', a->>'field', a->>'message' "
		"FROM service_event($1, $2, $3, $4::jsonb, to_timestamp($5::float8 / 1000), "
		"$6::bigint, $7::integer, $8, $9::integer) AS a",
		9, params, DM_REQ_PG_WRITE, dm_api_visits_event_done);
	free(req);
}

/* ---- GET /v1/services/{id} ---- */

static void
dm_api_visits_get_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such resource");
}

static void
dm_api_visits_get(struct dm_req *r)
{
	const struct dm_tokens_principal *p = r->principal;
	if (p == NULL || !dm_api_visits_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
		return;
	}
	/* The scope in SQL: an engineer its own visits, a station its stations'. */
	json_t *ids = json_array();
	for (size_t i = 0; i < p->scope.n; i++)
		json_array_append_new(ids, json_string(p->scope.ids[i]));
	char *scope = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	if (scope == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	char cutoff_h[16];
	snprintf(cutoff_h, sizeof cutoff_h, "%d", r->cfg->cfg->services_change_cutoff_h);
	const char *params[] = {r->params[0], dm_token_role_name(p->role), scope,
				r->cfg->cfg->promise_timezone, cutoff_h};
	(void)dm_req_pg_query(r,
			      "SELECT service_appointment_doc(id, $4, $5::integer) "
			      "FROM service_appointments "
			      "WHERE id = $1 AND ($2 IN ('admin', 'order_service') "
			      "OR $2 = 'engineer' AND engineer_id = $3::jsonb->>0 "
			      "OR $2 = 'station' AND $3::jsonb ? station_id)",
			      5, params, DM_REQ_PG_READ, dm_api_visits_get_done);
	free(scope);
}

static const struct dm_route dm_api_visits_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/services/{id}",
	 .handler = dm_api_visits_get,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE) | DM_ROLE(STATION) | DM_ROLE(ENGINEER)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/services/{id}/events",
	 .handler = dm_api_visits_event,
	 .body_limit = DM_API_VISITS_BODY_MAX,
	 .roles = DM_ROLE(ENGINEER)},
};

const struct dm_route_table dm_api_visits_table = {
	dm_api_visits_routes, sizeof dm_api_visits_routes / sizeof dm_api_visits_routes[0]};
