/* The orders resource: POST /v1/orders (intake), GET /v1/orders/{id} and
 * POST /v1/orders/{id}/cancel. For POST it owns performing the needs of one
 * order's flow; the decisions are warehouse/intake.c's state machine,
 * validation and documents api/order_body.c's, the stock hints
 * svc/stock_hints.c's, the transaction svc/order_committer.c's (and
 * PostgreSQL's intake_commit()).
 *
 * POST /v1/orders, every step on the loop, nothing blocking:
 *   validate (422) -> locate the customer (dm_areas_locate, or the station
 *   given) -> then wh_intake_step and dm_api_orders_run: read the hints,
 *   read the station's counts, plan (dm_order_planner_run), gate, release,
 *   commit, reply, as the machine asks. Each backend callback turns its
 *   result into an event and calls dm_api_orders_run again; the reply is the
 *   flow's last need and the one place that frees the order's state. */
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
#include "daemon/api/field_errors.h"
#include "daemon/api/admission.h"
#include "daemon/api/order_body.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/order_planner.h"
#include "daemon/base/reload.h"
#include "daemon/api/tables.h"
#include "daemon/svc/counters.h"
#include "warehouse/civil.h"
#include "warehouse/intake.h"
#include "warehouse/plan.h"
#include "warehouse/slot.h"

#define DM_H_ORDERS_BODY_MAX 65536

/* One POST /v1/orders in flight. Holds a reference on its request. */
struct dm_api_order {
	struct dm_req *r;
	struct dm_stock_hints *cache;
	struct dm_order_body in;
	struct dm_order_committer_job job;
	struct dm_areas_place place;
	int64_t now_ms; /* wall clock at arrival, UTC */
	char id[32];
	char tracking_code[DM_ORDER_BODY_TRACKING_LEN];
	char created_at[32];
	int64_t qty[WH_ALLOC_MAX_LINES]; /* in.lines[i].qty, for planning */
	struct dm_order_planner_result planned; /* the last plan, with its warehouse ids */
	int32_t offset_s;  /* the region's UTC offset at arrival */
	struct wh_intake flow;
	const json_t *res; /* the commit result being handled (borrowed while it is) */
	char *resp;     /* owned: the 201 body */
	char *entry;    /* owned: the job's entry */
};

static void dm_api_orders_run(struct dm_api_order *o, const struct wh_intake_event *ev);

static void
dm_api_orders_free(struct dm_api_order *o)
{
	dm_order_body_fini(&o->in);
	free(o->resp);
	free(o->entry);
	dm_req_unref(o->r, "dm_api_orders_post");
	free(o);
}

/* ---- replies ---- */

/* The problem kind and detail of each ending that is not a success (the
 * kind's HTTP status and type come from daemon/io/problem.c's table). */
