/* The returns resource (issue 12 part P4; docs/api.md, "Returns"):
 *
 *   POST /v1/orders/{id}/returns        request a return of delivered lines
 *                                       with a pickup wave (order_service,
 *                                       admin; optional Idempotency-Key)
 *   GET  /v1/orders/{id}/returns        the order's returns
 *   GET  /v1/returns/{id}               one return (also station and
 *                                       warehouse tokens of its station or
 *                                       warehouse)
 *   POST /v1/returns/{id}/scans         arrived_at_station, departed_station
 *                                       (station), received_at_warehouse
 *                                       (warehouse)
 *   POST /v1/returns/{id}/inspection    passed/failed per line (warehouse):
 *                                       passed lines go back into stock
 *
 * This file checks bodies, hands PostgreSQL what the config snapshot says
 * (the [returns] policies and the pickup waves offered now) and maps the
 * answers; the rules run in one transaction each in data/sql/return_*.sql
 * (the window, the quantities left, the refund policy, the pickup stop, the
 * scans' transitions and scope, the restocking with its ledger rows). The
 * pickup stop is planned with the deliveries by svc/wave_planner.c and
 * collected through POST /v1/stops/{id}/events (data/sql/stop_event.sql). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/api/admission.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/api/returns_body.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"
#include "warehouse/capacity.h"
#include "warehouse/civil.h"
#include "warehouse/promise.h"

#define DM_API_RETURNS_BODY_MAX 16384
#define DM_API_RETURNS_DAYS_MAX 31     /* pickup days offered at most */

/* True for a return id's shape ("ret_" and 16 lower-case hex digits). */
static bool
dm_api_returns_valid_id(const char *id)
{
	return strlen(id) == 20 && strncmp(id, "ret_", 4) == 0 &&
	       strspn(id + 4, "0123456789abcdef") == 16;
}

/* The caller's role name and scope ids (a JSON array text, owned by the
 * caller: free()). */
static char *
dm_api_returns_scope(const struct dm_req *r, const char **role)
{
	const struct dm_tokens_principal *p = r->principal;
	json_t *ids = json_array();
	*role = p != NULL ? dm_token_role_name(p->role) : "anonymous";
	for (size_t i = 0; p != NULL && i < p->scope.n; i++)
		json_array_append_new(ids, json_string(p->scope.ids[i]));
	char *text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	return text;
}

/* The answer of a return_* function: (r, document text) of its one row, or
 * NULL after answering 503. */
static json_t *
dm_api_returns_answer(struct dm_req *r, const struct dm_pg_reply *reply, const char *what)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1 && !PQgetisnull(reply->res, 0, 0))
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (res == NULL && !dm_req_answered(r)) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s %s failed: %s", r->id, what,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	}
	return res;
}

/* The answers every return_* function may give besides its own. */
static void
dm_api_returns_common(struct dm_req *r, json_t *res, int ok_status)
{
	const char *what = json_string_value(json_object_get(res, "r"));
	const char *cur = json_string_value(json_object_get(res, "current"));
	char detail[160];
	if (what == NULL) {
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	} else if (strcmp(what, "ok") == 0) {
		dm_req_reply_json(r, ok_status, json_incref(json_object_get(res, "return")));
	} else if (strcmp(what, "not_found") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
	} else if (strcmp(what, "forbidden") == 0) {
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN, "this role may not scan this event", NULL);
	} else if (strcmp(what, "illegal") == 0) {
		snprintf(detail, sizeof detail, "the return is %s", cur != NULL ? cur : "?");
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s}", "current_status", cur != NULL ? cur : ""));
	} else if (strcmp(what, "invalid") == 0) {
		const char *field = json_string_value(json_object_get(res, "field"));
		const char *msg = json_string_value(json_object_get(res, "message"));
		snprintf(detail, sizeof detail, "invalid %s", field != NULL ? field : "?");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field",
					 field != NULL ? field : "", "message",
					 msg != NULL ? msg : ""));
	} else {
		dm_log_error("pg", "%s returns: unexpected answer %s", r->id, what);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
}

/* ---- POST /v1/orders/{id}/returns ---- */

static json_t *
dm_api_returns_policy(const struct cfg_return_policy *p)
{
	return json_pack("{s:i,s:i,s:I}", "window_days", p->window_days, "defect_window_days",
			 p->defect_window_days, "quick_refund_max_fen",
			 (json_int_t)p->quick_refund_max_fen);
}

/* The [returns] policies as return_window takes them. */
static json_t *
dm_api_returns_policies(const struct cfg *cfg)
{
	json_t *cats = json_object();
	for (int i = 0; i < cfg->n_return_policies; i++)
		json_object_set_new(cats, cfg->return_policies[i].category,
				    dm_api_returns_policy(&cfg->return_policies[i]));
	return json_pack("{s:o,s:o}", "default", dm_api_returns_policy(&cfg->returns_default),
			 "categories", cats);
}

