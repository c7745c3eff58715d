/* The orders resource: POST /v1/orders (intake), GET /v1/orders/{id} and
 * POST /v1/orders/{id}/cancel. It owns the flow of one order through the
 * daemon; validation and documents are api/order_body.c's, the stock hints
 * svc/stock_hints.c's, the transaction svc/order_committer.c's (and PostgreSQL's:
 * intake_commit() in data/migrations/003_orders.sql).
 *
 * POST /v1/orders, every step on the loop, nothing blocking:
 *   validate (422) -> locate the customer (dm_areas_locate, or the station
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

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/io/http.h"
#include "daemon/svc/stock_hints.h"
#include "daemon/svc/order_committer.h"
#include "daemon/api/order_body.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/svc/order_planner.h"
#include "daemon/base/reload.h"
#include "daemon/api/tables.h"
#include "daemon/svc/counters.h"
#include "warehouse/civil.h"
#include "warehouse/plan.h"
#include "warehouse/slot.h"

#define DM_H_ORDERS_BODY_MAX 65536
#define DM_H_ORDERS_ATTEMPTS 4
#define DM_H_ORDERS_NEXT_SLOTS 8
#define DM_H_ORDERS_CAP_ATTEMPTS 8 /* re-plans of a standard order onto a later wave */

/* One POST /v1/orders in flight. Holds a reference on its request. */
struct dm_api_order {
	struct dm_req *r;
	struct dm_stock_hints *cache;
	struct dm_order_body in;
	struct dm_order_committer_job job;
	struct dm_areas_place place;
	int64_t now_ms; /* wall clock at arrival, UTC */
	char id[32];
	char created_at[32];
	int attempts;   /* commits tried */
	bool fresh;     /* the hints were read from PostgreSQL for this order */
	int64_t qty[WH_ALLOC_MAX_LINES]; /* in.lines[i].qty, for planning */
	struct dm_order_planner_result planned;
	int32_t offset_s;  /* the region's UTC offset at arrival */
	int counts_state;  /* 0: not read yet, 1: read, 2: Redis unavailable */
	struct dm_counters_counts counts; /* the station's booked capacity, as read */
	struct wh_capacity_counter cap[4]; /* the counters the order books */
	size_t ncap;
	bool gated;        /* cap is counted in Redis: give it back unless placed */
	int cap_attempts;  /* re-plans after a full wave */
	bool counts_fetched; /* counts were read from Redis (not assumed empty) */
	size_t nfull;      /* counters found full by the gate or PostgreSQL */
	struct wh_capacity_ref full[DM_H_ORDERS_CAP_ATTEMPTS];
	bool has_slot;     /* a precise slot was chosen and checked */
	struct wh_slot_offer slot;
	char *resp;     /* owned: the 201 body */
	char *entry;    /* owned: the job's entry */
};

static void dm_api_orders_plan(struct dm_api_order *o);
static void dm_api_orders_full(struct dm_api_order *o, const char *detail);
static void dm_api_orders_mark_full(struct dm_api_order *o, const struct wh_capacity_ref *ref);
static void dm_api_orders_replan(struct dm_api_order *o);

/* Give back what the Redis gate counted for an order that was not placed. */
static void
dm_api_orders_ungate(struct dm_api_order *o)
{
	if (o->gated)
		dm_counters_release(o->r->d, o->place.station_id, o->cap, o->ncap);
	o->gated = false;
}

static void
dm_api_orders_free(struct dm_api_order *o)
{
	dm_api_orders_ungate(o);
	dm_order_body_fini(&o->in);
	free(o->resp);
	free(o->entry);
	dm_req_unref(o->r, "dm_api_orders_post");
	free(o);
}

