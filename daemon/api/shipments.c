/* The shipments resource: scans moving a shipment through its lifecycle
 * (warehouse/shipment.h). POST /v1/shipments/{order}/{seq}/events takes one
 * scan with an Idempotency-Key header; POST /v1/shipments/events takes up to
 * DM_WAREHOUSE_BODY_BATCH_MAX scans, each with its own key, in one PostgreSQL
 * round trip (a truck unloading at a station). The transition itself, the
 * caller's scope (a warehouse token sees only its warehouses' shipments, a
 * station token only its stations' orders: anything else is 404, as if it
 * did not exist), the event and the replay of a key are decided by
 * shipment_scan() under the shipment's row lock (data/sql/shipment_scan.sql);
 * this file checks the body (api/warehouse_body.c) and the role (403 for an
 * event the role may never scan) and maps the answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/admission.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/api/tables.h"
#include "daemon/api/warehouse_body.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/query_parse.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"
#include "warehouse/shipment.h"

#define DM_API_SHIPMENTS_BODY_MAX 4096
#define DM_API_SHIPMENTS_BATCH_BODY_MAX (DM_WAREHOUSE_BODY_BATCH_MAX * 512)

/* The caller's role name and scope ids (a JSON array text, owned by the
 * caller: free()). */
static char *
dm_api_shipments_scope(const struct dm_req *r, const char **role)
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

/* May r's caller scan event at all (whatever the shipment)? */
static bool
dm_api_shipments_role_may(const struct dm_req *r, const char *event)
{
	const struct dm_tokens_principal *p = r->principal;
	enum wh_shipment_state ev = WH_SHIPMENT_ALLOCATED;
	if (p == NULL || wh_shipment_state_parse(event, &ev) != WH_OK)
		return false;
	switch (p->role) {
	case DM_TOKEN_ADMIN:
		return wh_shipment_scan_allowed(WH_SHIPMENT_BY_ADMIN, ev);
	case DM_TOKEN_WAREHOUSE:
		return wh_shipment_scan_allowed(WH_SHIPMENT_BY_WAREHOUSE, ev);
	case DM_TOKEN_STATION:
		return wh_shipment_scan_allowed(WH_SHIPMENT_BY_STATION, ev);
	default:
		return false;
	}
}

/* The problem kind of one shipment_scan answer, or -1 for ok. */
static int
dm_api_shipments_kind(const json_t *answer)
{
	const char *what = json_string_value(json_object_get(answer, "r"));
	if (what == NULL)
		return DM_PROBLEM_INTERNAL;
	if (strcmp(what, "ok") == 0)
		return -1;
	if (strcmp(what, "illegal") == 0)
		return DM_PROBLEM_ILLEGAL_TRANSITION;
	if (strcmp(what, "not_found") == 0)
		return DM_PROBLEM_NOT_FOUND;
	if (strcmp(what, "forbidden") == 0)
		return DM_PROBLEM_FORBIDDEN;
	if (strcmp(what, "mismatch") == 0)
		return DM_PROBLEM_IDEMPOTENCY_KEY_REUSED;
	return DM_PROBLEM_INTERNAL;
}

/* ---- POST /v1/shipments/{order}/{seq}/events ---- */

static void
dm_api_shipments_scan_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (dm_req_answered(r))
		goto out;
	if (res == NULL) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s shipment scan failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		goto out;
	}
	int kind = dm_api_shipments_kind(res);
	const char *cur = json_string_value(json_object_get(res, "current"));
	char detail[160];
	switch (kind) {
	case -1:
		dm_req_reply_json(r, 200, json_incref(json_object_get(res, "shipment")));
		break;
	case DM_PROBLEM_ILLEGAL_TRANSITION:
		snprintf(detail, sizeof detail, "the shipment is %s", cur != NULL ? cur : "?");
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s}", "current_status", cur != NULL ? cur : ""));
		break;
	case DM_PROBLEM_NOT_FOUND:
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
		break;
	case DM_PROBLEM_FORBIDDEN:
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN, "this role may not scan this event", NULL);
		break;
	case DM_PROBLEM_IDEMPOTENCY_KEY_REUSED:
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED,
			       "the Idempotency-Key was used for another scan", NULL);
		break;
	default:
		dm_log_error("pg", "%s shipment scan: unexpected answer", r->id);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
out:
	json_decref(res);
}

