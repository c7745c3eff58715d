/* The service bookings of an order (issue 12, part P2; order_service and
 * admin): GET /v1/orders/{id}/service-slots?type=T&line=N[&with_delivery=]
 * offers the windows where an engineer with the skill has a visit left;
 * POST /v1/orders/{id}/services books one (Idempotency-Key required);
 * GET /v1/orders/{id}/services lists them; GET, PATCH (reschedule) and
 * DELETE (cancel) /v1/orders/{id}/services/{appointment}. The windows,
 * the engineers' capacity, the choice of the engineer under row locks (the
 * last unit goes to exactly one booking), the events and the replays are
 * decided in SQL (data/sql/service_*.sql); this file checks the request
 * (api/booking_body.c), hands the SQL the configuration it needs ([services]
 * windows, horizon and cut-off, the service types with their price lists as
 * GET /v1/service-types shows them (api/service_types.c),
 * [promise] timezone, the daemon's clock) and maps the answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "daemon/api/admission.h"
#include "daemon/api/booking_body.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/api/service_types.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"

#define DM_API_ORDER_SERVICES_BODY_MAX 4096

/* The arguments every service function takes from the configuration, as
 * text: owned by the struct (dm_api_order_services_conf_free). */
struct dm_api_order_services_conf {
	char *types;   /* [{"category", "type", "duration_s", "price_list"}] */
	char *windows; /* [services] windows (dm_booking_body_windows) */
	char horizon[16];
	char cutoff_h[16];
	char now[DM_BOOKING_BODY_TIME_LEN]; /* the daemon's clock, UTC */
};

static void
dm_api_order_services_conf_free(struct dm_api_order_services_conf *c)
{
	free(c->types);
	free(c->windows);
}

/* Fill c from r's configuration snapshot. -1 (r answered) when out of memory. */
static int
dm_api_order_services_conf(struct dm_req *r, struct dm_api_order_services_conf *c)
{
	const struct cfg *cfg = r->cfg->cfg;
	json_t *types = json_array();
	for (int i = 0; types != NULL && i < cfg->n_service_types; i++) {
		const struct cfg_service_type *t = &cfg->service_types[i];
		json_array_append_new(types, json_pack("{s:s,s:s,s:i,s:o}", "category", t->category,
						       "type", t->type, "duration_s",
						       t->duration_s, "price_list",
						       dm_service_price_list_json(t)));
	}
	json_t *windows = dm_booking_body_windows(&cfg->services_windows);
	c->types = types != NULL ? json_dumps(types, JSON_COMPACT) : NULL;
	c->windows = windows != NULL ? json_dumps(windows, JSON_COMPACT) : NULL;
	json_decref(types);
	json_decref(windows);
	snprintf(c->horizon, sizeof c->horizon, "%d", cfg->services_horizon_days);
	snprintf(c->cutoff_h, sizeof c->cutoff_h, "%d", cfg->services_change_cutoff_h);
	int64_t now_s;
	int32_t offset_s;
	struct tm tm;
	dm_clock_now(&now_s, &offset_s);
	time_t t = (time_t)now_s;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(c->now, sizeof c->now, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(c->now, sizeof c->now, "1970-01-01T00:00:00Z");
	if (c->types == NULL || c->windows == NULL) {
		dm_api_order_services_conf_free(c);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return -1;
	}
	return 0;
}

/* An appointment id: svc_ and 16 lower-case hex digits. */
static bool
dm_api_order_services_valid_id(const char *s)
{
	if (strncmp(s, "svc_", 4) != 0 || strlen(s) != 20)
		return false;
	for (size_t i = 4; i < 20; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The order (and appointment) of the path exist in form; else 404. */
static bool
dm_api_order_services_path(struct dm_req *r, bool appointment)
{
	if (!dm_order_body_valid_id(r->params[0]) ||
	    (appointment && !dm_api_order_services_valid_id(r->params[1]))) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND,
			       appointment ? "no such appointment" : "no such order", NULL);
		return false;
	}
	return true;
}

static void
dm_api_order_services_invalid(struct dm_req *r, const char *detail, json_t *errors)
{
	dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
		       json_pack("{s:o}", "errors", errors));
}

/* One field error as a 422's extra members. */
static json_t *
dm_api_order_services_field(const char *field, const char *message)
{
	return json_pack("{s:[{s:s,s:s}]}", "errors", "field", field, "message", message);
}

