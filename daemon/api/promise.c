/* The promise resource: GET /v1/promise answers "when will this arrive?"
 * before the order, from cached state only: the area index, the intake
 * cache's stock hints (re-read at most every few seconds per SKU, never per
 * request) and the station's booked capacity in Redis. The plan is the one
 * POST /v1/orders would make (daemon/svc/order_planner.c), so the quote is what the
 * order gets unless stock or capacity move in between.
 *
 *   GET /v1/promise?lat=&lon=&sku=ID:QTY[&sku=ID:QTY...][&install=true]
 *
 * Steps, all on the loop: validate (422) -> locate (422 outside, 503 no
 * areas) -> stock hints known? (stale ones are refreshed behind the
 * answer; only never-seen SKUs wait for one query) -> station counts (one Redis
 * script; without Redis: the standard promise and no precise slot) -> plan
 * -> the standard promise, the precise slots with their remaining places,
 * the pickup points (issue 13 part C3: from svc/pickup_cache.c, refreshed
 * behind the answer, never read per request) and large-item dates when the
 * order has large items. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/io/http.h"
#include "daemon/svc/stock_hints.h"
#include "daemon/io/jsonw.h"
#include "daemon/io/query_parse.h"
#include "daemon/base/log.h"
#include "daemon/svc/order_planner.h"
#include "daemon/base/reload.h"
#include "daemon/api/tables.h"
#include "daemon/svc/counters.h"
#include "daemon/svc/pickup_cache.h"
#include "warehouse/civil.h"
#include "warehouse/slot.h"

#define DM_H_PROMISE_MAX_OFFERS 64

_Static_assert(DM_QUERY_PARSE_SKU_LEN == DM_INTAKE_ID_MAX, "a SKU fits the stock hints");

/* One GET /v1/promise in flight; holds a reference on its request. */
struct dm_api_promise {
	struct dm_req *r;
	struct dm_stock_hints *cache;
	struct dm_areas_place place;
	struct dm_query_parse_skus lines; /* the order lines asked about */
	bool install;
	double lon, lat;                  /* the customer */
	int64_t now_utc_s;
	int32_t offset_s;
	struct dm_order_planner_result plan;
};

static void
dm_api_promise_free(struct dm_api_promise *p)
{
	dm_req_unref(p->r, "promise");
	free(p);
}

static void
dm_api_promise_time(struct dm_jsonw *w, const struct dm_api_promise *p, const char *key,
		  int64_t local_s)
{
	char buf[WH_CIVIL_RFC3339_LEN];
	wh_civil_format(local_s, p->offset_s, buf, sizeof buf);
	dm_jsonw_string(w, key, buf);
}

static void
dm_api_promise_offers(struct dm_jsonw *w, const struct dm_api_promise *p, const char *key,
		    const struct wh_slot_offer *offers, size_t n, bool large)
{
	dm_jsonw_array(w, key);
	for (size_t i = 0; i < n; i++) {
		dm_jsonw_object(w, NULL);
		dm_api_promise_time(w, p, "start", offers[i].start_s);
		dm_api_promise_time(w, p, "end", offers[i].end_s);
		dm_jsonw_int(w, "remaining", offers[i].remaining);
		if (large)
			dm_jsonw_bool(w, "install", offers[i].install);
		dm_jsonw_end_object(w);
	}
	dm_jsonw_end_array(w);
}

/* The members of a promise (standard or large) into the open object. */
static void
dm_api_promise_members(struct dm_jsonw *w, const struct dm_api_promise *p, const struct wh_promise *pr)
{
	dm_api_promise_time(w, p, "deliver_by", pr->deliver_by_s);
	if (pr->target_s != 0)
		dm_api_promise_time(w, p, "target", pr->target_s);
	dm_jsonw_bool(w, "late", pr->late);
	dm_jsonw_object(w, "wave");
	dm_api_promise_time(w, p, "start", pr->window_start_s);
	dm_api_promise_time(w, p, "end", pr->window_end_s);
	dm_jsonw_end_object(w);
}