static void
dm_api_shipments_scan(struct dm_req *r)
{
	struct dm_warehouse_body_scan s;
	int64_t now_s;
	int32_t off_s;
	char *end;
	long seq = strtol(r->params[1], &end, 10);
	if (!dm_order_body_valid_id(r->params[0]) || r->params[1][0] < '1' ||
	    r->params[1][0] > '9' || *end != '\0' || seq < 1 || seq > 32767) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(errors, key, true);
	/* No time given: the daemon's clock ([testing] clock in tests and the
	 * simulated day), not PostgreSQL's now(). */
	dm_clock_now(&now_s, &off_s);
	(void)dm_warehouse_body_scan(body, now_s, &s, errors);
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid scan",
			       json_pack("{s:o}", "errors", errors));
		json_decref(body);
		return;
	}
	json_decref(errors);
	if (!dm_api_shipments_role_may(r, s.event)) {
		char detail[128];
		snprintf(detail, sizeof detail, "this role may not scan %s", s.event);
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN, detail, NULL);
		json_decref(body);
		return;
	}
	const char *role;
	char *scope = dm_api_shipments_scope(r, &role);
	if (scope == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		json_decref(body);
		return;
	}
	const char *params[] = {r->params[0], r->params[1], s.event, s.at, s.place,
				dm_admission_actor(r), role, scope, key};
	(void)dm_req_pg_query(
		r,
		"SELECT shipment_scan($1, $2::integer, $3, nullif($4, '')::timestamptz, $5, $6, "
		"$7, ARRAY(SELECT jsonb_array_elements_text($8::jsonb)), $9)",
		9, params, DM_REQ_PG_WRITE, dm_api_shipments_scan_done);
	free(scope);
	json_decref(body);
}

/* ---- POST /v1/shipments/events ---- */

/* One result of the batch: the scan's order, seq and key, its HTTP status,
 * and the shipment (200) or the problem type (and current_status for 409). */
static json_t *
dm_api_shipments_result(const json_t *scan, const json_t *answer)
{
	json_t *out = json_pack("{s:O,s:O,s:O}", "order", json_object_get(scan, "order"), "seq",
				json_object_get(scan, "seq"), "key", json_object_get(scan, "key"));
	int kind = dm_api_shipments_kind(answer);
	if (kind < 0) {
		json_object_set_new(out, "status", json_integer(200));
		json_object_set(out, "shipment", json_object_get(answer, "shipment"));
		return out;
	}
	json_object_set_new(out, "status", json_integer(dm_problem_status((enum dm_problem)kind)));
	json_object_set_new(out, "type", json_string(dm_problem_type((enum dm_problem)kind)));
	if (kind == DM_PROBLEM_ILLEGAL_TRANSITION)
		json_object_set(out, "current_status", json_object_get(answer, "current"));
	return out;
}

static void
dm_api_shipments_batch_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL, *sent = NULL;
	if (reply->ok && PQntuples(reply->res) == 1 && PQnfields(reply->res) == 2) {
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
		sent = json_loads(PQgetvalue(reply->res, 0, 1), 0, NULL);
	}
	if (dm_req_answered(r))
		goto out;
	if (!json_is_array(res) || !json_is_array(sent) ||
	    json_array_size(res) != json_array_size(sent)) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s shipment scan batch failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		goto out;
	}
	json_t *results = json_array();
	for (size_t i = 0; i < json_array_size(res); i++)
		json_array_append_new(results, dm_api_shipments_result(json_array_get(sent, i),
								       json_array_get(res, i)));
	dm_req_reply_json(r, 200, json_pack("{s:o}", "results", results));
out:
	json_decref(res);
	json_decref(sent);
}

static void
dm_api_shipments_batch(struct dm_req *r)
{
	int64_t now_s;
	int32_t off_s;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	dm_clock_now(&now_s, &off_s);
	json_t *scans = dm_warehouse_body_batch(body, now_s, errors);
	json_decref(body);
	if (scans == NULL) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid scans",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	const char *role;
	char *scope = dm_api_shipments_scope(r, &role);
	char *text = json_dumps(scans, JSON_COMPACT);
	json_decref(scans);
	if (scope == NULL || text == NULL) {
		free(scope);
		free(text);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	/* The scans are sent back with the answers, so the results name them
	 * without keeping the body alive across the query. */
	const char *params[] = {text, dm_admission_actor(r), role, scope};
	(void)dm_req_pg_query(r,
			      "SELECT shipment_scan_batch($1::jsonb, $2, $3, "
			      "ARRAY(SELECT jsonb_array_elements_text($4::jsonb))), $1",
			      4, params, DM_REQ_PG_WRITE, dm_api_shipments_batch_done);
	free(scope);
	free(text);
}

static const struct dm_route dm_api_shipments_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/shipments/events",
	 .handler = dm_api_shipments_batch,
	 .body_limit = DM_API_SHIPMENTS_BATCH_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(WAREHOUSE) | DM_ROLE(STATION)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/shipments/{order}/{seq}/events",
	 .handler = dm_api_shipments_scan,
	 .body_limit = DM_API_SHIPMENTS_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(WAREHOUSE) | DM_ROLE(STATION)},
};

const struct dm_route_table dm_api_shipments_table = {
	dm_api_shipments_routes,
	sizeof dm_api_shipments_routes / sizeof dm_api_shipments_routes[0]};
