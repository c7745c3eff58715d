/* The orders resource: POST /v1/orders (intake), GET /v1/orders/{id} and
 * POST /v1/orders/{id}/cancel. It owns the flow of one order through the
 * daemon; validation and documents are intake_order.c's, the stock hints
 * intake_cache.c's, the transaction intake_commit.c's (and PostgreSQL's:
 * intake_commit() in data/migrations/003_orders.sql).
 *
 * POST /v1/orders, every step on the loop, nothing blocking:
 *   validate (422) -> locate the customer (dm_geo_locate, or the station
 *   given) -> refresh the SKUs' stock hints if stale (one query) -> plan
 *   (wh_plan_order over the hints) -> queue for the group commit -> answer
 *   from the order's result: 201 / replay / 409 / 422.
 * A plan that finds no stock reads the hints again before saying so; a
 * reservation that loses a race gets the fresh levels back from the same
 * transaction and is planned again, up to DM_H_ORDERS_ATTEMPTS times. A 409
 * still goes through the committer as a key lookup, so that replaying a key
 * whose order was accepted answers 201 even after the stock ran out. */
#include <event2/buffer.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/geo.h"
#include "daemon/http.h"
#include "daemon/intake_cache.h"
#include "daemon/intake_commit.h"
#include "daemon/intake_order.h"
#include "daemon/log.h"
#include "daemon/pg.h"
#include "daemon/routes.h"
#include "warehouse/civil.h"
#include "warehouse/plan.h"

#define DM_H_ORDERS_BODY_MAX 65536
#define DM_H_ORDERS_ATTEMPTS 4
/* The sample region's offset (Asia/Shanghai, no DST). Per-region zones
 * arrive with the promise configuration (issue 5). */
#define DM_H_ORDERS_UTC_OFFSET_S (8 * 3600)

/* One POST /v1/orders in flight. Holds a reference on its request. */
struct dm_h_order {
	struct dm_req *r;
	struct dm_intake_cache *cache;
	struct dm_intake_order in;
	struct dm_intake_job job;
	struct dm_geo_place place;
	int64_t now_ms; /* wall clock at arrival, UTC */
	char id[32];
	char created_at[32];
	int attempts;   /* commits tried */
	bool fresh;     /* the hints were read from PostgreSQL for this order */
	struct wh_plan plan;
	char *resp;     /* owned: the 201 body */
	char *entry;    /* owned: the job's entry */
};

static void dm_h_orders_plan(struct dm_h_order *o);

static void
dm_h_orders_free(struct dm_h_order *o)
{
	dm_intake_order_fini(&o->in);
	free(o->resp);
	free(o->entry);
	dm_req_unref(o->r, "dm_h_orders_post");
	free(o);
}

/* 409 with, per line, why it cannot be served. */
static void
dm_h_orders_no_stock(struct dm_h_order *o, const char *detail)
{
	static const char *const names[] = {"ok", "not_served", "no_stock", "unassigned"};
	json_t *lines = json_array();
	for (size_t i = 0; i < o->in.nlines; i++) {
		const struct wh_alloc_line_result *l = &o->plan.alloc.lines[i];
		json_array_append_new(lines, json_pack("{s:s,s:I,s:s,s:I}", "sku", o->in.lines[i].sku,
						       "qty", (json_int_t)o->in.lines[i].qty, "status",
						       names[l->status], "best_available",
						       (json_int_t)l->best_available));
	}
	dm_req_problem(o->r, 409, detail, json_pack("{s:o}", "lines", lines));
}

static void
dm_h_orders_reply_body(struct dm_h_order *o, int status, const char *body, bool replayed)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(o->r->req);
	json_t *doc = json_loads(body, 0, NULL);
	const char *id = json_string_value(json_object_get(doc, "id"));
	char loc[96];
	if (status == 201 && id != NULL) {
		snprintf(loc, sizeof loc, "/v1/orders/%s", id);
		evhttp_add_header(h, "Location", loc);
	}
	if (replayed)
		evhttp_add_header(h, "Idempotent-Replayed", "true");
	json_decref(doc);
	dm_req_reply(o->r, status, status < 300 ? "application/json" : "application/problem+json",
		     body, strlen(body));
}

