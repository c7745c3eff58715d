/* The webhooks resource: subscriptions of order_service clients to their
 * orders' shipment events (GET, POST /v1/webhooks; GET, DELETE
 * /v1/webhooks/{id}), and the admins' view of the outbox (GET
 * /v1/admin/webhook-deliveries, POST /v1/admin/webhook-deliveries/{id}/retry).
 * A subscription's owner is the token that created it (an admin may name
 * another owner): an order_service token sees and deletes only its own
 * (anything else is 404, as if it did not exist); an admin sees all. The
 * signing secret is made here (libsodium's CSPRNG) and shown once, in the
 * creation's answer. Sending is svc/webhook_sender.c's; what gets queued is
 * the trigger's (data/sql/webhook_outbox_add.sql). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/admission.h"
#include "daemon/api/access_body.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/token.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"
#include "daemon/svc/webhook_sender.h"

#define DM_API_WEBHOOKS_SECRET_BYTES 32
#define DM_API_WEBHOOKS_BODY_MAX 8192
#define DM_API_WEBHOOKS_LIST_MAX 500

_Static_assert(DM_ACCESS_BODY_URL_MAX == DM_WEBHOOK_SENDER_URL_MAX,
	       "a subscription's URL is one the sender takes");

#define DM_API_WEBHOOKS_TS(col)                                                                  \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A subscription as its API document (never the secret). */
#define DM_API_WEBHOOKS_DOC                                                                      \
	"jsonb_build_object('id', w.id, 'owner', w.owner, 'url', w.url, 'events', "              \
	"to_jsonb(w.events), 'created_by', w.created_by, 'created_at', "                          \
	DM_API_WEBHOOKS_TS("w.created_at") ")"
/* A delivery (outbox row d of subscription w) as the admins see it. */
#define DM_API_WEBHOOKS_DELIVERY_DOC                                                             \
	"jsonb_build_object('id', d.id, 'webhook', d.webhook_id, 'owner', w.owner, 'url', w.url, " \
	"'event', d.event, 'event_id', d.event_id, 'status', d.status, 'attempts', d.attempts, "  \
	"'last_status', d.last_status, 'last_error', d.last_error, 'last_at', "                   \
	DM_API_WEBHOOKS_TS("d.last_at") ", 'next_at', CASE WHEN d.status = 'pending' THEN "      \
	DM_API_WEBHOOKS_TS("d.next_at") " END, 'delivered_at', "                                  \
	DM_API_WEBHOOKS_TS("d.delivered_at") ", 'created_at', "                                   \
	DM_API_WEBHOOKS_TS("d.created_at") ", 'body', d.body::jsonb)"

static bool
dm_api_webhooks_is_admin(const struct dm_req *r)
{
	const struct dm_tokens_principal *p = r->principal;
	return p != NULL && p->role == DM_TOKEN_ADMIN;
}

/* The owner r may see: "" for an admin (everyone's), else the caller. */
static const char *
dm_api_webhooks_scope(const struct dm_req *r)
{
	return dm_api_webhooks_is_admin(r) ? "" : dm_admission_actor(r);
}

/* A subscription id: "wh_" and 16 lowercase hex digits. */
static bool
dm_api_webhooks_valid_id(const char *id)
{
	if (strncmp(id, "wh_", 3) != 0 || strlen(id) != 19)
		return false;
	for (const char *c = id + 3; *c != '\0'; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return true;
}

/* A delivery id: a positive decimal of at most 18 digits. */
static bool
dm_api_webhooks_valid_delivery(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > 18 || id[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (id[i] < '0' || id[i] > '9')
			return false;
	return true;
}

static void
dm_api_webhooks_pg_failed(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (strcmp(reply->sqlstate, "42P01") == 0 || strcmp(reply->sqlstate, "42883") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_READY,
			       "the schema is not migrated: run dispatchctl migrate", NULL);
		return;
	}
	if (!reply->unavailable)
		dm_log_error("pg", "%s webhooks query failed: %s", r->id, reply->error);
	dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
}

static void
dm_api_webhooks_doc_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (dm_req_answered(r))
		return;
	if (!reply->ok)
		dm_api_webhooks_pg_failed(r, reply);
	else
		dm_req_reply_pg_doc(r, reply, "no such webhook");
}

/* ---- POST /v1/webhooks ---- */

static void
dm_api_webhooks_create_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (dm_req_answered(r))
		return;
	if (!reply->ok || PQntuples(reply->res) != 1) {
		dm_api_webhooks_pg_failed(r, reply);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "Cache-Control", "no-store");
	dm_req_reply(r, 201, "application/json", PQgetvalue(reply->res, 0, 0),
		     (size_t)PQgetlength(reply->res, 0, 0));
}