/* 409 with, per line, why it cannot be served. */
static void
dm_api_orders_no_stock(struct dm_api_order *o, const char *detail)
{
	static const char *const names[] = {"ok", "not_served", "no_stock", "unassigned"};
	json_t *lines = json_array();
	for (size_t i = 0; i < o->in.nlines; i++) {
		const struct wh_alloc_line_result *l = &o->planned.plan.alloc.lines[i];
		json_array_append_new(lines, json_pack("{s:s,s:I,s:s,s:I}", "sku", o->in.lines[i].sku,
						       "qty", (json_int_t)o->in.lines[i].qty, "status",
						       names[l->status], "best_available",
						       (json_int_t)l->best_available));
	}
	dm_req_problem(o->r, DM_PROBLEM_OUT_OF_STOCK, detail, json_pack("{s:o}", "lines", lines));
}

static void
dm_api_orders_reply_body(struct dm_api_order *o, int status, const char *body, bool replayed)
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
dm_api_orders_committed(struct dm_order_committer_job *job, int status, const json_t *res)
{
	struct dm_api_order *o = job->arg;
	const char *r = json_string_value(json_object_get(res, "r"));
	if (r != NULL && strcmp(r, "ok") == 0)
		dm_stock_hints_note_json(o->cache, json_object_get(res, "stock"), false);
	/* Not placed (and not about to be retried as it is): the counts taken by
	 * the Redis gate go back. A lost link may have placed it: then the
	 * reconcile (svc/counters.c) puts the count right again. */
	if (r == NULL || (strcmp(r, "ok") != 0 && strcmp(r, "retry") != 0))
		dm_api_orders_ungate(o);
	else if (strcmp(r, "ok") == 0)
		o->gated = false; /* placed: the counts stay */
	if (dm_req_answered(o->r))
		goto done;
	if (status != 0 || r == NULL) {
		dm_req_problem(o->r, status == 503 ? DM_PROBLEM_BACKEND_UNAVAILABLE : DM_PROBLEM_INTERNAL,
			       status == 503 ? "postgresql unavailable; retry with the same key"
					     : "the order could not be stored",
			       NULL);
	} else if (strcmp(r, "ok") == 0) {
		dm_api_orders_reply_body(o, 201, o->resp, false);
	} else if (strcmp(r, "replay") == 0) {
		const char *body = json_string_value(json_object_get(res, "response"));
		dm_api_orders_reply_body(o, (int)json_integer_value(json_object_get(res, "status")),
				       body != NULL ? body : "{}", true);
	} else if (strcmp(r, "mismatch") == 0) {
		dm_req_problem(o->r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED, "the idempotency key was used with another request",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "Idempotency-Key",
					 "message", "already used with a different request body"));
	} else if (strcmp(r, "duplicate") == 0) {
		const char *other = json_string_value(json_object_get(res, "order_id"));
		char detail[200];
		snprintf(detail, sizeof detail, "external_id %s already belongs to order %s",
			 o->in.ext, other != NULL ? other : "?");
		dm_req_problem(o->r, DM_PROBLEM_DUPLICATE_EXTERNAL_ID, detail,
			       json_pack("{s:s}", "order_id", other != NULL ? other : ""));
	} else if (strcmp(r, "capacity_full") == 0) {
		dm_stock_hints_note_json(o->cache, json_object_get(res, "stock"), true);
		const char *k = json_string_value(json_object_get(json_object_get(res, "counter"), "k"));
		struct wh_capacity_ref ref;
		struct wh_err err;
		if (k != NULL && wh_capacity_key_parse(k, strlen(k), &ref, &err) == WH_OK)
			dm_api_orders_mark_full(o, &ref);
		if (!o->has_slot && ++o->cap_attempts < DM_H_ORDERS_CAP_ATTEMPTS) {
			dm_api_orders_replan(o);
			return;
		}
		dm_api_orders_full(o, o->has_slot ? "the chosen slot is full"
						: "the station's delivery capacity is full");
	} else if (strcmp(r, "no_stock") == 0 && ++o->attempts < DM_H_ORDERS_ATTEMPTS) {
		/* Lost a race for the last units: plan again on the levels the
		 * transaction saw. */
		dm_stock_hints_note_json(o->cache, json_object_get(res, "stock"), true);
		o->fresh = true;
		dm_api_orders_plan(o);
		return;
	} else if (strcmp(r, "retry") == 0 && ++o->attempts < DM_H_ORDERS_ATTEMPTS) {
		dm_order_committer_submit(o->r->d, &o->job);
		return;
	} else if (strcmp(r, "absent") == 0) {
		dm_api_orders_no_stock(o, "not enough stock in the warehouses serving this customer");
	} else {
		dm_req_problem(o->r, DM_PROBLEM_STOCK_CONTENTION, "stock is changing too fast for this order; retry", NULL);
	}
