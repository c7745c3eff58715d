/* The tracking resource: GET /v1/orders/{id}/tracking (order_service,
 * admin: the full view, with the recipient and the stop's PIN) and the
 * public GET /v1/track/{code} (no token: the masked view of a tracking
 * code). Both documents are data/sql/order_tracking_doc.sql's, the one
 * place that decides what each view shows; this file checks the path,
 * picks the view, puts in a held pickup parcel's code for the order service
 * only (opened from its sealed box, daemon/base/pickup_code.h), and while
 * the parcel is out for delivery puts in the courier's live position from
 * Redis when it is newer (by device time) than PostgreSQL's
 * courier_positions row, which the handheld API updates at most every 30 s.
 * There is deliberately no write route under /v1/track: a tracking code can
 * never cancel or change an order. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "daemon/api/order_body.h"
#include "daemon/api/tables.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/pickup_code.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/rds.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"

/* The page, and while it has a live section the courier's id and the
 * device time (ms) of PostgreSQL's position of them (NULL when none); and
 * box, the sealed pickup code of the order's held parcel (hex; NULL when
 * none): only the order service's view shows the code (dm_api_tracking_code_in). */
#define DM_API_TRACKING_SQL(view, box, where)                                                   \
	"SELECT t.doc, c.courier_id, (SELECT (extract(epoch FROM p.at) * 1000)::bigint"         \
	"  FROM courier_positions p WHERE p.courier_id = c.courier_id), " box                    \
	" FROM orders o, LATERAL (SELECT order_tracking_doc(o.id, " view ") AS doc) t"           \
	" LEFT JOIN LATERAL (SELECT s.courier_id FROM stops s WHERE s.order_id = o.id"            \
	"   AND s.kind = 'delivery' AND t.doc->'live' <> 'null'::jsonb"                           \
	"   ORDER BY s.attempt DESC LIMIT 1) c ON true"                                           \
	" WHERE " where

/* The sealed code of an order's held pickup parcel (DM_API_TRACKING_SQL's box). */
#define DM_API_TRACKING_BOX                                                                     \
	"(SELECT encode(k.code_box, 'hex') FROM pickup_parcels k WHERE k.order_id = o.id"        \
	"   AND k.point_id = o.pickup_point_id AND k.status = 'held' AND $2::boolean"             \
	"   ORDER BY k.id DESC LIMIT 1)"

/* The Redis hash of a courier's live position (written by the handheld
 * API on each newer ping): t = device time in ms, lon, lat, acc (m). */
#define DM_API_TRACKING_POS_KEY "dispatchd:courier:%s:pos"

/* One page waiting for Redis. Holds a reference on its request. */
struct dm_api_tracking_live {
	struct dm_req *r;
	char *doc;       /* owned: the page as PostgreSQL made it */
	long long pg_ms; /* device time of PostgreSQL's position; -1 when none */
};

static void
dm_api_tracking_live_free(struct dm_api_tracking_live *l)
{
	dm_req_unref(l->r, "dm_api_tracking_live");
	free(l->doc);
	free(l);
}

/* A number of a Redis reply element, or NAN when missing or not one. */
static double
dm_api_tracking_num(const redisReply *e)
{
	if (e == NULL || e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 40)
		return NAN;
	char buf[48], *end;
	memcpy(buf, e->str, e->len);
	buf[e->len] = '\0';
	errno = 0;
	double v = strtod(buf, &end);
	return *end == '\0' && errno == 0 && isfinite(v) ? v : NAN;
}

/* doc with live.position replaced by Redis's fix when it is newer; NULL
 * when Redis has nothing better (then the page goes out as it came). */
static json_t *
dm_api_tracking_newer(const struct dm_api_tracking_live *l, const redisReply *reply)
{
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4)
		return NULL;
	double t = dm_api_tracking_num(reply->element[0]);
	double lon = dm_api_tracking_num(reply->element[1]);
	double lat = dm_api_tracking_num(reply->element[2]);
	double acc = dm_api_tracking_num(reply->element[3]);
	if (!(t > (double)l->pg_ms && t < 1e15 && fabs(lon) <= 180 && fabs(lat) <= 90))
		return NULL;
	json_t *doc = json_loads(l->doc, 0, NULL);
	json_t *live = json_object_get(doc, "live");
	char at[32];
	dm_order_body_format_utc((int64_t)t, at);
	json_t *pos = json_pack("{s:f,s:f,s:o,s:s}", "lon", lon, "lat", lat, "accuracy_m",
				isnan(acc) ? json_null() : json_real(acc), "at", at);
	if (!json_is_object(live) || pos == NULL) {
		json_decref(pos);
		json_decref(doc);
		return NULL;
	}
	if (json_object_set_new(live, "position", pos) != 0) { /* pos is taken even then */
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static void
dm_api_tracking_live_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_api_tracking_live *l = arg;
	(void)error; /* Redis failing: PostgreSQL's position is still a position */
	if (!dm_req_answered(l->r)) {
		json_t *doc = dm_api_tracking_newer(l, reply);
		if (doc != NULL)
			dm_req_reply_json(l->r, 200, doc);
		else
			dm_req_reply(l->r, 200, "application/json", l->doc, strlen(l->doc));
	}
	dm_api_tracking_live_free(l);
}