static void
dm_api_webhooks_create(struct dm_req *r)
{
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *owner;
	json_t *events = dm_access_body_webhook(body, dm_api_webhooks_is_admin(r), &owner, errors);
	if (events == NULL) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid webhook",
			       json_pack("{s:o}", "errors", errors));
		json_decref(body);
		return;
	}
	json_decref(errors);
	if (owner == NULL)
		owner = dm_admission_actor(r);
	unsigned char raw[DM_API_WEBHOOKS_SECRET_BYTES], idraw[8];
	char secret[8 + sodium_base64_ENCODED_LEN(DM_API_WEBHOOKS_SECRET_BYTES,
						  sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	char id[4 + 2 * sizeof idraw];
	randombytes_buf(raw, sizeof raw);
	randombytes_buf(idraw, sizeof idraw);
	memcpy(secret, "whsec_", 6);
	sodium_bin2base64(secret + 6, sizeof secret - 6, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	memcpy(id, "wh_", 3);
	sodium_bin2hex(id + 3, sizeof id - 3, idraw, sizeof idraw);
	char *events_text = json_dumps(events, JSON_COMPACT);
	json_decref(events);
	if (events_text == NULL) {
		json_decref(body);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	const char *params[] = {id, owner, json_string_value(json_object_get(body, "url")),
				events_text, secret, dm_admission_actor(r)};
	(void)dm_req_pg_query(
		r,
		"WITH w AS (INSERT INTO webhooks (id, owner, url, events, secret, created_by) "
		"VALUES ($1, $2, $3, ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5, $6) "
		"RETURNING *) SELECT " DM_API_WEBHOOKS_DOC " || jsonb_build_object('secret', "
		"w.secret) FROM w",
		6, params, DM_REQ_PG_WRITE, dm_api_webhooks_create_done);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(secret, sizeof secret);
	free(events_text);
	json_decref(body);
}

/* ---- GET /v1/webhooks, GET and DELETE /v1/webhooks/{id} ---- */

static void
dm_api_webhooks_list(struct dm_req *r)
{
	const char *owner = dm_req_query(r, "owner");
	if (owner == NULL || !dm_api_webhooks_is_admin(r))
		owner = dm_api_webhooks_scope(r);
	const char *params[] = {owner};
	(void)dm_req_pg_query(r,
			      "SELECT jsonb_build_object('webhooks', coalesce(jsonb_agg(" DM_API_WEBHOOKS_DOC
			      " ORDER BY w.created_at, w.id), '[]'::jsonb)) FROM webhooks w "
			      "WHERE $1 = '' OR w.owner = $1",
			      1, params, DM_REQ_PG_READ, dm_api_webhooks_doc_done);
}

static void
dm_api_webhooks_get(struct dm_req *r)
{
	if (!dm_api_webhooks_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such webhook", NULL);
		return;
	}
	const char *params[] = {r->params[0], dm_api_webhooks_scope(r)};
	(void)dm_req_pg_query(r,
			      "SELECT " DM_API_WEBHOOKS_DOC " FROM webhooks w WHERE w.id = $1 "
			      "AND ($2 = '' OR w.owner = $2)",
			      2, params, DM_REQ_PG_READ, dm_api_webhooks_doc_done);
}

static void
dm_api_webhooks_delete_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (reply->ok && PQntuples(reply->res) == 1)
		dm_log_info("webhook", "%s subscription %s deleted by %s", r->id, r->params[0],
			    dm_admission_actor(r));
	if (dm_req_answered(r))
		return;
	if (!reply->ok)
		dm_api_webhooks_pg_failed(r, reply);
	else if (PQntuples(reply->res) != 1)
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such webhook", NULL);
	else
		dm_req_reply(r, 204, "application/json", "", 0);
}

static void
dm_api_webhooks_delete(struct dm_req *r)
{
	if (!dm_api_webhooks_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such webhook", NULL);
		return;
	}
	const char *params[] = {r->params[0], dm_api_webhooks_scope(r)};
	(void)dm_req_pg_query(r,
			      "DELETE FROM webhooks w WHERE w.id = $1 AND ($2 = '' OR w.owner = $2) "
			      "RETURNING w.id",
			      2, params, DM_REQ_PG_WRITE, dm_api_webhooks_delete_done);
}

/* ---- GET /v1/admin/webhook-deliveries ---- */

static void
dm_api_webhooks_deliveries(struct dm_req *r)
{
	json_t *errors = json_array();
	const char *status = dm_req_query(r, "status");
	if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
	    strcmp(status, "dead") != 0)
		dm_field_errors_add(errors, "status", "must be pending, delivered or dead");
	const char *webhook = dm_req_query(r, "webhook");
	if (webhook != NULL && !dm_api_webhooks_valid_id(webhook))
		dm_field_errors_add(errors, "webhook", "must be a webhook id");
	const char *before = dm_req_query(r, "before");
	if (before != NULL && !dm_api_webhooks_valid_delivery(before))
		dm_field_errors_add(errors, "before", "must be a delivery id");
	const char *limit = dm_req_query(r, "limit");
	char *end = NULL;
	long n = limit != NULL ? strtol(limit, &end, 10) : 100;
	if (limit != NULL && (*end != '\0' || n < 1 || n > DM_API_WEBHOOKS_LIST_MAX))
		dm_field_errors_add(errors, "limit", "must be an integer in 1..500");
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	char lim[16];
	snprintf(lim, sizeof lim, "%ld", n);
	const char *params[] = {status != NULL ? status : "", webhook != NULL ? webhook : "",
				before != NULL ? before : "", lim};
	/* Newest first; "next" is the before= of the following page (null at
	 * the end). */
	(void)dm_req_pg_query(
		r,
		"WITH page AS (SELECT " DM_API_WEBHOOKS_DELIVERY_DOC " AS doc, d.id "
		"FROM webhook_outbox d JOIN webhooks w ON w.id = d.webhook_id "
		"WHERE ($1 = '' OR d.status = $1) AND ($2 = '' OR d.webhook_id = $2) "
		"AND ($3 = '' OR d.id < $3::bigint) ORDER BY d.id DESC LIMIT $4::integer) "
		"SELECT jsonb_build_object('deliveries', coalesce((SELECT jsonb_agg(doc ORDER BY id "
		"DESC) FROM page), '[]'::jsonb), 'next', CASE WHEN (SELECT count(*) FROM page) = "
		"$4::integer THEN (SELECT min(id)::text FROM page) END)",
		4, params, DM_REQ_PG_READ, dm_api_webhooks_doc_done);
}

/* ---- POST /v1/admin/webhook-deliveries/{id}/retry ---- */

static void
dm_api_webhooks_retry_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (dm_req_answered(r))
		return;
	if (!reply->ok) {
		dm_api_webhooks_pg_failed(r, reply);
		return;
	}
	if (PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 1)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such delivery", NULL);
		return;
	}
	const char *before = PQgetvalue(reply->res, 0, 1);
	if (strcmp(PQgetvalue(reply->res, 0, 0), "0") == 0) {
		char detail[96];
		snprintf(detail, sizeof detail, "the delivery is %s: only a dead one is retried",
			 before);
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s}", "current_status", before));
		return;
	}
	dm_log_info("webhook", "%s delivery %s retried by %s", r->id, r->params[0],
		    dm_admission_actor(r));
	dm_req_reply_json(r, 200, json_pack("{s:s,s:s}", "id", r->params[0], "status", "pending"));
}