static void
dm_h_orders_committed(struct dm_intake_job *job, int status, const json_t *res)
{
	struct dm_h_order *o = job->arg;
	const char *r = json_string_value(json_object_get(res, "r"));
	if (r != NULL && strcmp(r, "ok") == 0)
		dm_intake_cache_note_json(o->cache, json_object_get(res, "stock"), false);
	if (dm_req_answered(o->r))
		goto done;
	if (status != 0 || r == NULL) {
		dm_req_problem(o->r, status == 503 ? 503 : 500,
			       status == 503 ? "postgresql unavailable; retry with the same key"
					     : "the order could not be stored",
			       NULL);
	} else if (strcmp(r, "ok") == 0) {
		dm_h_orders_reply_body(o, 201, o->resp, false);
	} else if (strcmp(r, "replay") == 0) {
		const char *body = json_string_value(json_object_get(res, "response"));
		dm_h_orders_reply_body(o, (int)json_integer_value(json_object_get(res, "status")),
				       body != NULL ? body : "{}", true);
	} else if (strcmp(r, "mismatch") == 0) {
		dm_req_problem(o->r, 422, "the idempotency key was used with another request",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "Idempotency-Key",
					 "message", "already used with a different request body"));
	} else if (strcmp(r, "duplicate") == 0) {
		const char *other = json_string_value(json_object_get(res, "order_id"));
		char detail[200];
		snprintf(detail, sizeof detail, "external_id %s already belongs to order %s",
			 o->in.ext, other != NULL ? other : "?");
		dm_req_problem(o->r, 409, detail,
			       json_pack("{s:s}", "order_id", other != NULL ? other : ""));
	} else if (strcmp(r, "no_stock") == 0 && ++o->attempts < DM_H_ORDERS_ATTEMPTS) {
		/* Lost a race for the last units: plan again on the levels the
		 * transaction saw. */
		dm_intake_cache_note_json(o->cache, json_object_get(res, "stock"), true);
		o->fresh = true;
		dm_h_orders_plan(o);
		return;
	} else if (strcmp(r, "retry") == 0 && ++o->attempts < DM_H_ORDERS_ATTEMPTS) {
		dm_intake_commit_submit(o->r->d, &o->job);
		return;
	} else if (strcmp(r, "absent") == 0) {
		dm_h_orders_no_stock(o, "not enough stock in the warehouses serving this customer");
	} else {
		dm_req_problem(o->r, 409, "stock is changing too fast for this order; retry", NULL);
	}
done:
	dm_h_orders_free(o);
}

static void
dm_h_orders_submit(struct dm_h_order *o, char *entry)
{
	free(o->entry);
	o->entry = entry;
	o->job = (struct dm_intake_job){
		.key = o->in.key, .entry = entry, .done = dm_h_orders_committed, .arg = o};
	dm_intake_commit_submit(o->r->d, &o->job);
}

/* The plan said no: make sure of it, then look the key up before a 409. */
static void dm_h_orders_fetched(int status, void *arg);

static void
dm_h_orders_refuse(struct dm_h_order *o)
{
	if (!o->fresh) {
		o->fresh = true;
		if (dm_intake_cache_fetch(o->cache, o->in.skus, o->in.nlines, dm_h_orders_fetched,
					  o) != 0) {
			dm_req_problem(o->r, 503, "postgresql unavailable", NULL);
			dm_h_orders_free(o);
		}
		return;
	}
	char *entry = dm_intake_order_check_entry(&o->in, o->id);
	if (entry == NULL) {
		dm_req_problem(o->r, 503, "out of memory", NULL);
		dm_h_orders_free(o);
		return;
	}
	dm_h_orders_submit(o, entry);
}

/* Candidates: the warehouses serving the customer's station that intake
 * knows, each with its stock hints for the order's SKUs. */