/* Answer one SQL answer {"r": ...}: ok (and replay) with ok_status and
 * the member doc ("appointment"; NULL: the answer itself without "r"). */
static void
dm_api_order_services_answer(struct dm_req *r, json_t *res, int ok_status, const char *doc)
{
	const char *what = json_string_value(json_object_get(res, "r"));
	char detail[256];
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
	if (what == NULL) {
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	} else if (strcmp(what, "ok") == 0 || strcmp(what, "replay") == 0) {
		bool replay = strcmp(what, "replay") == 0;
		json_t *body = json_incref(doc != NULL ? json_object_get(res, doc) : res);
		if (doc == NULL)
			json_object_del(body, "r"); /* frees what */
		const char *id = json_string_value(json_object_get(body, "id"));
		if (ok_status == 201 && id != NULL) {
			snprintf(detail, sizeof detail, "/v1/orders/%s/services/%s", r->params[0],
				 id);
			evhttp_add_header(h, "Location", detail);
		}
		if (replay)
			evhttp_add_header(h, "Idempotent-Replayed", "true");
		dm_req_reply_json(r, ok_status, body);
	} else if (strcmp(what, "not_found") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND,
			       r->nparams > 1 ? "no such appointment" : "no such order", NULL);
	} else if (strcmp(what, "cancelled") == 0) {
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, "the order is cancelled",
			       json_pack("{s:s}", "current_status", "cancelled"));
	} else if (strcmp(what, "no_line") == 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "the order has no such line",
			       dm_api_order_services_field("line", "the order has no such line"));
	} else if (strcmp(what, "unknown_type") == 0) {
		const char *cat = json_string_value(json_object_get(res, "category"));
		snprintf(detail, sizeof detail, "no such service type for category %s (GET "
			 "/v1/service-types)", cat != NULL ? cat : "?");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
			       dm_api_order_services_field("type", detail));
	} else if (strcmp(what, "not_installable") == 0) {
		const char *sku = json_string_value(json_object_get(res, "sku"));
		snprintf(detail, sizeof detail, "the sku %s is not installable",
			 sku != NULL ? sku : "?");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
			       dm_api_order_services_field("type", detail));
	} else if (strcmp(what, "not_offered") == 0) {
		dm_req_problem(r, DM_PROBLEM_SLOT_NOT_OFFERED,
			       "window_start is not one of the offered windows "
			       "(GET /v1/orders/{id}/service-slots)", NULL);
	} else if (strcmp(what, "exhausted") == 0) {
		dm_req_problem(r, DM_PROBLEM_CAPACITY_EXHAUSTED,
			       "no engineer has a visit left in this window", NULL);
	} else if (strcmp(what, "exists") == 0) {
		dm_req_problem(r, DM_PROBLEM_ALREADY_EXISTS,
			       "this line already has a visit of this type booked",
			       json_pack("{s:O}", "appointment",
					 json_object_get(res, "appointment")));
	} else if (strcmp(what, "mismatch") == 0) {
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED,
			       "the Idempotency-Key was used for another booking", NULL);
	} else if (strcmp(what, "illegal") == 0) {
		const char *cur = json_string_value(json_object_get(res, "current"));
		snprintf(detail, sizeof detail, "the appointment is %s", cur != NULL ? cur : "?");
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s}", "current_status", cur != NULL ? cur : ""));
	} else if (strcmp(what, "too_late") == 0) {
		const char *cut = json_string_value(json_object_get(res, "cutoff"));
		snprintf(detail, sizeof detail,
			 "changes were allowed until %s ([services] change_cutoff_hours before "
			 "the window)", cut != NULL ? cut : "?");
		dm_req_problem(r, DM_PROBLEM_TOO_LATE_TO_CANCEL, detail,
			       json_pack("{s:s}", "cutoff", cut != NULL ? cut : ""));
	} else {
		dm_log_error("pg", "%s service booking: unexpected answer %s", r->id, what);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
}

/* The one JSON cell of reply, or NULL after answering 503. */
static json_t *
dm_api_order_services_result(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1 && !PQgetisnull(reply->res, 0, 0))
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (res == NULL && !dm_req_answered(r)) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s service booking query failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	}
	return res;
}

static void
dm_api_order_services_slots_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = dm_api_order_services_result(r, reply);
	if (res != NULL && !dm_req_answered(r))
		dm_api_order_services_answer(r, res, 200, NULL);
	json_decref(res);
}

