/* The stock resource: PUT /v1/warehouses/{id}/stock/{sku} sets the units on
 * hand (after receiving goods, or a count) and GET /v1/warehouses/{id}/stock
 * lists a warehouse's stock, a page at a time. The arithmetic (available
 * moves by the delta, never below what is reserved) is stock_set() in
 * data/sql/stock_set.sql, one statement under the row lock; this
 * file validates, calls it and maps the answer. Changes also refresh
 * intake's stock hints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/daemon.h"
#include "daemon/io/http.h"
#include "daemon/svc/stock_hints.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/api/admission.h"
#include "daemon/api/tables.h"
#include "daemon/api/warehouse_body.h"

#define DM_H_STOCK_PAGE_DEFAULT 200
#define DM_H_STOCK_PAGE_MAX 1000

static json_t *
dm_api_stock_doc(const json_t *s)
{
	return json_pack("{s:O,s:O,s:O,s:O,s:O}", "warehouse", json_object_get(s, "warehouse_id"),
			 "sku", json_object_get(s, "sku"), "on_hand", json_object_get(s, "on_hand"),
			 "reserved", json_object_get(s, "reserved"), "available",
			 json_object_get(s, "available"));
}

static void
dm_api_stock_put_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	const char *what = json_string_value(json_object_get(res, "r"));
	const json_t *s = json_object_get(res, "stock");
	struct dm_stock_hints *cache = dm_stock_hints_get(r->d);
	if (what != NULL && strcmp(what, "ok") == 0 && cache != NULL)
		dm_stock_hints_note(cache, r->params[0], r->params[1],
				     json_integer_value(json_object_get(s, "available")));
	if (dm_req_answered(r))
		goto out;
	if (what == NULL) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s setting stock failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	} else if (strcmp(what, "ok") == 0) {
		dm_req_reply_json(r, 200, dm_api_stock_doc(s));
	} else if (strcmp(what, "no_warehouse") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such warehouse", NULL);
	} else if (strcmp(what, "no_sku") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such SKU", NULL);
	} else {
		char detail[160];
		snprintf(detail, sizeof detail, "%lld units are reserved: on_hand cannot go below that",
			 (long long)json_integer_value(json_object_get(s, "reserved")));
		dm_req_problem(r, DM_PROBLEM_STOCK_RESERVED, detail, json_pack("{s:o}", "stock", dm_api_stock_doc(s)));
	}
out:
	json_decref(res);
}

static void
dm_api_stock_put(struct dm_req *r)
{
	char on_hand[24];
	if (!dm_order_body_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such warehouse", NULL);
		return;
	}
	if (!dm_order_body_valid_id(r->params[1])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such SKU", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	int64_t level;
	const char *why;
	int rc = dm_warehouse_body_stock(body, &level, &why, errors);
	if (rc != 0) {
		json_decref(body);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED,
			       rc == -3   ? "unknown members"
			       : rc == -2 ? "invalid reason"
					  : "invalid stock level",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	snprintf(on_hand, sizeof on_hand, "%lld", (long long)level);
	/* Who and why go to the stock ledger, in stock_set's transaction. */
	const char *params[] = {r->params[0], r->params[1], on_hand, dm_admission_actor(r),
				why};
	(void)dm_req_pg_query(r, "SELECT stock_set($1, $2, $3, $4, $5)", 5, params,
			      DM_REQ_PG_WRITE, dm_api_stock_put_done);
	json_decref(body);
}

static void
dm_api_stock_list_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *items = NULL;
	if (!reply->ok || PQntuples(reply->res) != 1) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		goto out;
	}
	if (strcmp(PQgetvalue(reply->res, 0, 0), "t") != 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such warehouse", NULL);
		goto out;
	}
	items = json_loads(PQgetvalue(reply->res, 0, 1), 0, NULL);
	long limit = strtol(PQgetvalue(reply->res, 0, 2), NULL, 10);
	if (!json_is_array(items)) {
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
		goto out;
	}
	/* The query reads one row past the page: only its presence says there
	 * is a next page, so an exactly full last page ends with next null. */
	size_t n = json_array_size(items);
	json_t *next = json_null();
	if (limit > 0 && (long)n > limit) {
		json_array_remove(items, (size_t)limit);
		next = json_incref(json_object_get(json_array_get(items, (size_t)limit - 1), "sku"));
	}
	dm_req_reply_json(r, 200, json_pack("{s:s,s:O,s:o}", "warehouse", r->params[0], "items",
					    items, "next", next));
out:
	json_decref(items);
}

/* The page size of a listing from its `limit` query value (NULL: the
 * default) into out as text. Returns 0, or -1 after adding the error. */
