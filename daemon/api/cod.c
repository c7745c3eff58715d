/* The cash-on-delivery hand-over resource (issue 13, part C1; docs/api.md,
 * "Cash on delivery"):
 *
 *   POST /v1/stations/{id}/couriers/{cid}/settlements   the cash a courier
 *        hands over for a day {day, handed, notes?} (station, admin;
 *        Idempotency-Key required): 201 with the settlement, balanced or
 *        open (a discrepancy)
 *   GET  /v1/stations/{id}/couriers/{cid}/settlements?day=YYYY-MM-DD
 *        expected vs handed of the courier's day, from the ledger
 *   POST /v1/stations/{id}/couriers/{cid}/settlements/{sid}/resolution
 *        {reason} resolves an open discrepancy (admin)
 *   GET  /v1/admin/cod-discrepancies?status=open|resolved   (admin)
 *   POST /v1/stations/{id}/couriers/{cid}/cod-corrections   a correction
 *        {day, amount (signed), reason, order?} (admin; Idempotency-Key
 *        required): 201 with the entry and the day recomputed (part M)
 *   GET  /v1/stations/{id}/couriers/{cid}/cod-ledger?day=YYYY-MM-DD
 *        the day's ledger rows with the running balance (station, admin)
 *
 * This file checks the bodies and maps the answers; the money is counted
 * in one transaction each by data/sql/cod_settle.sql, cod_resolve.sql and
 * cod_correct.sql over the append-only cod_ledger. Amounts are decimal strings ("12.30"),
 * integer fen inside; JSON numbers are refused. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config/cfg.h"
#include "daemon/api/admission.h"
#include "daemon/api/cod_body.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "warehouse/civil.h"

#define DM_API_COD_BODY_MAX 4096
#define DM_API_COD_LIST_MAX "500"           /* discrepancies listed at most */

/* The caller's path ids: station and courier. False after answering 404. */
static bool
dm_api_cod_ids(struct dm_req *r)
{
	if (!dm_order_body_valid_id(r->params[0]) || !dm_order_body_valid_id(r->params[1])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such courier at this station", NULL);
		return false;
	}
	return true;
}

static void
dm_api_cod_now(char *at, size_t len)
{
	int64_t now_ms;
	int32_t offset_s;
	dm_clock_now_ms(&now_ms, &offset_s);
	snprintf(at, len, "%" PRId64, now_ms);
}

/* The answer of cod_settle / cod_resolve / cod_correct: (r, document,
 * current); what names the request in the messages. */
static void
dm_api_cod_answer(struct dm_req *r, const struct dm_pg_reply *reply, int ok_status,
		  const char *not_found, const char *what)
{
	if (dm_req_answered(r))
		return;
	if (!reply->ok || PQntuples(reply->res) != 1 || PQnfields(reply->res) != 3 ||
	    PQgetisnull(reply->res, 0, 0)) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s %s failed: %s", r->id, what,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		return;
	}
	const char *answer = PQgetvalue(reply->res, 0, 0);
	char detail[96];
	if (strcmp(answer, "ok") == 0 && !PQgetisnull(reply->res, 0, 1)) {
		dm_req_reply(r, ok_status, "application/json", PQgetvalue(reply->res, 0, 1),
			     (size_t)PQgetlength(reply->res, 0, 1));
	} else if (strcmp(answer, "not_found") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, not_found, NULL);
	} else if (strcmp(answer, "mismatch") == 0) {
		snprintf(detail, sizeof detail, "the Idempotency-Key was used for another %s",
			 what);
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED, detail, NULL);
	} else if (strcmp(answer, "bad_order") == 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid correction",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "order", "message",
					 "is not an order of this courier's day"));
	} else if (strcmp(answer, "bad_settlement") == 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid correction",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "settlement",
					 "message",
					 "is not the day's open settlement of this courier, or "
					 "did not count the order's collection"));
	} else if (strcmp(answer, "illegal") == 0) {
		const char *cur = PQgetvalue(reply->res, 0, 2);
		snprintf(detail, sizeof detail, "the settlement is %s: nothing to resolve", cur);
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s}", "current_status", cur));
	} else {
		dm_log_error("pg", "%s %s: unexpected answer %s", r->id, what, answer);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
}