done:
	dm_api_orders_free(o);
}

static void
dm_api_orders_submit(struct dm_api_order *o, char *entry)
{
	free(o->entry);
	o->entry = entry;
	o->job = (struct dm_order_committer_job){
		.key = o->in.key, .entry = entry, .done = dm_api_orders_committed, .arg = o};
	dm_order_committer_submit(o->r->d, &o->job);
}

/* The plan said no: make sure of it, then look the key up before a 409. */
static void dm_api_orders_fetched(int status, void *arg);

static void
dm_api_orders_refuse(struct dm_api_order *o)
{
	if (!o->fresh) {
		o->fresh = true;
		if (dm_stock_hints_fetch(o->cache, o->in.skus, o->in.nlines, dm_api_orders_fetched,
					  o) != 0) {
			dm_req_problem(o->r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
			dm_api_orders_free(o);
		}
		return;
	}
	char *entry = dm_order_body_check_entry(&o->in, o->id);
	if (entry == NULL) {
		dm_req_problem(o->r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		dm_api_orders_free(o);
		return;
	}
	dm_api_orders_submit(o, entry);
}

/* The capacity view of what was read from Redis, or NULL when unknown. */
static const struct wh_capacity_view *
dm_api_orders_view(const struct dm_api_order *o, struct wh_capacity_view *view)
{
	if (o->counts_state != 1 || !o->counts.ready)
		return NULL;
	view->counts = o->counts.counts;
	view->n_counts = o->counts.n;
	return view;
}

/* Set counter ref to full in o's view of the counts. */
static void
dm_api_orders_apply_full(struct dm_api_order *o, const struct wh_capacity_ref *ref)
{
	if (o->counts_state != 1 || !o->counts.ready) {
		o->counts_state = 1;
		o->counts.ready = true;
		o->counts.n = 0;
	}
	for (size_t i = 0; i < o->counts.n; i++) {
		struct wh_capacity_ref *c = &o->counts.counts[i].ref;
		if (c->kind == ref->kind && c->day == ref->day && c->start_s == ref->start_s) {
			o->counts.counts[i].booked = UINT32_MAX / 2;
			return;
		}
	}
	if (o->counts.n < DM_COUNTERS_MAX_COUNTS)
		o->counts.counts[o->counts.n++] =
			(struct wh_capacity_count){.ref = *ref, .booked = UINT32_MAX / 2};
}

/* Record that counter ref is full (the gate or PostgreSQL just said so), so
 * that it is not planned or proposed again, even after the counts are read. */
static void
dm_api_orders_mark_full(struct dm_api_order *o, const struct wh_capacity_ref *ref)
{
	if (o->nfull < DM_H_ORDERS_CAP_ATTEMPTS)
		o->full[o->nfull++] = *ref;
	dm_api_orders_apply_full(o, ref);
}

/* A standard order planned on assumed-empty counts met a full counter:
 * read the station's real counts before planning again, so that one
 * re-plan skips every full wave or window, not just this one. */
static void
dm_api_orders_replan(struct dm_api_order *o)
{
	if (!o->counts_fetched)
		o->counts_state = 0;
	dm_api_orders_plan(o);
}

/* 409 for a full slot or station, with the next slots that have room. */
static void
dm_api_orders_full(struct dm_api_order *o, const char *detail)
{
	struct wh_slot_offer offers[DM_H_ORDERS_NEXT_SLOTS];
	struct wh_capacity_view view;
	struct wh_err err;
	size_t n = 0;
	const struct wh_plan *plan = &o->planned.plan;
	struct wh_station station = {.id = o->place.station_id, .offers_slots = true};
	int64_t now_local = wh_civil_from_utc(o->now_ms / 1000, o->offset_s);
	if (plan->has_standard &&
	    wh_slot_list(&o->r->cfg->promise, &station, now_local, plan->standard_at_station_s,
			 dm_api_orders_view(o, &view), offers, DM_H_ORDERS_NEXT_SLOTS, &n,
			 &err) != WH_OK)
		n = 0;
	json_t *slots = json_array();
	char a[WH_CIVIL_RFC3339_LEN], b[WH_CIVIL_RFC3339_LEN];
	for (size_t i = 0; i < n; i++) {
		wh_civil_format(offers[i].start_s, o->offset_s, a, sizeof a);
		wh_civil_format(offers[i].end_s, o->offset_s, b, sizeof b);
		json_array_append_new(slots, json_pack("{s:s,s:s,s:i}", "start", a, "end", b,
						       "remaining", (int)offers[i].remaining));
	}
	dm_req_problem(o->r, DM_PROBLEM_CAPACITY_EXHAUSTED, detail, json_pack("{s:o}", "slots", slots));
}

/* Which station counters the order books: the chosen precise slot (slot and
 * wave) or the standard promise's wave, plus the large-item window. Returns
 * 0, or answers (409 full, 422 not offered) and returns -1. */
static int
dm_api_orders_counters(struct dm_api_order *o)
{
	const struct wh_plan *plan = &o->planned.plan;
	struct wh_capacity_view view;
	struct wh_err err;
	struct wh_station station = {.id = o->place.station_id, .offers_slots = true};
	int64_t now_local = wh_civil_from_utc(o->now_ms / 1000, o->offset_s);
	o->ncap = 0;
	o->has_slot = false;
	if (o->in.has_slot) {
		enum wh_status st = plan->has_standard
			? wh_slot_check(&o->r->cfg->promise, &station, now_local,
					plan->standard_at_station_s, dm_api_orders_view(o, &view),
					false, false, wh_civil_from_utc(o->in.slot_utc_s, o->offset_s),
					&o->slot, &err)
			: WH_E_SLOT_INVALID;
		if (st == WH_E_SLOT_FULL) {
			dm_api_orders_full(o, "the chosen slot is full");
			return -1;
		}
		if (st != WH_OK) {
			dm_req_problem(o->r, DM_PROBLEM_SLOT_NOT_OFFERED, "the chosen slot is not offered for this order",
				       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "slot.start",
						 "message", "not a slot GET /v1/promise offers for this "
							    "order now"));
			return -1;
		}
		o->has_slot = true;
		for (size_t i = 0; i < o->slot.n_counters; i++)
			o->cap[o->ncap++] = o->slot.counters[i];
	} else if (plan->has_standard) {
		for (size_t i = 0; i < plan->standard.n_counters; i++)
			o->cap[o->ncap++] = plan->standard.counters[i];
	}
	for (size_t i = 0; plan->has_large && i < plan->large.n_counters; i++)
		o->cap[o->ncap++] = plan->large.counters[i];
	return 0;
}

static void
dm_api_orders_gated(enum dm_counters_gate result, size_t full, void *arg)
{
	struct dm_api_order *o = arg;
	(void)full;
	/* Counted (or maybe counted) in Redis: given back unless placed, even
	 * when the request has meanwhile been answered by its deadline. */
	o->gated = result == DM_COUNTERS_GATE_OK || result == DM_COUNTERS_GATE_UNKNOWN;
	if (dm_req_answered(o->r)) {
		dm_api_orders_free(o);
		return;
	}
	if (result == DM_COUNTERS_GATE_FULL) {
		if (full < o->ncap)
			dm_api_orders_mark_full(o, &o->cap[full].ref);
		/* A wave filled since the counts were read: a standard order
		 * simply goes to the next one with room. */
		if (!o->has_slot && ++o->cap_attempts < DM_H_ORDERS_CAP_ATTEMPTS) {
			dm_api_orders_replan(o);
			return;
		}
		dm_api_orders_full(o, o->has_slot ? "the chosen slot is full"
						: "the station's delivery capacity is full");
		dm_api_orders_free(o);
		return;
	}
	struct dm_order_body_alloc a = {.id = o->id,
				    .created_at = o->created_at,
				    .place = &o->place,
				    .plan = &o->planned.plan,
				    .utc_offset_s = o->offset_s,
				    .cap = o->cap,
				    .ncap = o->ncap,
				    .slot = o->has_slot ? &o->slot : NULL};
	for (size_t k = 0; k < o->planned.plan.alloc.n_shipments; k++)
		a.ship_wh[k] = o->planned.ship_wh[k];
	char *entry;
	free(o->resp);
	if (dm_order_body_build(&o->in, &a, &o->resp, &entry) != 0) {
		dm_req_problem(o->r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		dm_api_orders_free(o);
		return;
	}
	dm_api_orders_submit(o, entry);
}

static void
dm_api_orders_counts(const struct dm_counters_counts *counts, void *arg)
{
	struct dm_api_order *o = arg;
	o->counts_state = counts != NULL ? 1 : 2;
	o->counts_fetched = true;
	if (counts != NULL)
		o->counts = *counts;
	for (size_t i = 0; i < o->nfull; i++)
		dm_api_orders_apply_full(o, &o->full[i]);
	dm_api_orders_plan(o);
}

static void
dm_api_orders_plan(struct dm_api_order *o)
{
	struct wh_capacity_view view;
	struct wh_err err;
	if (dm_req_answered(o->r)) {
		dm_api_orders_free(o);
		return;
	}
	/* A standard order plans as if every wave had room: the gate says
	 * which is full and the order moves on (one Redis round trip when
	 * there is room, the common case). A chosen slot needs the station's
	 * counts first, to check it and to propose others. PostgreSQL's count
	 * at commit is what decides either way. */
	if (o->counts_state == 0 && !o->in.has_slot && o->cap_attempts == 0) {
		o->counts_state = 1;
		o->counts.ready = true;
		o->counts.n = 0;
	}
	if (o->counts_state == 0) {
		if (dm_counters_read(o->r->d, o->place.station_id, dm_api_orders_counts, o) != 0)
			dm_api_orders_counts(NULL, o);
		return;
	}
	struct dm_order_planner_request req = {
		.place = &o->place,
		.cfg = &o->r->cfg->promise,
		.capacity = dm_api_orders_view(o, &view),
		.now_local_s = wh_civil_from_utc(o->now_ms / 1000, o->offset_s),
		.skus = o->in.skus,
		.qty = o->qty,
		.n = o->in.nlines,
		.install = o->in.install,
	};
	switch (dm_order_planner_run(o->cache, &req, &o->planned, &err)) {
	case WH_OK: break;
	case WH_E_NO_STOCK: dm_api_orders_refuse(o); return;
	case WH_E_NO_CAPACITY:
		dm_req_problem(o->r, DM_PROBLEM_CAPACITY_EXHAUSTED, "the station has no delivery capacity in the next 14 days",
			       NULL);
		dm_api_orders_free(o);
		return;
	default:
		dm_log_error("http", "%s planning failed: %s: %s", o->r->id, wh_err_name(err.code),
			     err.msg);
		dm_req_problem(o->r, DM_PROBLEM_INTERNAL, "planning the order failed", NULL);
		dm_api_orders_free(o);
		return;
	}
	if (dm_api_orders_counters(o) != 0) {
		dm_api_orders_free(o);
		return;
	}
	dm_counters_gate(o->r->d, o->place.station_id, o->cap, o->ncap, dm_api_orders_gated, o);
}

static void
dm_api_orders_fetched(int status, void *arg)
{
	struct dm_api_order *o = arg;
	if (dm_req_answered(o->r)) {
		dm_api_orders_free(o);
		return;
	}
	if (status != 0) {
		dm_req_problem(o->r, status == 503 ? DM_PROBLEM_BACKEND_UNAVAILABLE : DM_PROBLEM_INTERNAL, status == 503 ? "postgresql unavailable"
							   : "reading the catalogue failed",
			       NULL);
		dm_api_orders_free(o);
		return;
	}
	json_t *errors = json_array();
	char field[48];
	for (size_t i = 0; i < o->in.nlines; i++) {
		if (dm_stock_hints_sku(o->cache, o->in.skus[i]) == NULL) {
			snprintf(field, sizeof field, "lines[%zu].sku", i);
			json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message",
								"unknown SKU"));
		}
	}
	if (json_array_size(errors) > 0) {
		dm_req_problem(o->r, DM_PROBLEM_UNKNOWN_SKU, "the order has unknown SKUs",
			       json_pack("{s:o}", "errors", errors));
		dm_api_orders_free(o);
		return;
	}
	json_decref(errors);
	dm_api_orders_plan(o);
}