/* The pickup waves offered now: every wave of today (starting after now_s)
 * up to pickup_days_ahead days ahead, as [{"key","start","end"}] with local
 * RFC 3339 times. */
static json_t *
dm_api_returns_waves(const struct wh_promise_config *cfg, int days_ahead, int64_t now_s,
		     int32_t offset_s)
{
	json_t *out = json_array();
	size_t n, idx[WH_PROMISE_MAX_WAVES];
	const struct wh_wave *waves = wh_promise_station_waves(cfg, NULL, &n);
	int64_t today = wh_civil_day(wh_civil_from_utc(now_s, offset_s));
	if (days_ahead < 0)
		days_ahead = 0;
	if (days_ahead > DM_API_RETURNS_DAYS_MAX)
		days_ahead = DM_API_RETURNS_DAYS_MAX;
	for (int64_t day = today; day <= today + days_ahead; day++) {
		size_t k = wh_promise_day_waves(waves, n, day, idx);
		for (size_t i = 0; i < k; i++) {
			const struct wh_wave *w = &waves[idx[i]];
			int64_t start = wh_civil_to_utc(wh_civil_at(day, w->start_s), offset_s);
			struct wh_capacity_ref ref = {.kind = WH_CAPACITY_WAVE, .day = day,
						      .start_s = w->start_s, .end_s = w->end_s};
			char key[WH_CAPACITY_KEY_LEN];
			char s[WH_CIVIL_RFC3339_LEN], e[WH_CIVIL_RFC3339_LEN];
			int64_t local_start = wh_civil_at(day, w->start_s);
			int64_t local_end = wh_civil_at(day, w->end_s);
			if (start <= now_s || wh_capacity_key(&ref, key, sizeof key) == 0 ||
			    wh_civil_format(local_start, offset_s, s, sizeof s) == 0 ||
			    wh_civil_format(local_end, offset_s, e, sizeof e) == 0)
				continue;
			json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "key", key, "start",
							     s, "end", e));
		}
	}
	return out;
}

static void
dm_api_returns_create_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = dm_api_returns_answer(r, reply, "return request");
	if (res == NULL || dm_req_answered(r))
		goto out;
	const char *what = json_string_value(json_object_get(res, "r"));
	if (what != NULL && strcmp(what, "ok") == 0) {
		dm_api_returns_common(r, res,
				      json_is_true(json_object_get(res, "replay")) ? 200 : 201);
	} else if (what != NULL && strcmp(what, "closed") == 0) {
		json_t *extra = json_deep_copy(res);
		json_object_del(extra, "r");
		char detail[160];
		const char *end = json_string_value(json_object_get(res, "window_end"));
		snprintf(detail, sizeof detail,
			 "the return window (window_days: %" JSON_INTEGER_FORMAT ") closed at %s",
			 json_integer_value(json_object_get(res, "window_days")),
			 end != NULL ? end : "?");
		dm_req_problem(r, DM_PROBLEM_RETURN_WINDOW_CLOSED, detail, extra);
	} else if (what != NULL && strcmp(what, "not_delivered") == 0) {
		const char *st = json_string_value(json_object_get(res, "status"));
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION,
			       "the order is not delivered: nothing to return yet",
			       json_pack("{s:s}", "current_status", st != NULL ? st : ""));
	} else if (what != NULL && strcmp(what, "wave") == 0) {
		dm_req_problem(r, DM_PROBLEM_SLOT_NOT_OFFERED, "the pickup wave is not offered",
			       json_pack("{s:O}", "offered", json_object_get(res, "offered")));
	} else if (what != NULL && strcmp(what, "mismatch") == 0) {
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED,
			       "the Idempotency-Key was used for another return", NULL);
	} else {
		dm_api_returns_common(r, res, 200);
	}
out:
	json_decref(res);
}