/* "pickup": the customer's station's points with a place, nearest first, and
 * when the parcel can be there (a parcel order, without large items). */
static void
dm_api_promise_pickup(struct dm_jsonw *w, const struct dm_api_promise *p,
		      const struct wh_plan *plan)
{
	size_t npts;
	const struct wh_pickup_point *pts = dm_pickup_cache_points(p->r->d->pickup_cache, &npts);
	struct wh_pickup_offer offers[WH_PICKUP_MAX_OFFERS];
	size_t n = wh_pickup_offers(pts, npts, p->place.station_id, true, p->lon, p->lat,
				    plan->standard_at_station_s, plan->standard.window_end_s,
				    offers, WH_PICKUP_MAX_OFFERS);
	dm_jsonw_object(w, "pickup");
	dm_jsonw_string(w, "delivery_option", "pickup");
	dm_jsonw_array(w, "points");
	for (size_t i = 0; i < n; i++) {
		const struct wh_pickup_point *pt = &pts[offers[i].index];
		dm_jsonw_object(w, NULL);
		dm_jsonw_string(w, "id", pt->id);
		dm_jsonw_string(w, "name", pt->name != NULL ? pt->name : "");
		dm_jsonw_string(w, "address", pt->address != NULL ? pt->address : "");
		dm_jsonw_int(w, "distance_m", (long long)(offers[i].distance_m + 0.5));
		dm_jsonw_int(w, "free", offers[i].free);
		dm_jsonw_bool(w, "shelf", pt->shelf);
		dm_api_promise_time(w, p, "ready_by", offers[i].ready_s);
		dm_jsonw_end_object(w);
	}
	dm_jsonw_end_array(w);
	dm_jsonw_end_object(w);
}

static void
dm_api_promise_no_stock(struct dm_api_promise *p)
{
	json_t *lines = json_array();
	const struct wh_alloc_result *a = &p->plan.plan.alloc;
	for (size_t i = 0; i < p->lines.n && i < a->n_lines; i++) {
		const char *why = a->lines[i].status == WH_ALLOC_LINE_NO_STOCK     ? "not in stock"
				  : a->lines[i].status == WH_ALLOC_LINE_NOT_SERVED ? "not served here"
										   : NULL;
		if (why != NULL)
			json_array_append_new(lines, json_pack("{s:s,s:I,s:I,s:s}", "sku",
							       p->lines.skus[i], "requested",
							       (json_int_t)p->lines.qty[i],
							       "available",
							       (json_int_t)a->lines[i].best_available,
							       "reason", why));
	}
	dm_req_problem(p->r, DM_PROBLEM_OUT_OF_STOCK, "the order cannot be fulfilled from stock serving this address",
		       json_pack("{s:o}", "lines", lines));
}