/* Find the customer's station and its warehouses. Returns 0, or answers. */
static int
dm_api_orders_locate(struct dm_api_order *o)
{
	struct dm_areas_snap *geo = dm_areas_current(o->r->d);
	enum dm_areas_status st = DM_AREAS_NOT_LOADED;
	if (geo != NULL && o->in.station[0] != '\0')
		st = dm_areas_station(geo, o->in.station, &o->place);
	else if (geo != NULL)
		st = dm_areas_locate(geo, o->in.lon, o->in.lat, &o->place);
	dm_areas_unref(geo);
	switch (st) {
	case DM_AREAS_OK: return 0;
	case DM_AREAS_NOT_LOADED:
		dm_req_problem(o->r, DM_PROBLEM_NOT_READY, "no service areas are loaded yet", NULL);
		return -1;
	case DM_AREAS_UNKNOWN:
		dm_req_problem(o->r, DM_PROBLEM_VALIDATION_FAILED, "unknown station",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "station_id",
					 "message", "no such station"));
		return -1;
	case DM_AREAS_OUTSIDE:
	default:
		dm_req_problem(o->r, DM_PROBLEM_OUTSIDE_COVERAGE, "the customer is outside every delivery area",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "customer",
					 "message", "outside every delivery area"));
		return -1;
	}
}