/* The page (owned: free()) with, when the query gave a box (the order
 * service's view of a held parcel), the opened code as pickup.code. A box
 * that does not open (the token key changed since the scan-in) is left out
 * and logged. NULL when out of memory. */
static char *
dm_api_tracking_code_in(struct dm_req *r, const PGresult *res)
{
	const char *page = PQgetvalue(res, 0, 0);
	if (PQnfields(res) < 4 || PQgetisnull(res, 0, 3) || !r->cfg->token_key_set)
		return strdup(page);
	unsigned char box[DM_PICKUP_CODE_BOX_BYTES];
	char code[DM_PICKUP_CODE_DIGITS + 1];
	size_t n = 0;
	const char *hex = PQgetvalue(res, 0, 3);
	json_t *doc = json_loads(page, 0, NULL);
	json_t *pickup = json_object_get(doc, "pickup");
	if (sodium_hex2bin(box, sizeof box, hex, strlen(hex), NULL, &n, NULL) != 0 ||
	    dm_pickup_code_open(r->cfg->token_key, box, n, code) != 0) {
		dm_log_warning("api", "%s a pickup code does not open under the token key", r->id);
		json_decref(doc);
		return strdup(page);
	}
	char *out = NULL;
	if (json_is_object(pickup) && json_object_set_new(pickup, "code", json_string(code)) == 0)
		out = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12));
	sodium_memzero(code, sizeof code);
	json_decref(doc);
	return out;
}

/* Answer the page, asking Redis first while the parcel is out for delivery. */
static void
dm_api_tracking_reply(struct dm_req *r, const struct dm_pg_reply *reply, const char *not_found)
{
	const PGresult *res = reply->res;
	if (!reply->ok || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		dm_req_reply_pg_doc(r, reply, not_found);
		return;
	}
	char *doc = dm_api_tracking_code_in(r, res);
	if (doc == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	struct dm_api_tracking_live *l = NULL;
	if (!PQgetisnull(res, 0, 1) && dm_rds_up(r->d->rds))
		l = calloc(1, sizeof *l);
	if (l == NULL) {
		dm_req_reply(r, 200, "application/json", doc, strlen(doc));
		free(doc);
		return;
	}
	char key[128];
	snprintf(key, sizeof key, DM_API_TRACKING_POS_KEY, PQgetvalue(res, 0, 1));
	l->doc = doc;
	l->r = r;
	l->pg_ms = PQgetisnull(res, 0, 2) ? -1 : strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	dm_req_ref(r, "dm_api_tracking_live");
	const char *argv[] = {"HMGET", key, "t", "lon", "lat", "acc"};
	if (dm_rds_command(r->d->rds, 6, argv, NULL, dm_api_tracking_live_cb, l) != 0) {
		dm_req_reply(r, 200, "application/json", l->doc, strlen(l->doc));
		dm_api_tracking_live_free(l);
	}
}

static void
dm_api_tracking_order_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_tracking_reply(r, reply, "no such order");
}

static void
dm_api_tracking_order(struct dm_req *r)
{
	const char *id = r->params[0];
	if (!dm_order_body_valid_id(id)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
		return;
	}
	/* The pickup code: the order service shows it to its customer; admin
	 * sees the rest of the full view, never the code. */
	const struct dm_tokens_principal *p = r->principal;
	const char *params[] = {id, p != NULL && p->role == DM_TOKEN_ORDER_SERVICE ? "t" : "f"};
	(void)dm_req_pg_query(r, DM_API_TRACKING_SQL("false", DM_API_TRACKING_BOX, "o.id = $1"), 2,
			      params, DM_REQ_PG_READ, dm_api_tracking_order_done);
}

static void
dm_api_tracking_code_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_api_tracking_reply(r, reply, "no such tracking code");
}

/* Codes are printed upper-case; one typed in lower case is the same code. */
static void
dm_api_tracking_code(struct dm_req *r)
{
	char code[DM_ORDER_BODY_TRACKING_LEN];
	size_t n = strlen(r->params[0]);
	if (n >= sizeof code) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such tracking code", NULL);
		return;
	}
	for (size_t i = 0; i <= n; i++)
		code[i] = (char)toupper((unsigned char)r->params[0][i]);
	if (!dm_order_body_valid_tracking_code(code)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such tracking code", NULL);
		return;
	}
	const char *params[] = {code};
	(void)dm_req_pg_query(r, DM_API_TRACKING_SQL("true", "NULL", "o.tracking_code = $1"), 1,
			      params,
			      DM_REQ_PG_READ, dm_api_tracking_code_done);
}

static const struct dm_route dm_api_tracking_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}/tracking",
	 .handler = dm_api_tracking_order,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/track/{code}",
	 .handler = dm_api_tracking_code,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLES_PUBLIC},
};

const struct dm_route_table dm_api_tracking_table = {
	dm_api_tracking_routes, sizeof dm_api_tracking_routes / sizeof dm_api_tracking_routes[0]};
