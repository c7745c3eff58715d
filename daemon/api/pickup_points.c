/* The pickup points resource (issue 13 part C2; docs/api.md "Pickup
 * points"): the records of pickup points and lockers under
 * /v1/pickup-points[/{id}] (admin; a station for its own points; a
 * pickup_point token reads its own), parcels scanned in at a point
 * (.../arrivals: a unit of the point's capacity and a single-use pickup code)
 * and collected with their code (.../collections). This file checks bodies
 * and makes the random codes, handing SQL only their keyed hashes and sealed
 * boxes (daemon/base/pickup_code.h); the scope (outside it: 404, as if the point did
 * not exist), the capacity under the point's row lock and every state change
 * are decided in SQL (data/sql/pickup_*.sql). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config/cfg.h"
#include "daemon/api/admission.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/api/pickup_body.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/pickup_code.h"
#include "daemon/base/reload.h"
#include "daemon/base/token.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"

#define DM_API_PICKUP_BODY_MAX 4096
#define DM_API_PICKUP_CODES 8 /* candidate codes per arrival: SQL takes the first free one */

/* The caller's role name and scope ids (a JSON array text, owned by the
 * caller: free()). */
static char *
dm_api_pickup_scope(const struct dm_req *r, const char **role)
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

/* ---- answers ---- */

/* 422 with errors (stolen). */
static void
dm_api_pickup_invalid(struct dm_req *r, const char *what, json_t *errors)
{
	dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, what, json_pack("{s:o}", "errors", errors));
}


/* Map one pickup_*() answer {"r":...} to the reply: doc_member names the
 * document answered on ok (200) and created (201). */
static void
dm_api_pickup_answer(struct dm_req *r, const struct dm_pg_reply *reply, const char *doc_member)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1 && !PQgetisnull(reply->res, 0, 0))
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (dm_req_answered(r))
		goto out;
	const char *what = json_string_value(json_object_get(res, "r"));
	if (what == NULL) {
		if (!reply->ok && strcmp(reply->sqlstate, "42883") == 0)
			dm_req_problem(r, DM_PROBLEM_NOT_READY,
				       "the schema is not migrated: run dispatchctl migrate", NULL);
		else {
			if (reply->ok || !reply->unavailable)
				dm_log_error("pg", "%s pickup point query failed: %s", r->id,
					     reply->ok ? "unexpected result" : reply->error);
			dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed",
				       NULL);
		}
		goto out;
	}
	json_t *held = json_object_get(res, "held");
	if (strcmp(what, "ok") == 0 || strcmp(what, "created") == 0)
		dm_req_reply_json(r, what[0] == 'c' ? 201 : 200,
				  json_incref(json_object_get(res, doc_member)));
	else if (strcmp(what, "not_found") == 0)
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
	else if (strcmp(what, "exists") == 0)
		dm_req_problem(r, DM_PROBLEM_ALREADY_EXISTS, "a pickup point with this id exists",
			       NULL);
	else if (strcmp(what, "no_station") == 0) {
		json_t *errors = json_array();
		dm_field_errors_add(errors, "station", "no such station");
		dm_api_pickup_invalid(r, "invalid pickup point", errors);
	} else if (strcmp(what, "full") == 0)
		dm_req_problem(r, DM_PROBLEM_PICKUP_POINT_FULL,
			       "the pickup point has no free place for this parcel",
			       json_pack("{s:O*}", "held", held));
	else if (strcmp(what, "below_held") == 0 || strcmp(what, "holding") == 0)
		dm_req_problem(r, DM_PROBLEM_PICKUP_POINT_HOLDING,
			       json_object_get(res, "routed") != NULL
				       ? "the pickup point holds parcels or orders on their way"
				       : "the pickup point holds parcels this change leaves "
					 "without a place",
			       json_pack("{s:O*,s:O*}", "held", held, "routed",
					 json_object_get(res, "routed")));
	else if (strcmp(what, "retry") == 0) /* the point moved station meanwhile */
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE,
			       "the pickup point changed meanwhile: send the request again", NULL);
	else if (strcmp(what, "illegal") == 0) {
		const char *m = json_string_value(json_object_get(res, "message"));
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION,
			       m != NULL ? m : "not legal from the parcel's current state",
			       json_pack("{s:O*}", "current_status", json_object_get(res, "current")));
	} else if (strcmp(what, "mismatch") == 0) {
		json_t *errors = json_array();
		dm_field_errors_add(errors, "Idempotency-Key",
				    "already used for a collection with another code");
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED,
			       "the Idempotency-Key was used for another collection",
			       json_pack("{s:o}", "errors", errors));
	} else if (strcmp(what, "limited") == 0) {
		json_int_t after = json_integer_value(json_object_get(res, "retry_after"));
		dm_req_problem_after(r, DM_PROBLEM_RATE_LIMITED,
				     after > 0 && after <= 86400 ? (int)after : 1,
				     "too many wrong pickup codes: collections here are refused "
				     "until Retry-After",
				     NULL);
	}
	else if (strcmp(what, "invalid") == 0) {
		json_t *errors = json_array();
		dm_field_errors_add(errors, json_string_value(json_object_get(res, "field")),
				    json_string_value(json_object_get(res, "message")));
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED,
			       json_string_value(json_object_get(res, "message")),
			       json_pack("{s:o}", "errors", errors));
	} else {
		dm_log_error("pg", "%s pickup point query: unexpected answer %s", r->id, what);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
out:
	json_decref(res);
}