static void
dm_api_orders_post(struct dm_req *r)
{
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	struct dm_api_order *o = calloc(1, sizeof *o);
	struct dm_stock_hints *cache = dm_stock_hints_get(r->d);
	if (o == NULL || cache == NULL) {
		free(o);
		json_decref(body);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	json_t *errors = dm_order_body_parse(&o->in, dm_req_header(r, "Idempotency-Key"), body);
	json_decref(body);
	if (errors != NULL) {
		dm_order_body_fini(&o->in);
		free(o);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "the order is invalid", json_pack("{s:o}", "errors", errors));
		return;
	}
	o->r = r;
	o->cache = cache;
	dm_req_ref(r, "dm_api_orders_post");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	o->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	int64_t utc_s;
	dm_clock_now(&utc_s, &o->offset_s);
	for (size_t i = 0; i < o->in.nlines; i++)
		o->qty[i] = o->in.lines[i].qty;
	dm_order_body_new_id(o->now_ms, o->id);
	dm_order_body_format_utc(o->now_ms, o->created_at);
	if (dm_api_orders_locate(o) != 0) {
		dm_api_orders_free(o);
		return;
	}
	if (dm_stock_hints_fresh(cache, o->in.skus, o->in.nlines, dm_clock_mono_s())) {
		dm_api_orders_plan(o);
		return;
	}
	o->fresh = true;
	if (dm_stock_hints_fetch(cache, o->in.skus, o->in.nlines, dm_api_orders_fetched, o) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_api_orders_free(o);
	}
}