static void
dm_api_order_services_created(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = dm_api_order_services_result(r, reply);
	if (res != NULL && !dm_req_answered(r))
		dm_api_order_services_answer(r, res, 201, "appointment");
	json_decref(res);
}

static void
dm_api_order_services_changed(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = dm_api_order_services_result(r, reply);
	if (res != NULL && !dm_req_answered(r))
		dm_api_order_services_answer(r, res, 200, "appointment");
	json_decref(res);
}

/* ---- GET /v1/orders/{id}/service-slots ---- */

static void
dm_api_order_services_slots(struct dm_req *r)
{
	struct dm_booking_body q;
	struct dm_api_order_services_conf c;
	if (!dm_api_order_services_path(r, false))
		return;
	json_t *errors = json_array();
	if (dm_booking_body_slots_query(dm_req_query(r, "type"), dm_req_query(r, "line"),
					dm_req_query(r, "with_delivery"), &q, errors) != 0) {
		dm_api_order_services_invalid(r, "invalid slot query", errors);
		return;
	}
	json_decref(errors);
	if (dm_api_order_services_conf(r, &c) != 0)
		return;
	char line[16];
	snprintf(line, sizeof line, "%d", q.line);
	const char *params[] = {r->params[0], line, q.type, c.types, c.windows, r->cfg->promise.tz,
				c.horizon, c.now, q.with_delivery ? "true" : "false"};
	(void)dm_req_pg_query(r,
			      "SELECT service_slots($1, $2::integer, $3, $4::jsonb, $5::jsonb, $6, "
			      "$7::integer, $8::timestamptz, $9::boolean)",
			      9, params, DM_REQ_PG_READ, dm_api_order_services_slots_done);
	dm_api_order_services_conf_free(&c);
}

/* ---- POST /v1/orders/{id}/services ---- */

static void
dm_api_order_services_book(struct dm_req *r)
{
	struct dm_booking_body b;
	struct dm_api_order_services_conf c;
	if (!dm_api_order_services_path(r, false))
		return;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(errors, key, true);
	int rc = dm_booking_body_booking(body, &b, errors);
	json_decref(body);
	if (rc != 0 || json_array_size(errors) > 0) {
		dm_api_order_services_invalid(r, "invalid booking", errors);
		return;
	}
	json_decref(errors);
	json_t *req = dm_booking_body_request(&b);
	char *request = req != NULL ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (request == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	if (dm_api_order_services_conf(r, &c) != 0) {
		free(request);
		return;
	}
	char line[16];
	snprintf(line, sizeof line, "%d", b.line);
	const char *params[] = {r->params[0], line, b.type, c.types, c.windows,
				r->cfg->promise.tz, c.horizon, c.cutoff_h, c.now, b.window_start,
				b.with_delivery ? "true" : "false", dm_admission_actor(r), key,
				request};
	(void)dm_req_pg_query(r,
			      "SELECT service_book($1, $2::integer, $3, $4::jsonb, $5::jsonb, $6, "
			      "$7::integer, $8::integer, $9::timestamptz, $10::timestamptz, "
			      "$11::boolean, $12, $13, $14::jsonb)",
			      14, params, DM_REQ_PG_WRITE, dm_api_order_services_created);
	dm_api_order_services_conf_free(&c);
	free(request);
}

/* ---- GET /v1/orders/{id}/services and .../services/{appointment} ---- */

static void
dm_api_order_services_list_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such order");
}

static void
dm_api_order_services_list(struct dm_req *r)
{
	if (!dm_api_order_services_path(r, false))
		return;
	char cutoff_h[16];
	snprintf(cutoff_h, sizeof cutoff_h, "%d", r->cfg->cfg->services_change_cutoff_h);
	const char *params[] = {r->params[0], r->cfg->promise.tz, cutoff_h};
	(void)dm_req_pg_query(
		r,
		"SELECT jsonb_build_object('order', o.id, 'services', coalesce((SELECT "
		"jsonb_agg(service_appointment_doc(a.id, $2, $3::integer) "
		"ORDER BY a.created_at, a.id) "
		"FROM service_appointments a WHERE a.order_id = o.id), '[]'::jsonb)) "
		"FROM orders o WHERE o.id = $1",
		3, params, DM_REQ_PG_READ, dm_api_order_services_list_done);
}

static void
dm_api_order_services_get_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	dm_req_reply_pg_doc(r, reply, "no such appointment");
}