static void
dm_api_webhooks_retry(struct dm_req *r)
{
	if (!dm_api_webhooks_valid_delivery(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such delivery", NULL);
		return;
	}
	int64_t now_s;
	int32_t off_s;
	dm_clock_now(&now_s, &off_s);
	char now[24];
	snprintf(now, sizeof now, "%lld", (long long)now_s);
	const char *params[] = {r->params[0], now};
	/* One more attempt, due now; its window is still the event's, so if it
	 * fails it is dead again. */
	(void)dm_req_pg_query(
		r,
		"WITH u AS (UPDATE webhook_outbox SET status = 'pending', lease = NULL, "
		"next_at = to_timestamp($2::double precision) WHERE id = $1::bigint AND status = "
		"'dead' RETURNING id) SELECT (SELECT count(*) FROM u), (SELECT status FROM "
		"webhook_outbox WHERE id = $1::bigint)",
		2, params, DM_REQ_PG_WRITE, dm_api_webhooks_retry_done);
}

static const struct dm_route dm_api_webhooks_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/webhooks",
	 .handler = dm_api_webhooks_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/webhooks",
	 .handler = dm_api_webhooks_create,
	 .body_limit = DM_API_WEBHOOKS_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/webhooks/{id}",
	 .handler = dm_api_webhooks_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_DELETE,
	 .pattern = "/v1/webhooks/{id}",
	 .handler = dm_api_webhooks_delete,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/admin/webhook-deliveries",
	 .handler = dm_api_webhooks_deliveries,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/admin/webhook-deliveries/{id}/retry",
	 .handler = dm_api_webhooks_retry,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN)},
};

const struct dm_route_table dm_api_webhooks_table = {
	dm_api_webhooks_routes, sizeof dm_api_webhooks_routes / sizeof dm_api_webhooks_routes[0]};