/* ---- GET /v1/orders/{id} ---- */

static void
dm_api_orders_get_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_req *r = arg;
	if (dm_req_answered(r))
		goto out;
	dm_req_reply_pg_doc(r, reply, "no such order");
out:
	dm_req_unref(r, __func__);
}

static void
dm_api_orders_get(struct dm_req *r)
{
	const char *id = r->params[0];
	if (!dm_order_body_valid_id(id)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
		return;
	}
	const char *params[] = {id};
	dm_req_ref(r, __func__);
	if (dm_pg_query(r->d->pg, "SELECT order_doc_events($1)", 1, params, dm_api_orders_get_done,
			r) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_req_unref(r, __func__);
	}
}

/* ---- POST /v1/orders/{id}/cancel ---- */

/* Give back in Redis the counters a cancellation released in PostgreSQL
 * ([{"st","k"}...], all of one station). */
static void
dm_api_orders_release_capacity(struct dm_daemon *d, const json_t *cap)
{
	struct wh_capacity_counter counters[4];
	size_t n = 0, i;
	const char *station = NULL;
	json_t *c;
	json_array_foreach(cap, i, c)
	{
		const char *k = json_string_value(json_object_get(c, "k"));
		struct wh_err err;
		station = json_string_value(json_object_get(c, "st"));
		if (n < 4 && k != NULL &&
		    wh_capacity_key_parse(k, strlen(k), &counters[n].ref, &err) == WH_OK)
			n++;
	}
	if (station != NULL && n > 0)
		dm_counters_release(d, station, counters, n);
}