static void
dm_api_pickup_point_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_pickup_answer(r, reply, "point");
}

static void
dm_api_pickup_parcel_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_pickup_answer(r, reply, "parcel");
}

static void
dm_api_pickup_list_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such resource");
}

/* Run sql with params p[0..n-1] then role, scope, the actor and now
 * (seconds since the epoch) as the next four parameters. */
static void
dm_api_pickup_query(struct dm_req *r, const char *sql, const char *const *p, int n, bool write,
		    dm_req_pg_done_fn *done)
{
	const char *role;
	const char *params[12];
	_Static_assert(sizeof params / sizeof params[0] >= 8 + 4, "n <= 8 parameters, four more");
	int64_t now_s;
	int32_t offset_s;
	char now[32];
	char *scope = dm_api_pickup_scope(r, &role);
	if (scope == NULL || n > 8) {
		free(scope);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_clock_now(&now_s, &offset_s);
	snprintf(now, sizeof now, "%" PRId64, now_s);
	for (int i = 0; i < n; i++)
		params[i] = p[i];
	params[n] = role;
	params[n + 1] = scope;
	params[n + 2] = dm_admission_actor(r);
	params[n + 3] = now;
	(void)dm_req_pg_query(r, sql, n + 4, params, write ? DM_REQ_PG_WRITE : DM_REQ_PG_READ,
			      done);
	free(scope);
}

/* A path id that cannot be a point's is 404 before any query. */
static bool
dm_api_pickup_path_ok(struct dm_req *r)
{
	if (dm_token_scope_id_valid(r->params[0]))
		return true;
	dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
	return false;
}

/* ---- the records ---- */

static void
dm_api_pickup_points_save(struct dm_req *r, bool create)
{
	if (!create && !dm_api_pickup_path_ok(r))
		return;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	json_t *norm = dm_pickup_body_point(body, create, errors);
	json_decref(body);
	if (norm == NULL) {
		dm_api_pickup_invalid(r, "invalid pickup point", errors);
		return;
	}
	json_decref(errors);
	char *text = json_dumps(norm, JSON_COMPACT);
	json_decref(norm);
	if (text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	const char *p[] = {create ? NULL : r->params[0], text};
	dm_api_pickup_query(r,
			    "SELECT pickup_point_save($1, $2::jsonb, $3, "
			    "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), to_timestamp($6)) "
			    "WHERE $5::text IS NOT NULL",
			    p, 2, true, dm_api_pickup_point_done);
	free(text);
}

static void
dm_api_pickup_points_create(struct dm_req *r)
{
	dm_api_pickup_points_save(r, true);
}

static void
dm_api_pickup_points_update(struct dm_req *r)
{
	dm_api_pickup_points_save(r, false);
}

static void
dm_api_pickup_points_retire(struct dm_req *r)
{
	if (!dm_api_pickup_path_ok(r))
		return;
	const char *p[] = {r->params[0]};
	dm_api_pickup_query(r,
			    "SELECT pickup_point_retire($1, $2, "
			    "ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), to_timestamp($5)) "
			    "WHERE $4::text IS NOT NULL",
			    p, 1, true, dm_api_pickup_point_done);
}

static void
dm_api_pickup_points_get(struct dm_req *r)
{
	if (!dm_api_pickup_path_ok(r))
		return;
	const char *p[] = {r->params[0]};
	dm_api_pickup_query(r,
			    "SELECT CASE WHEN pickup_point_visible($1, $2, "
			    "ARRAY(SELECT jsonb_array_elements_text($3::jsonb))) "
			    "THEN jsonb_build_object('r', 'ok', 'point', pickup_point_doc($1)) "
			    "ELSE '{\"r\":\"not_found\"}'::jsonb END WHERE $4::text IS NOT NULL "
			    "AND $5::text IS NOT NULL",
			    p, 1, false, dm_api_pickup_point_done);
}

static void
dm_api_pickup_points_list(struct dm_req *r)
{
	const char *station = dm_req_query(r, "station");
	const char *retired = dm_req_query(r, "retired");
	json_t *errors = json_array();
	if (station != NULL && !dm_token_scope_id_valid(station))
		dm_field_errors_add(errors, "station", "must be a station id");
	if (retired != NULL && strcmp(retired, "true") != 0 && strcmp(retired, "false") != 0)
		dm_field_errors_add(errors, "retired", "must be true or false");
	if (json_array_size(errors) > 0) {
		dm_api_pickup_invalid(r, "invalid query", errors);
		return;
	}
	json_decref(errors);
	const char *p[] = {station, retired != NULL && strcmp(retired, "true") == 0 ? "t" : "f"};
	dm_api_pickup_query(r,
			    "SELECT pickup_points_list($3, "
			    "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $1, $2::boolean) "
			    "WHERE $5::text IS NOT NULL AND $6::text IS NOT NULL",
			    p, 2, false, dm_api_pickup_list_done);
}

/* ---- parcels ---- */

/* DM_API_PICKUP_CODES candidate codes (daemon/base/pickup_code.h) as two
 * PostgreSQL array literals of hex: their keyed hashes and their boxes. SQL
 * takes the first whose hash the point never had; the codes themselves are
 * wiped here and never leave the daemon. */
static void
dm_api_pickup_codes(const unsigned char key[DM_TOKEN_KEY_BYTES], char *hashes, size_t hcap,
		    char *boxes, size_t bcap)
{
	char code[DM_PICKUP_CODE_DIGITS + 1];
	unsigned char hash[DM_PICKUP_CODE_HASH_BYTES], box[DM_PICKUP_CODE_BOX_BYTES];
	size_t h = 0, b = 0;
	hashes[h++] = '{';
	boxes[b++] = '{';
	for (int i = 0; i < DM_API_PICKUP_CODES; i++) {
		dm_pickup_code_new(key, code, hash, box);
		if (i > 0) {
			hashes[h++] = ',';
			boxes[b++] = ',';
		}
		sodium_bin2hex(hashes + h, hcap - h, hash, sizeof hash);
		h += 2 * sizeof hash;
		sodium_bin2hex(boxes + b, bcap - b, box, sizeof box);
		b += 2 * sizeof box;
	}
	sodium_memzero(code, sizeof code);
	snprintf(hashes + h, hcap - h, "}");
	snprintf(boxes + b, bcap - b, "}");
}

/* No token key: no code can be made or checked (and no token either). */
static bool
dm_api_pickup_key_ok(struct dm_req *r)
{
	if (r->cfg->token_key_set)
		return true;
	dm_req_problem(r, DM_PROBLEM_NOT_READY, "no [auth] token_key_file is configured", NULL);
	return false;
}

static void
dm_api_pickup_arrivals(struct dm_req *r)
{
	char hashes[DM_API_PICKUP_CODES * (2 * DM_PICKUP_CODE_HASH_BYTES + 1) + 4];
	char boxes[DM_API_PICKUP_CODES * (2 * DM_PICKUP_CODE_BOX_BYTES + 1) + 4];
	char hold[16], key_id[2 * DM_PICKUP_CODE_KEY_ID_BYTES + 1];
	unsigned char id[DM_PICKUP_CODE_KEY_ID_BYTES];
	if (!dm_api_pickup_path_ok(r) || !dm_api_pickup_key_ok(r))
		return;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *size;
	const char *order = dm_pickup_body_arrival(body, &size, errors);
	if (order == NULL) {
		json_decref(body);
		dm_api_pickup_invalid(r, "invalid arrival", errors);
		return;
	}
	json_decref(errors);
	dm_api_pickup_codes(r->cfg->token_key, hashes, sizeof hashes, boxes, sizeof boxes);
	dm_pickup_code_key_id(r->cfg->token_key, id);
	sodium_bin2hex(key_id, sizeof key_id, id, sizeof id);
	snprintf(hold, sizeof hold, "%d", r->cfg->cfg->pickup_hold_days);
	const char *p[] = {r->params[0], order, size, hashes, boxes, key_id, hold};
	dm_api_pickup_query(r,
			    "SELECT pickup_arrival($1, $2, $3, $4::text[], $5::text[], $6, $7::int, "
			    "$8, ARRAY(SELECT jsonb_array_elements_text($9::jsonb)), $10, "
			    "to_timestamp($11))",
			    p, 7, true, dm_api_pickup_parcel_done);
	json_decref(body);
}

static void
dm_api_pickup_collections(struct dm_req *r)
{
	unsigned char hash[DM_PICKUP_CODE_HASH_BYTES];
	char hex[2 * DM_PICKUP_CODE_HASH_BYTES + 1], limits[64];
	if (!dm_api_pickup_path_ok(r) || !dm_api_pickup_key_ok(r))
		return;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(errors, key, true);
	const char *code = dm_pickup_body_collection(body, errors);
	if (json_array_size(errors) > 0) {
		json_decref(body);
		dm_api_pickup_invalid(r, "invalid collection", errors);
		return;
	}
	json_decref(errors);
	dm_pickup_code_hash(r->cfg->token_key, code, hash);
	sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
	const struct cfg *c = r->cfg->cfg;
	snprintf(limits, sizeof limits, "{%d,%d,%d,%d}", c->pickup_code_failures_per_token,
		 c->pickup_code_failures_token_window_s, c->pickup_code_failures_per_point,
		 c->pickup_code_failures_point_window_s);
	const char *p[] = {r->params[0], hex, key, limits};
	dm_api_pickup_query(r,
			    "SELECT pickup_collect($1, $2, $3, $4::int[], $5, "
			    "ARRAY(SELECT jsonb_array_elements_text($6::jsonb)), $7, "
			    "to_timestamp($8))",
			    p, 4, true, dm_api_pickup_parcel_done);
	json_decref(body);
}

static const struct dm_route dm_api_pickup_points_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/pickup-points",
	 .handler = dm_api_pickup_points_create,
	 .body_limit = DM_API_PICKUP_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/pickup-points",
	 .handler = dm_api_pickup_points_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION) | DM_ROLE(PICKUP_POINT)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/pickup-points/{id}",
	 .handler = dm_api_pickup_points_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION) | DM_ROLE(PICKUP_POINT)},
	{.methods = EVHTTP_REQ_PATCH,
	 .pattern = "/v1/pickup-points/{id}",
	 .handler = dm_api_pickup_points_update,
	 .body_limit = DM_API_PICKUP_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION)},
	{.methods = EVHTTP_REQ_DELETE,
	 .pattern = "/v1/pickup-points/{id}",
	 .handler = dm_api_pickup_points_retire,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/pickup-points/{id}/arrivals",
	 .handler = dm_api_pickup_arrivals,
	 .body_limit = DM_API_PICKUP_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION) | DM_ROLE(PICKUP_POINT)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/pickup-points/{id}/collections",
	 .handler = dm_api_pickup_collections,
	 .body_limit = DM_API_PICKUP_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION) | DM_ROLE(PICKUP_POINT)},
};

const struct dm_route_table dm_api_pickup_points_table = {
	dm_api_pickup_points_routes,
	sizeof dm_api_pickup_points_routes / sizeof dm_api_pickup_points_routes[0]};