static size_t
dm_h_orders_candidates(struct dm_h_order *o, struct wh_plan_candidate *cands,
		       struct wh_stock_level (*levels)[WH_ALLOC_MAX_LINES])
{
	size_t n = 0;
	for (int g = 0; g < o->place.nwarehouses; g++) {
		const struct dm_geo_warehouse *gw = &o->place.warehouses[g];
		long w = dm_intake_cache_wh_find(o->cache, gw->id);
		if (w < 0 || dm_intake_cache_wh(o->cache, (size_t)w)->gone)
			continue;
		const struct dm_intake_wh *wh = dm_intake_cache_wh(o->cache, (size_t)w);
		for (size_t i = 0; i < o->in.nlines; i++) {
			const struct dm_intake_sku *e = dm_intake_cache_sku(o->cache, o->in.skus[i]);
			levels[n][i] = (struct wh_stock_level){.sku = o->in.skus[i], .available = 0};
			for (size_t k = 0; e != NULL && k < e->nlevels; k++)
				if (e->levels[k].wh == (size_t)w)
					levels[n][i].available = e->levels[k].available;
		}
		/* Territory was applied by the geography (the station's district),
		 * so every candidate here serves the order. */
		cands[n] = (struct wh_plan_candidate){
			.wh = {.id = wh->id,
			       .kind = WH_ALLOC_REGIONAL,
			       .region = "",
			       .stock = levels[n],
			       .n_stock = o->in.nlines,
			       .dist_m = llround(gw->dist_m)},
			.chain = wh->chain,
		};
		n++;
	}
	return n;
}

static void
dm_h_orders_plan(struct dm_h_order *o)
{
	static struct wh_promise_config cfg;
	static bool cfg_ready;
	struct wh_plan_candidate cands[DM_GEO_MAX_SERVING];
	struct wh_stock_level levels[DM_GEO_MAX_SERVING][WH_ALLOC_MAX_LINES];
	struct wh_alloc_line lines[WH_ALLOC_MAX_LINES];
	struct wh_alloc_cost cost;
	struct wh_err err;
	if (!cfg_ready) {
		wh_promise_config_defaults(&cfg);
		cfg_ready = true;
	}
	if (dm_req_answered(o->r)) {
		dm_h_orders_free(o);
		return;
	}
	for (size_t i = 0; i < o->in.nlines; i++) {
		const struct dm_intake_sku *e = dm_intake_cache_sku(o->cache, o->in.skus[i]);
		lines[i] = (struct wh_alloc_line){.sku = o->in.skus[i],
						  .qty = o->in.lines[i].qty,
						  .unit_weight_g = e != NULL ? e->weight_g : 0,
						  .large = e != NULL && e->large};
	}
	size_t nc = dm_h_orders_candidates(o, cands, levels);
	struct wh_alloc_order order = {.lines = lines, .n_lines = o->in.nlines, .region = ""};
	struct wh_station station = {.id = o->place.station_id};
	wh_alloc_cost_defaults(&cost);
	struct wh_plan_input in = {
		.cfg = &cfg,
		.station = &station,
		.now_local_s = wh_civil_from_utc(o->now_ms / 1000, DM_H_ORDERS_UTC_OFFSET_S),
		.order = &order,
		.cands = cands,
		.n_cands = nc,
		.cost = &cost,
		.install = o->in.install,
	};
	switch (wh_plan_order(&in, &o->plan, &err)) {
	case WH_OK: break;
	case WH_E_NO_STOCK: dm_h_orders_refuse(o); return;
	case WH_E_NO_CAPACITY:
		dm_req_problem(o->r, 409, "the station has no delivery capacity in the next 14 days",
			       NULL);
		dm_h_orders_free(o);
		return;
	default:
		dm_log_error("http", "%s planning failed: %s: %s", o->r->id, wh_err_name(err.code),
			     err.msg);
		dm_req_problem(o->r, 500, "planning the order failed", NULL);
		dm_h_orders_free(o);
		return;
	}
	struct dm_intake_alloc a = {.id = o->id,
				    .created_at = o->created_at,
				    .place = &o->place,
				    .plan = &o->plan,
				    .utc_offset_s = DM_H_ORDERS_UTC_OFFSET_S};
	for (size_t k = 0; k < o->plan.alloc.n_shipments; k++)
		a.ship_wh[k] = cands[o->plan.alloc.shipments[k].warehouse].wh.id;
	char *entry;
	free(o->resp);
	if (dm_intake_order_build(&o->in, &a, &o->resp, &entry) != 0) {
		dm_req_problem(o->r, 503, "out of memory", NULL);
		dm_h_orders_free(o);
		return;
	}
	dm_h_orders_submit(o, entry);
}