static void
dm_api_orders_cancel_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_req *r = arg;
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	const char *what = json_string_value(json_object_get(res, "r"));
	struct dm_stock_hints *cache = dm_stock_hints_get(r->d);
	if (what != NULL && strcmp(what, "ok") == 0 && cache != NULL)
		dm_stock_hints_note_json(cache, json_object_get(res, "stock"), false);
	if (what != NULL && strcmp(what, "ok") == 0)
		dm_api_orders_release_capacity(r->d, json_object_get(res, "capacity"));
	if (dm_req_answered(r))
		goto out;
	if (what == NULL) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s cancel failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	} else if (strcmp(what, "ok") == 0) {
		dm_req_reply_json(r, 200, json_incref(json_object_get(res, "order")));
	} else if (strcmp(what, "not_found") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
	} else {
		dm_req_problem(r, DM_PROBLEM_TOO_LATE_TO_CANCEL, "a shipment has left its warehouse: too late to cancel",
			       json_pack("{s:O}", "shipments", json_object_get(res, "shipments")));
	}
out:
	json_decref(res);
	dm_req_unref(r, __func__);
}

static void
dm_api_orders_cancel(struct dm_req *r)
{
	const char *id = r->params[0];
	const char *reason = "";
	json_t *body = NULL;
	if (!dm_order_body_valid_id(id)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
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
			dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid cancellation",
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
			dm_api_orders_cancel_done, r) != 0) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_req_unref(r, __func__);
	}
	json_decref(body);
}

static const struct dm_route dm_api_orders_routes[] = {
	{EVHTTP_REQ_POST, "/v1/orders", dm_api_orders_post, DM_H_ORDERS_BODY_MAX, 0},
	{EVHTTP_REQ_GET, "/v1/orders/{id}", dm_api_orders_get, 1, 0},
	{EVHTTP_REQ_POST, "/v1/orders/{id}/cancel", dm_api_orders_cancel, 4096, 0},
};

const struct dm_route_table dm_api_orders_table = {
	dm_api_orders_routes, sizeof dm_api_orders_routes / sizeof dm_api_orders_routes[0]};