static enum dm_problem
dm_api_orders_http(enum wh_intake_reply reply, const char **detail)
{
	static const struct {
		enum dm_problem kind;
		const char *detail;
	} map[] = {
		[WH_INTAKE_CREATED] = {DM_PROBLEM_COUNT, NULL},
		[WH_INTAKE_REPLAYED] = {DM_PROBLEM_COUNT, NULL}, /* as stored */
		[WH_INTAKE_KEY_REUSED] = {DM_PROBLEM_IDEMPOTENCY_KEY_REUSED, "the idempotency key was used with another request"},
		[WH_INTAKE_DUPLICATE] = {DM_PROBLEM_DUPLICATE_EXTERNAL_ID, NULL}, /* names the other order */
		[WH_INTAKE_OUT_OF_STOCK] = {DM_PROBLEM_OUT_OF_STOCK, "not enough stock in the warehouses serving this "
						 "customer"},
		[WH_INTAKE_SLOT_FULL] = {DM_PROBLEM_CAPACITY_EXHAUSTED, "the chosen slot is full"},
		[WH_INTAKE_CAPACITY_FULL] = {DM_PROBLEM_CAPACITY_EXHAUSTED, "the station's delivery capacity is full"},
		[WH_INTAKE_NO_CAPACITY] = {DM_PROBLEM_CAPACITY_EXHAUSTED, "the station has no delivery capacity in the next 14 "
						"days"},
		[WH_INTAKE_SLOT_INVALID] = {DM_PROBLEM_SLOT_NOT_OFFERED, "the chosen slot is not offered for this order"},
		[WH_INTAKE_TOO_FAST] = {DM_PROBLEM_STOCK_CONTENTION, "stock is changing too fast for this order; retry"},
		[WH_INTAKE_UNKNOWN_SKU] = {DM_PROBLEM_UNKNOWN_SKU, "the order has unknown SKUs"},
		[WH_INTAKE_HINTS_UNAVAILABLE] = {DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable"},
		[WH_INTAKE_HINTS_FAILED] = {DM_PROBLEM_INTERNAL, "reading the catalogue failed"},
		[WH_INTAKE_STORE_UNAVAILABLE] = {DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable; retry with the same "
						      "key"},
		[WH_INTAKE_STORE_FAILED] = {DM_PROBLEM_INTERNAL, "the order could not be stored"},
		[WH_INTAKE_PLAN_FAILED] = {DM_PROBLEM_INTERNAL, "planning the order failed"},
		[WH_INTAKE_NOMEM] = {DM_PROBLEM_OUT_OF_MEMORY, "out of memory"},
		[WH_INTAKE_BAD_EVENT] = {DM_PROBLEM_INTERNAL, "internal error"},
		[WH_INTAKE_ABANDONED] = {DM_PROBLEM_COUNT, NULL}, /* answered already */
		[WH_INTAKE_PICKUP_FULL] = {DM_PROBLEM_PICKUP_POINT_FULL, "the pickup point has no place "
						 "left; GET /v1/promise offers the others"},
		[WH_INTAKE_PICKUP_INVALID] = {DM_PROBLEM_VALIDATION_FAILED, "the request body is invalid"},
		[WH_INTAKE_PICKUP_LARGE] = {DM_PROBLEM_VALIDATION_FAILED, "the request body is "
						   "invalid"},
	};
	if ((size_t)reply >= sizeof map / sizeof map[0])
		reply = WH_INTAKE_BAD_EVENT;
	*detail = map[reply].detail;
	return map[reply].kind;
}

/* Per line, why it cannot be served. */
static json_t *
dm_api_orders_lines(const struct dm_api_order *o, const struct wh_plan *plan)
{
	static const char *const names[] = {"ok", "not_served", "no_stock", "unassigned"};
	json_t *lines = json_array();
	for (size_t i = 0; plan != NULL && i < o->in.nlines; i++) {
		const struct wh_alloc_line_result *l = &plan->alloc.lines[i];
		json_array_append_new(lines, json_pack("{s:s,s:I,s:s,s:I}", "sku", o->in.lines[i].sku,
						       "qty", (json_int_t)o->in.lines[i].qty, "status",
						       names[l->status], "best_available",
						       (json_int_t)l->best_available));
	}
	return json_pack("{s:o}", "lines", lines);
}

/* The next slots with room, for a refusal for capacity. */
static json_t *
dm_api_orders_slots(const struct dm_api_order *o, const struct wh_intake_need *need)
{
	json_t *slots = json_array();
	char a[WH_CIVIL_RFC3339_LEN], b[WH_CIVIL_RFC3339_LEN];
	for (size_t i = 0; i < need->n_slots; i++) {
		wh_civil_format(need->slots[i].start_s, o->offset_s, a, sizeof a);
		wh_civil_format(need->slots[i].end_s, o->offset_s, b, sizeof b);
		json_array_append_new(slots, json_pack("{s:s,s:s,s:i}", "start", a, "end", b,
						       "remaining", (int)need->slots[i].remaining));
	}
	return json_pack("{s:o}", "slots", slots);
}

/* The SKUs the hints do not know, as validation errors (NULL when none). */
static json_t *
dm_api_orders_unknown_skus(const struct dm_api_order *o)
{
	json_t *errors = NULL;
	char field[48];
	for (size_t i = 0; i < o->in.nlines; i++) {
		if (dm_stock_hints_sku(o->cache, o->in.skus[i]) != NULL)
			continue;
		if (errors == NULL)
			errors = json_array();
		snprintf(field, sizeof field, "lines[%zu].sku", i);
		json_array_append_new(errors,
				      json_pack("{s:s,s:s}", "field", field, "message", "unknown SKU"));
	}
	return errors;
}

static json_t *
dm_api_orders_field_error(const char *field, const char *message)
{
	return json_pack("{s:[{s:s,s:s}]}", "errors", "field", field, "message", message);
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

/* Answer the order's ending. */
static void
dm_api_orders_reply(struct dm_api_order *o, const struct wh_intake_need *need)
{
	const char *detail;
	enum dm_problem kind = dm_api_orders_http(need->reply, &detail);
	json_t *extra = NULL;
	char buf[200];
	switch (need->reply) {
	case WH_INTAKE_ABANDONED: return;
	case WH_INTAKE_CREATED: dm_api_orders_reply_body(o, 201, o->resp, false); return;
	case WH_INTAKE_REPLAYED: {
		const char *body = json_string_value(json_object_get(o->res, "response"));
		dm_api_orders_reply_body(o, (int)json_integer_value(json_object_get(o->res, "status")),
					 body != NULL ? body : "{}", true);
		return;
	}
	case WH_INTAKE_KEY_REUSED:
		extra = dm_api_orders_field_error("Idempotency-Key",
						  "already used with a different request body");
		break;
	case WH_INTAKE_DUPLICATE: {
		const char *other = json_string_value(json_object_get(o->res, "order_id"));
		snprintf(buf, sizeof buf, "external_id %s already belongs to order %s", o->in.ext,
			 other != NULL ? other : "?");
		detail = buf;
		extra = json_pack("{s:s}", "order_id", other != NULL ? other : "");
		break;
	}
	case WH_INTAKE_OUT_OF_STOCK: extra = dm_api_orders_lines(o, need->plan); break;
	case WH_INTAKE_SLOT_FULL:
	case WH_INTAKE_CAPACITY_FULL: extra = dm_api_orders_slots(o, need); break;
	case WH_INTAKE_SLOT_INVALID:
		extra = dm_api_orders_field_error("slot.start", "not a slot GET /v1/promise offers "
								"for this order now");
		break;
	case WH_INTAKE_PICKUP_FULL:
		extra = json_pack("{s:s}", "pickup_point", o->in.pickup_point);
		break;
	case WH_INTAKE_PICKUP_INVALID:
		extra = dm_api_orders_field_error("pickup_point", "no open pickup point of the "
								  "order's station has this id");
		break;
	case WH_INTAKE_PICKUP_LARGE:
		extra = dm_api_orders_field_error("delivery_option",
						  "\"pickup\" is not offered for an order with "
						  "large items");
		break;
	case WH_INTAKE_UNKNOWN_SKU: {
		json_t *errors = dm_api_orders_unknown_skus(o);
		extra = json_pack("{s:o}", "errors", errors != NULL ? errors : json_array());
		break;
	}
	default: break;
	}
	dm_req_problem(o->r, kind, detail, extra);
}

/* ---- performing the needs ---- */

/* Plan over the hints with the machine's view of the counts. */
static struct wh_intake_event
dm_api_orders_plan(struct dm_api_order *o, const struct wh_intake_need *need)
{
	struct wh_err err;
	struct dm_order_planner_request req = {
		.place = &o->place,
		.cfg = &o->r->cfg->promise,
		.capacity = need->capacity,
		.now_local_s = wh_civil_from_utc(o->now_ms / 1000, o->offset_s),
		.skus = o->in.skus,
		.qty = o->qty,
		.n = o->in.nlines,
		.install = o->in.install,
	};
	enum wh_status st = dm_order_planner_run(o->cache, &req, &o->planned, &err);
	if (st != WH_OK && st != WH_E_NO_STOCK && st != WH_E_NO_CAPACITY)
		dm_log_error("http", "%s planning failed: %s: %s", o->r->id, wh_err_name(err.code),
			     err.msg);
	return (struct wh_intake_event){
		.kind = WH_INTAKE_EV_PLANNED, .plan_status = st, .plan = &o->planned.plan};
}

static void dm_api_orders_committed(struct dm_order_committer_job *job,
				    enum dm_order_committer_status status, const json_t *res);

/* Send the order (or its key check, or the same entry again) to the
 * committer. Returns 0, or -1 when out of memory. */
static int
dm_api_orders_commit(struct dm_api_order *o, const struct wh_intake_need *need)
{
	char *entry = NULL;
	if (need->commit == WH_INTAKE_COMMIT_AGAIN) {
		dm_order_committer_submit(o->r->d, &o->job);
		return 0;
	}
	if (need->commit == WH_INTAKE_COMMIT_CHECK) {
		entry = dm_order_body_check_entry(&o->in, o->id);
	} else {
		struct dm_order_body_alloc a = {.id = o->id,
						.created_at = o->created_at,
						.place = &o->place,
						.plan = need->plan,
						.utc_offset_s = o->offset_s,
						.cap = need->counters,
						.ncap = need->n_counters,
						.slot = need->slot,
						.tracking_code = o->tracking_code,
						.client_id = dm_admission_actor(o->r)};
		for (size_t k = 0; k < need->plan->alloc.n_shipments; k++)
			a.ship_wh[k] = o->planned.ship_wh[k];
		free(o->resp);
		o->resp = NULL;
		if (dm_order_body_build(&o->in, &a, &o->resp, &entry) != 0)
			entry = NULL;
	}
	if (entry == NULL)
		return -1;
	free(o->entry);
	o->entry = entry;
	o->job = (struct dm_order_committer_job){
		.key = o->in.key, .entry = entry, .done = dm_api_orders_committed, .arg = o};
	dm_order_committer_submit(o->r->d, &o->job);
	return 0;
}

static void
dm_api_orders_fetched(enum dm_stock_hints_status status, void *arg)
{
	struct dm_api_order *o = arg;
	static const enum wh_intake_io io[] = {
		[DM_STOCK_HINTS_OK] = WH_INTAKE_IO_OK,
		[DM_STOCK_HINTS_UNAVAILABLE] = WH_INTAKE_IO_UNAVAILABLE,
		[DM_STOCK_HINTS_FAILED] = WH_INTAKE_IO_FAILED,
	};
	struct wh_intake_event ev = {.kind = WH_INTAKE_EV_HINTS,
				     .answered = dm_req_answered(o->r),
				     .io = io[status]};
	if (ev.io == WH_INTAKE_IO_OK) {
		json_t *unknown = dm_api_orders_unknown_skus(o);
		ev.unknown_sku = unknown != NULL;
		json_decref(unknown);
	}
	dm_api_orders_run(o, &ev);
}

static void
dm_api_orders_counts(const struct dm_counters_counts *counts, void *arg)
{
	struct dm_api_order *o = arg;
	struct wh_intake_event ev = {.kind = WH_INTAKE_EV_COUNTS,
				     .answered = dm_req_answered(o->r),
				     .io = WH_INTAKE_IO_UNAVAILABLE};
	if (counts != NULL)
		ev = (struct wh_intake_event){.kind = WH_INTAKE_EV_COUNTS,
					      .answered = ev.answered,
					      .io = WH_INTAKE_IO_OK,
					      .counts = counts->counts,
					      .n_counts = counts->n,
					      .counts_ready = counts->ready};
	dm_api_orders_run(o, &ev);
}

static void
dm_api_orders_gated(enum dm_counters_gate result, size_t full, void *arg)
{
	struct dm_api_order *o = arg;
	static const enum wh_intake_gate gate[] = {
		[DM_COUNTERS_GATE_OK] = WH_INTAKE_GATE_OK,
		[DM_COUNTERS_GATE_FULL] = WH_INTAKE_GATE_FULL,
		[DM_COUNTERS_GATE_SKIPPED] = WH_INTAKE_GATE_SKIPPED,
		[DM_COUNTERS_GATE_UNKNOWN] = WH_INTAKE_GATE_UNKNOWN,
	};
	struct wh_intake_event ev = {.kind = WH_INTAKE_EV_GATED,
				     .answered = dm_req_answered(o->r),
				     .gate = gate[result],
				     .full_index = full};
	dm_api_orders_run(o, &ev);
}

static void
dm_api_orders_committed(struct dm_order_committer_job *job, enum dm_order_committer_status status,
			const json_t *res)
{
	struct dm_api_order *o = job->arg;
	static const enum wh_intake_io io[] = {
		[DM_ORDER_COMMITTER_OK] = WH_INTAKE_IO_OK,
		[DM_ORDER_COMMITTER_UNAVAILABLE] = WH_INTAKE_IO_UNAVAILABLE,
		[DM_ORDER_COMMITTER_FAILED] = WH_INTAKE_IO_FAILED,
	};
	struct wh_intake_event ev = {
		.kind = WH_INTAKE_EV_COMMITTED,
		.answered = dm_req_answered(o->r),
		.io = io[status],
		.outcome = wh_intake_outcome_parse(json_string_value(json_object_get(res, "r"))),
		.counter_key = json_string_value(
			json_object_get(json_object_get(res, "counter"), "k")),
	};
	/* The levels the transaction saw: a placed order's reservations, or
	 * every level of the SKUs it lost a race for. */
	if (ev.outcome == WH_INTAKE_OUT_OK)
		dm_stock_hints_note_json(o->cache, json_object_get(res, "stock"), false);
	else if (ev.outcome == WH_INTAKE_OUT_NO_STOCK || ev.outcome == WH_INTAKE_OUT_CAPACITY_FULL)
		dm_stock_hints_note_json(o->cache, json_object_get(res, "stock"), true);
	o->res = res;
	dm_api_orders_run(o, &ev);
}

/* Step the flow with ev and perform its needs until one waits for a backend
 * (its callback steps again) or the flow replies. The reply is the one exit:
 * o is freed there and must not be touched after this returns. */
static void
dm_api_orders_run(struct dm_api_order *o, const struct wh_intake_event *ev)
{
	struct dm_daemon *d = o->r->d;
	struct wh_intake_event next;
	struct wh_intake_need need = wh_intake_step(&o->flow, ev);
	for (;;) {
		switch (need.kind) {
		case WH_INTAKE_NEED_HINTS:
			o->res = NULL;
			if (dm_stock_hints_fetch(o->cache, o->in.skus, o->in.nlines,
						 dm_api_orders_fetched, o) == 0)
				return;
			next = (struct wh_intake_event){.kind = WH_INTAKE_EV_HINTS,
							.io = WH_INTAKE_IO_UNAVAILABLE};
			break;
		case WH_INTAKE_NEED_COUNTS:
			o->res = NULL;
			if (dm_counters_read(d, o->place.station_id, dm_api_orders_counts, o) == 0)
				return;
			next = (struct wh_intake_event){.kind = WH_INTAKE_EV_COUNTS,
							.io = WH_INTAKE_IO_UNAVAILABLE};
			break;
		case WH_INTAKE_NEED_PLAN: next = dm_api_orders_plan(o, &need); break;
		case WH_INTAKE_NEED_GATE:
			/* May call back at once (Redis down): nothing after it. */
			o->res = NULL;
			dm_counters_gate(d, o->place.station_id, need.counters, need.n_counters,
					 dm_api_orders_gated, o);
			return;
		case WH_INTAKE_NEED_RELEASE:
			dm_counters_release(d, o->place.station_id, need.counters, need.n_counters);
			next = (struct wh_intake_event){.kind = WH_INTAKE_EV_RELEASED};
			break;
		case WH_INTAKE_NEED_COMMIT:
			o->res = NULL;
			if (dm_api_orders_commit(o, &need) == 0)
				return;
			next = (struct wh_intake_event){.kind = WH_INTAKE_EV_NOMEM};
			break;
		case WH_INTAKE_NEED_REPLY:
			dm_api_orders_reply(o, &need);
			dm_api_orders_free(o);
			return;
		case WH_INTAKE_NEED_NONE:
		default:
			/* Not reached: the reply ends every flow. */
			dm_log_error("http", "%s order flow ended without a reply", o->r->id);
			dm_req_problem(o->r, DM_PROBLEM_INTERNAL, "internal error", NULL);
			dm_api_orders_free(o);
			return;
		}
		need = wh_intake_step(&o->flow, &next);
	}
}

/* ---- POST /v1/orders ---- */

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
			       dm_api_orders_field_error("station_id", "no such station"));
		return -1;
	case DM_AREAS_OUTSIDE:
	default:
		dm_req_problem(o->r, DM_PROBLEM_OUTSIDE_COVERAGE, "the customer is outside every delivery area",
			       dm_api_orders_field_error("customer",
							 "outside every delivery area"));
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
	/* The daemon's time source ([testing] clock in tests, else the system). */
	dm_clock_now_ms(&o->now_ms, &o->offset_s);
	for (size_t i = 0; i < o->in.nlines; i++)
		o->qty[i] = o->in.lines[i].qty;
	dm_order_body_new_id(o->now_ms, o->id);
	dm_order_body_format_utc(o->now_ms, o->created_at);
	if (dm_order_body_new_tracking_code(o->tracking_code) != 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_READY,
			       "no random bytes for a tracking code yet; retry", NULL);
		dm_api_orders_free(o);
		return;
	}
	if (dm_api_orders_locate(o) != 0) {
		dm_api_orders_free(o); /* before the flow: nothing else to undo */
		return;
	}
	struct wh_intake_order order = {
		.cfg = &r->cfg->promise,
		.now_local_s = wh_civil_from_utc(o->now_ms / 1000, o->offset_s),
		.has_slot = o->in.has_slot,
		.slot_local_s = wh_civil_from_utc(o->in.slot_utc_s, o->offset_s),
		.hints_fresh = dm_stock_hints_fresh(cache, o->in.skus, o->in.nlines,
						    dm_clock_mono_s()),
		.pickup = o->in.pickup_point[0] != '\0',
	};
	wh_intake_init(&o->flow, &order);
	dm_api_orders_run(o, &(struct wh_intake_event){.kind = WH_INTAKE_EV_START});
}