static void
dm_api_returns_create(struct dm_req *r)
{
	int64_t now_ms;
	int32_t offset_s;
	char at[32];
	if (!dm_order_body_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(errors, key, false);
	json_t *req = dm_returns_body_request(body, errors);
	json_decref(body);
	if (json_array_size(errors) > 0) {
		json_decref(req);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid return",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	dm_clock_now_ms(&now_ms, &offset_s);
	const struct cfg *cfg = r->cfg->cfg;
	json_t *pol = dm_api_returns_policies(cfg);
	json_t *waves = dm_api_returns_waves(&r->cfg->promise, cfg->returns_pickup_days_ahead,
					     now_ms / 1000, offset_s);
	char *req_text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
	char *pol_text = json_dumps(pol, JSON_COMPACT);
	char *waves_text = json_dumps(waves, JSON_COMPACT);
	json_decref(req);
	json_decref(pol);
	json_decref(waves);
	if (req_text == NULL || pol_text == NULL || waves_text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		goto out;
	}
	snprintf(at, sizeof at, "%" PRId64, now_ms);
	const char *params[] = {r->params[0], req_text, key != NULL ? key : "", pol_text,
				waves_text, at, dm_admission_actor(r)};
	(void)dm_req_pg_query(r,
			      "SELECT return_request($1, $2::jsonb, nullif($3, ''), $4::jsonb, "
			      "$5::jsonb, to_timestamp($6::float8 / 1000), $7)",
			      7, params, DM_REQ_PG_WRITE, dm_api_returns_create_done);
out:
	free(req_text);
	free(pol_text);
	free(waves_text);
}

/* ---- GET /v1/orders/{id}/returns, GET /v1/returns/{id} ---- */

static void
dm_api_returns_doc_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such resource");
}

static void
dm_api_returns_list(struct dm_req *r)
{
	if (!dm_order_body_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
		return;
	}
	const char *params[] = {r->params[0]};
	(void)dm_req_pg_query(r,
			      "SELECT jsonb_build_object('order', o.id, 'returns', "
			      "aftersales_returns_doc(o.id, false)) FROM orders o WHERE o.id = $1",
			      1, params, DM_REQ_PG_READ, dm_api_returns_doc_done);
}

static void
dm_api_returns_get(struct dm_req *r)
{
	const char *role;
	if (!dm_api_returns_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such return", NULL);
		return;
	}
	char *scope = dm_api_returns_scope(r, &role);
	if (scope == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	/* A station or warehouse token sees its stations' or warehouses'
	 * returns only: another is 404, as if it did not exist. */
	const char *params[] = {r->params[0], role, scope};
	(void)dm_req_pg_query(
		r,
		"SELECT return_doc(x.id, false) FROM returns x WHERE x.id = $1 "
		"AND ($2 NOT IN ('station', 'warehouse') "
		"OR $2 = 'station' AND x.station_id IN "
		"(SELECT jsonb_array_elements_text($3::jsonb)) "
		"OR $2 = 'warehouse' AND x.warehouse_id IN "
		"(SELECT jsonb_array_elements_text($3::jsonb)))",
		3, params, DM_REQ_PG_READ, dm_api_returns_doc_done);
	free(scope);
}

/* ---- POST /v1/returns/{id}/scans and /inspection ---- */

static void
dm_api_returns_write_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = dm_api_returns_answer(r, reply, "return write");
	if (res != NULL && !dm_req_answered(r))
		dm_api_returns_common(r, res, 200);
	json_decref(res);
}

/* Send fn(return, body, role, scope, actor, now) for r. */
static void
dm_api_returns_write(struct dm_req *r, const char *sql, const char *arg)
{
	const char *role;
	int64_t now_s;
	int32_t offset_s;
	char at[32];
	char *scope = dm_api_returns_scope(r, &role);
	if (scope == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_clock_now(&now_s, &offset_s);
	snprintf(at, sizeof at, "%" PRId64, now_s);
	const char *params[] = {r->params[0], arg, role, scope, dm_admission_actor(r), at};
	(void)dm_req_pg_query(r, sql, 6, params, DM_REQ_PG_WRITE, dm_api_returns_write_done);
	free(scope);
}

static void
dm_api_returns_scan(struct dm_req *r)
{
	if (!dm_api_returns_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such return", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *ev = dm_returns_body_scan(body, errors);
	if (ev == NULL) {
		json_decref(body);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid scan",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	dm_api_returns_write(r,
			     "SELECT return_scan($1, $2, $3, "
			     "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5, "
			     "to_timestamp($6::float8))",
			     ev);
	json_decref(body);
}

static void
dm_api_returns_inspect(struct dm_req *r)
{
	if (!dm_api_returns_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such return", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	json_t *lines = dm_returns_body_inspection(body, errors);
	json_decref(body);
	if (json_array_size(errors) > 0) {
		json_decref(lines);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid inspection",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	char *text = json_dumps(lines, JSON_COMPACT);
	json_decref(lines);
	if (text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_api_returns_write(r,
			     "SELECT return_inspect($1, $2::jsonb, $3, "
			     "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5, "
			     "to_timestamp($6::float8))",
			     text);
	free(text);
}

static const struct dm_route dm_api_returns_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/orders/{id}/returns",
	 .handler = dm_api_returns_create,
	 .body_limit = DM_API_RETURNS_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}/returns",
	 .handler = dm_api_returns_list,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/returns/{id}",
	 .handler = dm_api_returns_get,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE) | DM_ROLE(STATION) |
		  DM_ROLE(WAREHOUSE)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/returns/{id}/scans",
	 .handler = dm_api_returns_scan,
	 .body_limit = DM_API_RETURNS_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION) | DM_ROLE(WAREHOUSE)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/returns/{id}/inspection",
	 .handler = dm_api_returns_inspect,
	 .body_limit = DM_API_RETURNS_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(WAREHOUSE)},
};

const struct dm_route_table dm_api_returns_table = {
	dm_api_returns_routes, sizeof dm_api_returns_routes / sizeof dm_api_returns_routes[0]};