static void
dm_api_promise_answer(struct dm_api_promise *p, const struct dm_counters_counts *counts)
{
	struct wh_capacity_view view = {NULL, 0};
	struct wh_err err;
	const struct wh_promise_config *cfg = &p->r->cfg->promise;
	bool known = counts != NULL && counts->ready;
	if (known) {
		view.counts = counts->counts;
		view.n_counts = counts->n;
	}
	int64_t now_local = wh_civil_from_utc(p->now_utc_s, p->offset_s);
	struct dm_order_planner_request req = {.place = &p->place,
				      .cfg = cfg,
				      .capacity = known ? &view : NULL,
				      .now_local_s = now_local,
				      .skus = p->lines.sku_ptrs,
				      .qty = p->lines.qty,
				      .n = p->lines.n,
				      .install = p->install};
	enum wh_status st = dm_order_planner_run(p->cache, &req, &p->plan, &err);
	if (st == WH_E_NO_STOCK) {
		dm_api_promise_no_stock(p);
		return;
	}
	if (st == WH_E_NO_CAPACITY) {
		dm_req_problem(p->r, DM_PROBLEM_CAPACITY_EXHAUSTED, "the station has no delivery capacity in the next 14 days",
			       NULL);
		return;
	}
	if (st != WH_OK) {
		dm_log_error("http", "%s planning failed: %s: %s", p->r->id, wh_err_name(err.code),
			     err.msg);
		dm_req_problem(p->r, DM_PROBLEM_INTERNAL, "planning the promise failed", NULL);
		return;
	}
	const struct wh_plan *plan = &p->plan.plan;
	struct evbuffer *out = evbuffer_new();
	struct dm_jsonw w;
	if (out == NULL) {
		dm_req_problem(p->r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_jsonw_init(&w, out);
	dm_jsonw_object(&w, NULL);
	dm_jsonw_object(&w, "station");
	dm_jsonw_string(&w, "id", p->place.station_id);
	dm_jsonw_string(&w, "name", p->place.station_name);
	dm_jsonw_end_object(&w);
	dm_jsonw_array(&w, "shipments");
	for (size_t k = 0; k < plan->alloc.n_shipments; k++) {
		dm_jsonw_object(&w, NULL);
		dm_jsonw_string(&w, "warehouse", p->plan.ship_wh[k]);
		dm_jsonw_array(&w, "skus");
		for (size_t i = 0; i < p->lines.n; i++)
			if (plan->alloc.lines[i].shipment == (int)k)
				dm_jsonw_string(&w, NULL, p->lines.skus[i]);
		dm_jsonw_end_array(&w);
		dm_api_promise_time(&w, p, "at_station", plan->legs[k].at_station_s);
		dm_jsonw_end_object(&w);
	}
	dm_jsonw_end_array(&w);
	dm_jsonw_string(&w, "timezone", cfg->tz);
	dm_jsonw_string(&w, "capacity", known ? "live" : counts != NULL ? "rebuilding" : "unavailable");
	struct wh_slot_offer offers[DM_H_PROMISE_MAX_OFFERS];
	size_t n = 0;
	struct wh_station station = {.id = p->place.station_id, .offers_slots = true};
	if (plan->has_standard) {
		dm_jsonw_object(&w, "standard");
		dm_api_promise_members(&w, p, &plan->standard);
		dm_jsonw_end_object(&w);
		/* Without live counts no precise slot is offered: it might be full. */
		if (known && wh_slot_list(cfg, &station, now_local, plan->standard_at_station_s, &view,
					  offers, DM_H_PROMISE_MAX_OFFERS, &n, &err) != WH_OK)
			n = 0;
		dm_api_promise_offers(&w, p, "slots", offers, known ? n : 0, false);
		if (!plan->has_large)
			dm_api_promise_pickup(&w, p, plan);
	}
	if (plan->has_large) {
		n = 0;
		if (known && wh_slot_list_large(cfg, now_local, plan->large_at_station_s, &view,
						p->install, offers, DM_H_PROMISE_MAX_OFFERS, &n,
						&err) != WH_OK)
			n = 0;
		dm_jsonw_object(&w, "large");
		dm_api_promise_members(&w, p, &plan->large);
		dm_api_promise_offers(&w, p, "dates", offers, known ? n : 0, true);
		dm_jsonw_end_object(&w);
	}
	dm_jsonw_end_object(&w);
	size_t len = evbuffer_get_length(out);
	dm_req_reply(p->r, 200, "application/json", (const char *)evbuffer_pullup(out, -1), len);
	evbuffer_free(out);
}

static void
dm_api_promise_counts(const struct dm_counters_counts *counts, void *arg)
{
	struct dm_api_promise *p = arg;
	if (!dm_req_answered(p->r))
		dm_api_promise_answer(p, counts);
	dm_api_promise_free(p);
}

/* Stock hints are fresh: read the station's counts, then answer. */
static void
dm_api_promise_with_stock(struct dm_api_promise *p)
{
	if (dm_counters_read(p->r->d, p->place.station_id, dm_api_promise_counts, p) != 0)
		dm_api_promise_counts(NULL, p); /* Redis down: quote without capacity */
}

static void
dm_api_promise_fetched(enum dm_stock_hints_status status, void *arg)
{
	struct dm_api_promise *p = arg;
	if (dm_req_answered(p->r)) {
		dm_api_promise_free(p);
		return;
	}
	if (status != DM_STOCK_HINTS_OK) {
		dm_req_problem(p->r, DM_PROBLEM_BACKEND_UNAVAILABLE, "stock is unavailable (postgresql)", NULL);
		dm_api_promise_free(p);
		return;
	}
	dm_api_promise_with_stock(p);
}

/* True when the cache knows the warehouses and every SKU (however old). */
static bool
dm_api_promise_known(const struct dm_api_promise *p)
{
	if (dm_stock_hints_nwh(p->cache) == 0)
		return false;
	for (size_t i = 0; i < p->lines.n; i++)
		if (dm_stock_hints_sku(p->cache, p->lines.sku_ptrs[i]) == NULL)
			return false;
	return true;
}

static void
dm_api_promise_get(struct dm_req *r)
{
	struct dm_api_promise *p = calloc(1, sizeof *p);
	json_t *errors = json_array();
	double lat = 0, lon = 0;
	if (p == NULL || errors == NULL) {
		free(p);
		json_decref(errors);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	p->r = r;
	dm_req_ref(r, "promise");
	(void)dm_req_query_latlon(r, &lat, &lon, errors);
	const char *lines[WH_ALLOC_MAX_LINES + 1];
	size_t nlines = dm_req_query_all(r, "sku", lines, WH_ALLOC_MAX_LINES + 1);
	(void)dm_query_parse_skus(&p->lines, lines,
				  nlines < WH_ALLOC_MAX_LINES + 1 ? nlines : WH_ALLOC_MAX_LINES + 1,
				  errors);
	const char *install = dm_req_query(r, "install");
	p->install = install != NULL && strcmp(install, "true") == 0;
	if (install != NULL && !p->install && strcmp(install, "false") != 0)
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "install", "message",
							"must be true or false"));
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid promise query", json_pack("{s:o}", "errors", errors));
		dm_api_promise_free(p);
		return;
	}
	json_decref(errors);
	p->lon = lon;
	p->lat = lat;
	struct dm_areas_snap *geo = dm_areas_current(r->d);
	enum dm_areas_status gs = dm_areas_locate(geo, lon, lat, &p->place);
	dm_areas_unref(geo);
	if (gs != DM_AREAS_OK) {
		if (gs == DM_AREAS_OUTSIDE)
			dm_req_problem(r, DM_PROBLEM_OUTSIDE_COVERAGE, "outside coverage: no delivery station serves this point",
				       NULL);
		else
			dm_req_problem(r, DM_PROBLEM_NOT_READY, "no service areas loaded yet", NULL);
		dm_api_promise_free(p);
		return;
	}
	dm_clock_now(&p->now_utc_s, &p->offset_s);
	p->cache = dm_stock_hints_get(r->d);
	if (p->cache == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		dm_api_promise_free(p);
		return;
	}
	if (dm_stock_hints_fresh(p->cache, p->lines.sku_ptrs, p->lines.n, dm_clock_mono_s())) {
		dm_api_promise_with_stock(p);
		return;
	}
	if (dm_api_promise_known(p)) {
		/* Stale but known: quote from the hints now, refresh them behind. */
		dm_stock_hints_refresh(p->cache, p->lines.sku_ptrs, p->lines.n);
		dm_api_promise_with_stock(p);
		return;
	}
	if (dm_stock_hints_fetch(p->cache, p->lines.sku_ptrs, p->lines.n, dm_api_promise_fetched,
				 p) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "stock is unavailable (postgresql)", NULL);
		dm_api_promise_free(p);
	}
}

static const struct dm_route dm_api_promise_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/promise",
	 .handler = dm_api_promise_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
};

const struct dm_route_table dm_api_promise_table = {
	dm_api_promise_routes, sizeof dm_api_promise_routes / sizeof dm_api_promise_routes[0]};