/* ---- GET /v1/orders/{id} ---- */

static void
dm_api_orders_get_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such order");
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
	(void)dm_req_pg_query(r, "SELECT order_doc_events($1)", 1, params, DM_REQ_PG_READ,
			      dm_api_orders_get_done);
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
dm_api_orders_cancel_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
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
		static const char *const known[] = {"reason", NULL};
		json_t *errors = json_array();
		if ((v != NULL && reason == NULL) ||
		    (reason != NULL && strlen(reason) > DM_INTAKE_REASON_MAX))
			dm_field_errors_add(errors, "reason", "must be a string of at most 200 bytes");
		dm_field_errors_unknown(body, "", known, errors);
		if (json_array_size(errors) > 0) {
			json_decref(body);
			dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid cancellation",
				       json_pack("{s:o}", "errors", errors));
			return;
		}
		json_decref(errors);
		if (reason == NULL)
			reason = "";
	}
	const char *params[] = {id, reason};
	(void)dm_req_pg_query(r, "SELECT intake_cancel($1, $2)", 2, params, DM_REQ_PG_WRITE,
			      dm_api_orders_cancel_done);
	json_decref(body);
}

static const struct dm_route dm_api_orders_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/orders",
	 .handler = dm_api_orders_post,
	 .body_limit = DM_H_ORDERS_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}",
	 .handler = dm_api_orders_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/orders/{id}/cancel",
	 .handler = dm_api_orders_cancel,
	 .body_limit = 4096,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
};

const struct dm_route_table dm_api_orders_table = {
	dm_api_orders_routes, sizeof dm_api_orders_routes / sizeof dm_api_orders_routes[0]};