/* The start of a keyed write of a courier's day (a settlement, a
 * correction): the path's ids, the JSON body and the Idempotency-Key, its
 * error into *errors (a new array; the body's are api/cod_body.c's).
 * Returns the body (the caller's), or NULL after answering. */
static json_t *
dm_api_cod_keyed_begin(struct dm_req *r, json_t **errors, const char **key)
{
	if (!dm_api_cod_ids(r))
		return NULL;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return NULL;
	*errors = json_array();
	*key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(*errors, *key, true);
	return body;
}

/* True after answering 422 title with errors (body and errors freed);
 * false when there are none (errors freed, body kept). */
static bool
dm_api_cod_invalid(struct dm_req *r, json_t *body, json_t *errors, const char *title)
{
	if (json_array_size(errors) == 0) {
		json_decref(errors);
		return false;
	}
	json_decref(body);
	dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, title,
		       json_pack("{s:o}", "errors", errors));
	return true;
}

/* The end of a keyed write: req (the request as parsed, stored by the SQL
 * function to tell a replay from a mismatch) as compact sorted JSON to sql
 * with $1 station, $2 courier, $3 key, $4 req, $5 now (ms), $6 actor.
 * Frees req and body. */
static void
dm_api_cod_keyed_send(struct dm_req *r, json_t *body, json_t *req, const char *key,
		      const char *sql, dm_req_pg_done_fn *done)
{
	char at[32];
	char *text = req != NULL ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(req);
	json_decref(body);
	if (text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_api_cod_now(at, sizeof at);
	const char *params[] = {r->params[0], r->params[1], key, text, at, dm_admission_actor(r)};
	(void)dm_req_pg_query(r, sql, 6, params, DM_REQ_PG_WRITE, done);
	free(text);
}

static void
dm_api_cod_settle_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_cod_answer(r, reply, 201, "no such courier at this station", "settlement");
}

static void
dm_api_cod_settle(struct dm_req *r)
{
	json_t *errors;
	const char *key;
	json_t *body = dm_api_cod_keyed_begin(r, &errors, &key);
	if (body == NULL)
		return;
	json_t *req = dm_cod_body_settlement(body, errors);
	if (dm_api_cod_invalid(r, body, errors, "invalid settlement")) {
		json_decref(req);
		return;
	}
	dm_api_cod_keyed_send(r, body, req, key,
			      "SELECT a->>'r', (a->'settlement')::text, a->>'current' "
			      "FROM cod_settle($1, $2, $3, $4::jsonb, "
			      "to_timestamp($5::float8 / 1000), $6) AS a",
			      dm_api_cod_settle_done);
}

static void
dm_api_cod_day_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such courier at this station");
}

/* A read of one courier's day: the path's ids and ?day=, then sql with
 * $1 station, $2 courier, $3 day, answered by done. */
static void
dm_api_cod_day_read(struct dm_req *r, const char *sql, dm_req_pg_done_fn *done)
{
	if (!dm_api_cod_ids(r))
		return;
	const char *day = dm_req_query(r, "day");
	if (!dm_cod_body_day(day)) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "day", "message",
					 "must be a date YYYY-MM-DD (the shift's day)"));
		return;
	}
	const char *params[] = {r->params[0], r->params[1], day};
	(void)dm_req_pg_query(r, sql, 3, params, DM_REQ_PG_READ, done);
}

static void
dm_api_cod_day(struct dm_req *r)
{
	dm_api_cod_day_read(r, "SELECT cod_day_doc($1, $2, $3::date)::text", dm_api_cod_day_done);
}

static void
dm_api_cod_resolve_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_cod_answer(r, reply, 200, "no such settlement of this courier", "settlement");
}