static void
dm_h_orders_fetched(int status, void *arg)
{
	struct dm_h_order *o = arg;
	if (dm_req_answered(o->r)) {
		dm_h_orders_free(o);
		return;
	}
	if (status != 0) {
		dm_req_problem(o->r, status, status == 503 ? "postgresql unavailable"
							   : "reading the catalogue failed",
			       NULL);
		dm_h_orders_free(o);
		return;
	}
	json_t *errors = json_array();
	char field[48];
	for (size_t i = 0; i < o->in.nlines; i++) {
		if (dm_intake_cache_sku(o->cache, o->in.skus[i]) == NULL) {
			snprintf(field, sizeof field, "lines[%zu].sku", i);
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message",
								"unknown SKU"));
		}
	}
	if (json_array_size(errors) > 0) {
		dm_req_problem(o->r, 422, "the order has unknown SKUs",
			       json_pack("{s:o}", "errors", errors));
		dm_h_orders_free(o);
		return;
	}
	json_decref(errors);
	dm_h_orders_plan(o);
}

/* Find the customer's station and its warehouses. Returns 0, or answers. */
static int
dm_h_orders_locate(struct dm_h_order *o)
{
	struct dm_geo *geo = dm_geo_current(o->r->d);
	enum dm_geo_status st = DM_GEO_NOT_LOADED;
	if (geo != NULL && o->in.station[0] != '\0')
		st = dm_geo_station(geo, o->in.station, &o->place);
	else if (geo != NULL)
		st = dm_geo_locate(geo, o->in.lon, o->in.lat, &o->place);
	dm_geo_unref(geo);
	switch (st) {
	case DM_GEO_OK: return 0;
	case DM_GEO_NOT_LOADED:
		dm_req_problem(o->r, 503, "no service areas are loaded yet", NULL);
		return -1;
	case DM_GEO_UNKNOWN:
		dm_req_problem(o->r, 422, "unknown station",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "station_id",
					 "message", "no such station"));
		return -1;
	case DM_GEO_OUTSIDE:
	default:
		dm_req_problem(o->r, 422, "the customer is outside every delivery area",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "customer",
					 "message", "outside every delivery area"));
		return -1;
	}
}

static void
dm_h_orders_post(struct dm_req *r)
{
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	struct dm_h_order *o = calloc(1, sizeof *o);
	struct dm_intake_cache *cache = dm_intake_cache_get(r->d);
	if (o == NULL || cache == NULL) {
		free(o);
		json_decref(body);
		dm_req_problem(r, 503, "out of memory", NULL);
		return;
	}
	json_t *errors = dm_intake_order_parse(&o->in, dm_req_header(r, "Idempotency-Key"), body);
	json_decref(body);
	if (errors != NULL) {
		dm_intake_order_fini(&o->in);
		free(o);
		dm_req_problem(r, 422, "the order is invalid", json_pack("{s:o}", "errors", errors));
		return;
	}
	o->r = r;
	o->cache = cache;
	dm_req_ref(r, "dm_h_orders_post");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	o->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	dm_intake_order_new_id(o->now_ms, o->id);
	dm_intake_order_format_utc(o->now_ms, o->created_at);
	if (dm_h_orders_locate(o) != 0) {
		dm_h_orders_free(o);
		return;
	}
	if (dm_intake_cache_fresh(cache, o->in.skus, o->in.nlines, dm_daemon_now_s())) {
		dm_h_orders_plan(o);
		return;
	}
	o->fresh = true;
	if (dm_intake_cache_fetch(cache, o->in.skus, o->in.nlines, dm_h_orders_fetched, o) != 0) {
		dm_req_problem(r, 503, "postgresql unavailable", NULL);
		dm_h_orders_free(o);
	}
}