static int
dm_api_stock_limit(const char *limit_s, char out[16], json_t *errors)
{
	long n = DM_H_STOCK_PAGE_DEFAULT;
	if (limit_s != NULL) {
		char *end;
		n = strtol(limit_s, &end, 10);
		if (*limit_s == '\0' || *end != '\0' || n < 1 || n > DM_H_STOCK_PAGE_MAX) {
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "limit",
								"message", "must be an integer in 1..1000"));
			return -1;
		}
	}
	snprintf(out, 16, "%ld", n);
	return 0;
}

static void
dm_api_stock_list(struct dm_req *r)
{
	const char *after = dm_req_query(r, "after");
	char limit[16];
	if (!dm_order_body_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such warehouse", NULL);
		return;
	}
	json_t *errors = json_array();
	if (dm_api_stock_limit(dm_req_query(r, "limit"), limit, errors) != 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	const char *params[] = {r->params[0], after != NULL ? after : "", limit};
	(void)dm_req_pg_query(r,
			      "SELECT EXISTS (SELECT 1 FROM warehouses WHERE id = $1), "
			      "(SELECT coalesce(json_agg(json_build_object('sku', x.sku, 'on_hand', "
			      "x.on_hand, 'reserved', x.reserved, 'available', x.available) ORDER BY "
			      "x.sku), '[]') FROM (SELECT * FROM stock WHERE warehouse_id = $1 AND sku > $2 "
			      "ORDER BY sku LIMIT $3::integer + 1) AS x), $3",
			      3, params, DM_REQ_PG_READ, dm_api_stock_list_done);
}

/* ---- GET /v1/admin/stock-ledger ---- */

static void
dm_api_stock_ledger_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no ledger");
}

/* Stock changes, newest first: who (token id and label), when, what from and
 * to, why. Optional warehouse, sku, before (a seq, for the next page), limit. */
static void
dm_api_stock_ledger(struct dm_req *r)
{
	const char *wh = dm_req_query(r, "warehouse"), *sku = dm_req_query(r, "sku");
	const char *before = dm_req_query(r, "before");
	char limit[16], before_buf[24];
	long long b = 0;
	char *end;
	json_t *errors = json_array();
	(void)dm_api_stock_limit(dm_req_query(r, "limit"), limit, errors);
	if (before != NULL) {
		b = strtoll(before, &end, 10);
		if (*before == '\0' || *end != '\0' || b < 1)
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "before",
								"message", "must be a ledger seq (>= 1)"));
	}
	if (wh != NULL && !dm_order_body_valid_id(wh))
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "warehouse", "message",
							"not an id"));
	if (sku != NULL && !dm_order_body_valid_id(sku))
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "sku", "message",
							"not an id"));
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	snprintf(before_buf, sizeof before_buf, "%lld", b);
	const char *params[] = {wh != NULL ? wh : "", sku != NULL ? sku : "", before_buf, limit};
	(void)dm_req_pg_query(
		r,
		"SELECT json_build_object('entries', coalesce(json_agg(json_build_object('seq', x.seq, "
		"'at', to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
		"'actor', x.actor, 'actor_label', x.label, 'warehouse', x.warehouse_id, 'sku', x.sku, "
		"'old_on_hand', x.old_on_hand, 'new_on_hand', x.new_on_hand, 'reason', x.reason) "
		"ORDER BY x.seq DESC), '[]'), 'next', CASE WHEN count(*) = $4::integer THEN min(x.seq) "
		"END) FROM (SELECT l.*, t.label FROM stock_ledger l LEFT JOIN api_tokens t ON t.id = "
		"l.actor WHERE ($1 = '' OR l.warehouse_id = $1) AND ($2 = '' OR l.sku = $2) AND ($3 = "
		"'0' OR l.seq < $3::bigint) ORDER BY l.seq DESC LIMIT $4::integer) AS x",
		4, params, DM_REQ_PG_READ, dm_api_stock_ledger_done);
}

static const struct dm_route dm_api_stock_routes[] = {
	{.methods = EVHTTP_REQ_PUT,
	 .pattern = "/v1/warehouses/{id}/stock/{sku}",
	 .handler = dm_api_stock_put,
	 .body_limit = 4096,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(WAREHOUSE),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/warehouses/{id}/stock",
	 .handler = dm_api_stock_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(WAREHOUSE),
	 .scope_param = 1},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/admin/stock-ledger",
	 .handler = dm_api_stock_ledger,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN)},
};

const struct dm_route_table dm_api_stock_table = {
	dm_api_stock_routes, sizeof dm_api_stock_routes / sizeof dm_api_stock_routes[0]};