static void
dm_api_cod_resolve(struct dm_req *r)
{
	char at[32];
	if (!dm_api_cod_ids(r))
		return;
	if (!dm_cod_body_settlement_id(r->params[2])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such settlement of this courier", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *reason = dm_cod_body_resolution(body, errors);
	if (dm_api_cod_invalid(r, body, errors, "invalid resolution"))
		return;
	dm_api_cod_now(at, sizeof at);
	const char *params[] = {r->params[0], r->params[1], r->params[2], reason, at,
				dm_admission_actor(r)};
	(void)dm_req_pg_query(r,
			      "SELECT a->>'r', (a->'settlement')::text, a->>'current' "
			      "FROM cod_resolve($1, $2, $3, $4, to_timestamp($5::float8 / 1000), "
			      "$6) AS a",
			      6, params, DM_REQ_PG_WRITE, dm_api_cod_resolve_done);
	json_decref(body);
}

static void
dm_api_cod_discrepancies_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no discrepancies");
}

static void
dm_api_cod_discrepancies(struct dm_req *r)
{
	const char *status = dm_req_query(r, "status");
	if (status != NULL && strcmp(status, "open") != 0 && strcmp(status, "resolved") != 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "status", "message",
					 "must be open or resolved"));
		return;
	}
	const char *params[] = {status, DM_API_COD_LIST_MAX};
	(void)dm_req_pg_query(r, "SELECT cod_discrepancies_doc($1, $2::integer)::text", 2, params,
			      DM_REQ_PG_READ, dm_api_cod_discrepancies_done);
}

static void
dm_api_cod_correct_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_cod_answer(r, reply, 201, "no such courier at this station", "correction");
}

static void
dm_api_cod_correct(struct dm_req *r)
{
	json_t *errors;
	const char *key;
	json_t *body = dm_api_cod_keyed_begin(r, &errors, &key);
	if (body == NULL)
		return;
	json_t *req = dm_cod_body_correction(body, errors);
	if (dm_api_cod_invalid(r, body, errors, "invalid correction")) {
		json_decref(req);
		return;
	}
	dm_api_cod_keyed_send(r, body, req, key,
			      "SELECT a->>'r', (a->'answer')::text, a->>'current' "
			      "FROM cod_correct($1, $2, $3, $4::jsonb, "
			      "to_timestamp($5::float8 / 1000), $6) AS a",
			      dm_api_cod_correct_done);
}

static void
dm_api_cod_ledger(struct dm_req *r)
{
	dm_api_cod_day_read(r, "SELECT cod_ledger_doc($1, $2, $3::date)::text",
			    dm_api_cod_day_done);
}

static const struct dm_route dm_api_cod_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/couriers/{cid}/settlements",
	 .handler = dm_api_cod_settle,
	 .body_limit = DM_API_COD_BODY_MAX,
	 .roles = DM_ROLE(STATION) | DM_ROLE(ADMIN),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/couriers/{cid}/settlements",
	 .handler = dm_api_cod_day,
	 .roles = DM_ROLE(STATION) | DM_ROLE(ADMIN),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/couriers/{cid}/settlements/{sid}/resolution",
	 .handler = dm_api_cod_resolve,
	 .body_limit = DM_API_COD_BODY_MAX,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/admin/cod-discrepancies",
	 .handler = dm_api_cod_discrepancies,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stations/{id}/couriers/{cid}/cod-corrections",
	 .handler = dm_api_cod_correct,
	 .body_limit = DM_API_COD_BODY_MAX,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/couriers/{cid}/cod-ledger",
	 .handler = dm_api_cod_ledger,
	 .roles = DM_ROLE(STATION) | DM_ROLE(ADMIN),
	 .scope_param = 1},
};

const struct dm_route_table dm_api_cod_table = {
	dm_api_cod_routes, sizeof dm_api_cod_routes / sizeof dm_api_cod_routes[0]};