/* ---- GET /v1/orders/{id} ---- */

static void
dm_h_orders_get_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_req *r = arg;
	if (dm_req_answered(r))
		goto out;
	if (!reply->ok)
		dm_req_problem(r, 503, "postgresql query failed", NULL);
	else if (PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 0))
		dm_req_problem(r, 404, "no such order", NULL);
	else
		dm_req_reply(r, 200, "application/json", PQgetvalue(reply->res, 0, 0),
			     (size_t)PQgetlength(reply->res, 0, 0));
out:
	dm_req_unref(r, __func__);
}

static void
dm_h_orders_get(struct dm_req *r)
{
	const char *id = r->params[0];
	if (!dm_intake_order_valid_id(id)) {
		dm_req_problem(r, 404, "no such order", NULL);
		return;
	}
	const char *params[] = {id};
	dm_req_ref(r, __func__);
	if (dm_pg_query(r->d->pg, "SELECT order_doc_events($1)", 1, params, dm_h_orders_get_done,
			r) != 0) {
		dm_req_problem(r, 503, "postgresql unavailable", NULL);
		dm_req_unref(r, __func__);
	}
}

/* ---- POST /v1/orders/{id}/cancel ---- */

static void
dm_h_orders_cancel_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_req *r = arg;
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	const char *what = json_string_value(json_object_get(res, "r"));
	struct dm_intake_cache *cache = dm_intake_cache_get(r->d);
	if (what != NULL && strcmp(what, "ok") == 0 && cache != NULL)
		dm_intake_cache_note_json(cache, json_object_get(res, "stock"), false);
	if (dm_req_answered(r))
		goto out;
	if (what == NULL) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s cancel failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, 503, "postgresql query failed", NULL);
	} else if (strcmp(what, "ok") == 0) {
		dm_req_reply_json(r, 200, json_incref(json_object_get(res, "order")));
	} else if (strcmp(what, "not_found") == 0) {
		dm_req_problem(r, 404, "no such order", NULL);
	} else {
		dm_req_problem(r, 409, "a shipment has left its warehouse: too late to cancel",
			       json_pack("{s:O}", "shipments", json_object_get(res, "shipments")));
	}
out:
	json_decref(res);
	dm_req_unref(r, __func__);
}

static void
dm_h_orders_cancel(struct dm_req *r)
{
	const char *id = r->params[0];
	const char *reason = "";
	json_t *body = NULL;
	if (!dm_intake_order_valid_id(id)) {
		dm_req_problem(r, 404, "no such order", NULL);
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) > 0) {
		if ((body = dm_req_body_json(r)) == NULL)
			return;
		const json_t *v = json_object_get(body, "reason");
		reason = json_string_value(v);
		if ((v != NULL && reason == NULL) ||
		    (reason != NULL && strlen(reason) > DM_INTAKE_REASON_MAX)) {
			json_decref(body);
			dm_req_problem(r, 422, "invalid cancellation",
				       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "reason",
						 "message", "must be a string of at most 200 bytes"));
			return;
		}
		if (reason == NULL)
			reason = "";
	}
	const char *params[] = {id, reason};
	dm_req_ref(r, __func__);
	if (dm_pg_query(r->d->pg, "SELECT intake_cancel($1, $2)", 2, params,
			dm_h_orders_cancel_done, r) != 0) {
		dm_req_problem(r, 503, "postgresql unavailable", NULL);
		dm_req_unref(r, __func__);
	}
	json_decref(body);
}

static const struct dm_route dm_h_orders_routes[] = {
	{EVHTTP_REQ_POST, "/v1/orders", dm_h_orders_post, DM_H_ORDERS_BODY_MAX},
	{EVHTTP_REQ_GET, "/v1/orders/{id}", dm_h_orders_get, 1},
	{EVHTTP_REQ_POST, "/v1/orders/{id}/cancel", dm_h_orders_cancel, 4096},
};

const struct dm_route_table dm_h_orders_table = {
	dm_h_orders_routes, sizeof dm_h_orders_routes / sizeof dm_h_orders_routes[0]};