static void
dm_api_order_services_get(struct dm_req *r)
{
	if (!dm_api_order_services_path(r, true))
		return;
	char cutoff_h[16];
	snprintf(cutoff_h, sizeof cutoff_h, "%d", r->cfg->cfg->services_change_cutoff_h);
	const char *params[] = {r->params[0], r->params[1], r->cfg->promise.tz, cutoff_h};
	(void)dm_req_pg_query(r,
			      "SELECT service_appointment_doc(a.id, $3, $4::integer) "
			      "FROM service_appointments a WHERE a.id = $2 AND a.order_id = $1",
			      4, params, DM_REQ_PG_READ, dm_api_order_services_get_done);
}

/* ---- PATCH and DELETE /v1/orders/{id}/services/{appointment} ---- */

/* Send service_change: a reschedule when b is set, else a cancel. */
static void
dm_api_order_services_change(struct dm_req *r, const struct dm_booking_body *b,
			     const char *reason)
{
	struct dm_api_order_services_conf c;
	if (dm_api_order_services_conf(r, &c) != 0)
		return;
	const char *params[] = {r->params[0], r->params[1], c.types, c.windows,
				r->cfg->promise.tz, c.horizon, c.cutoff_h, c.now,
				b != NULL ? b->window_start : NULL,
				b == NULL || !b->with_delivery_given ? NULL
				: b->with_delivery ? "true" : "false",
				reason,
				dm_admission_actor(r)};
	(void)dm_req_pg_query(r,
			      "SELECT service_change($1, $2, $3::jsonb, $4::jsonb, $5, "
			      "$6::integer, $7::integer, $8::timestamptz, $9::timestamptz, "
			      "$10::boolean, $11, $12)",
			      12, params, DM_REQ_PG_WRITE, dm_api_order_services_changed);
	dm_api_order_services_conf_free(&c);
}

static void
dm_api_order_services_patch(struct dm_req *r)
{
	struct dm_booking_body b;
	if (!dm_api_order_services_path(r, true))
		return;
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	int rc = dm_booking_body_reschedule(body, &b, errors);
	json_decref(body);
	if (rc != 0) {
		dm_api_order_services_invalid(r, "invalid reschedule", errors);
		return;
	}
	json_decref(errors);
	dm_api_order_services_change(r, &b, NULL);
}

static void
dm_api_order_services_delete(struct dm_req *r)
{
	const char *reason = "";
	json_t *body = NULL;
	if (!dm_api_order_services_path(r, true))
		return;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) > 0) {
		if ((body = dm_req_body_json(r)) == NULL)
			return;
		json_t *errors = json_array();
		if (dm_booking_body_cancel(body, &reason, errors) != 0) {
			json_decref(body);
			dm_api_order_services_invalid(r, "invalid cancellation", errors);
			return;
		}
		json_decref(errors);
	}
	dm_api_order_services_change(r, NULL, reason);
	json_decref(body); /* reason was borrowed from it until the query was sent */
}

#define DM_API_ORDER_SERVICES_ROLES (DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE))

static const struct dm_route dm_api_order_services_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}/service-slots",
	 .handler = dm_api_order_services_slots,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_ORDER_SERVICES_ROLES},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/orders/{id}/services",
	 .handler = dm_api_order_services_book,
	 .body_limit = DM_API_ORDER_SERVICES_BODY_MAX,
	 .roles = DM_API_ORDER_SERVICES_ROLES},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}/services",
	 .handler = dm_api_order_services_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_ORDER_SERVICES_ROLES},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/orders/{id}/services/{appointment}",
	 .handler = dm_api_order_services_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_API_ORDER_SERVICES_ROLES},
	{.methods = EVHTTP_REQ_PATCH,
	 .pattern = "/v1/orders/{id}/services/{appointment}",
	 .handler = dm_api_order_services_patch,
	 .body_limit = DM_API_ORDER_SERVICES_BODY_MAX,
	 .roles = DM_API_ORDER_SERVICES_ROLES},
	{.methods = EVHTTP_REQ_DELETE,
	 .pattern = "/v1/orders/{id}/services/{appointment}",
	 .handler = dm_api_order_services_delete,
	 .body_limit = DM_API_ORDER_SERVICES_BODY_MAX,
	 .roles = DM_API_ORDER_SERVICES_ROLES},
};

const struct dm_route_table dm_api_order_services_table = {
	dm_api_order_services_routes,
	sizeof dm_api_order_services_routes / sizeof dm_api_order_services_routes[0]};
