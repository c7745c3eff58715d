/* The exchanges resource (issue 12, part P5; docs/api.md "Exchanges"):
 * POST /v1/orders/{id}/exchanges takes delivered lines back and delivers a
 * replacement (the same sku, or replacement_sku: another size) at one
 * exchange stop of the chosen pickup wave. The request needs an
 * Idempotency-Key, as POST /v1/orders. This file checks the body, finds
 * the pickup wave's window in the [promise] waves, hands the [returns]
 * policies to SQL, and maps the answers; exchange_create()
 * (data/sql/exchange_create.sql) decides the rest in one transaction: the
 * window, the quantities left, the reservation of the replacement, the
 * return and its stop, and the replay of a key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/api/admission.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/api/returns_body.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/query_parse.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/stock_hints.h"
#include "warehouse/capacity.h"
#include "warehouse/civil.h"
#include "warehouse/promise.h"

#define DM_API_EXCHANGES_BODY_MAX 16384
#define DM_API_EXCHANGES_WAVE_MSG                                                                \
	"must be the key of a wave still to come, at most pickup_days_ahead days ahead, such as " \
	"20261123-W0900"

/* The pickup wave's window, RFC 3339 with the region's offset. */
struct dm_api_exchanges_wave {
	char start[WH_CIVIL_RFC3339_LEN];
	char end[WH_CIVIL_RFC3339_LEN];
};

/* The window of pickup wave key: a wave of the region's [promise] waves
 * that runs that day, starts after now and at most returns
 * pickup_days_ahead days after today. False when it is none. */
static bool
dm_api_exchanges_wave(const struct dm_cfg_snap *cfg, const char *key,
		      struct dm_api_exchanges_wave *out)
{
	struct wh_capacity_ref ref;
	int64_t now_s;
	int32_t offset_s;
	size_t n, idx[WH_PROMISE_MAX_WAVES];
	if (!dm_query_parse_wave_key(key, &ref))
		return false;
	dm_clock_now(&now_s, &offset_s);
	int64_t today = wh_civil_day(wh_civil_from_utc(now_s, offset_s));
	if (ref.day < today || ref.day > today + cfg->cfg->returns_pickup_days_ahead)
		return false;
	const struct wh_wave *waves = wh_promise_station_waves(&cfg->promise, NULL, &n);
	size_t k = wh_promise_day_waves(waves, n, ref.day, idx);
	for (size_t i = 0; i < k; i++) {
		const struct wh_wave *w = &waves[idx[i]];
		if (w->start_s != ref.start_s)
			continue;
		int64_t start = wh_civil_at(ref.day, w->start_s);
		int64_t end = wh_civil_at(ref.day, w->end_s);
		if (wh_civil_to_utc(start, offset_s) <= now_s)
			return false;
		return wh_civil_format(start, offset_s, out->start, sizeof out->start) > 0 &&
		       wh_civil_format(end, offset_s, out->end, sizeof out->end) > 0;
	}
	return false;
}

/* One policy as {"window_days","defect_window_days","quick_refund_max_fen"}. */
static json_t *
dm_api_exchanges_policy(const struct cfg_return_policy *p)
{
	return json_pack("{s:i,s:i,s:I}", "window_days", p->window_days, "defect_window_days",
			 p->defect_window_days, "quick_refund_max_fen",
			 (json_int_t)p->quick_refund_max_fen);
}

/* The [returns] policies as exchange_create takes them. */
static json_t *
dm_api_exchanges_policies(const struct cfg *cfg)
{
	json_t *cats = json_object();
	for (int i = 0; i < cfg->n_return_policies; i++)
		json_object_set_new(cats, cfg->return_policies[i].category,
				    dm_api_exchanges_policy(&cfg->return_policies[i]));
	return json_pack("{s:o,s:o}", "default", dm_api_exchanges_policy(&cfg->returns_default),
			 "categories", cats);
}

static void
dm_api_exchanges_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1 && !PQgetisnull(reply->res, 0, 0))
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	const char *what = json_string_value(json_object_get(res, "r"));
	struct dm_stock_hints *cache = dm_stock_hints_get(r->d);
	if (what != NULL && strcmp(what, "ok") == 0 && cache != NULL)
		dm_stock_hints_note_json(cache, json_object_get(res, "stock"), false);
	if (dm_req_answered(r))
		goto out;
	const char *text = json_string_value(json_object_get(res, "response"));
	char detail[200];
	if (what == NULL) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s exchange failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	} else if ((strcmp(what, "ok") == 0 || strcmp(what, "replay") == 0) && text != NULL) {
		json_int_t st = json_integer_value(json_object_get(res, "status"));
		if (strcmp(what, "replay") == 0)
			evhttp_add_header(evhttp_request_get_output_headers(r->req),
					  "Idempotent-Replayed", "true");
		dm_req_reply(r, st > 0 ? (int)st : 201, "application/json", text, strlen(text));
	} else if (strcmp(what, "not_found") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
	} else if (strcmp(what, "not_delivered") == 0) {
		const char *cur = json_string_value(json_object_get(res, "status"));
		snprintf(detail, sizeof detail, "line %lld of the order is not delivered",
			 (long long)json_integer_value(json_object_get(res, "line")));
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s,s:O}", "current_status", cur != NULL ? cur : "",
					 "line", json_object_get(res, "line")));
	} else if (strcmp(what, "window_closed") == 0) {
		snprintf(detail, sizeof detail,
			 "the %lld-day window after delivery (%s) closed at %s",
			 (long long)json_integer_value(json_object_get(res, "window_days")),
			 json_string_value(json_object_get(res, "delivered_at")),
			 json_string_value(json_object_get(res, "window_end")));
		json_object_del(res, "r");
		dm_req_problem(r, DM_PROBLEM_RETURN_WINDOW_CLOSED, detail, json_incref(res));
	} else if (strcmp(what, "invalid") == 0) {
		const char *field = json_string_value(json_object_get(res, "field"));
		snprintf(detail, sizeof detail, "invalid %s", field != NULL ? field : "?");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
			       json_pack("{s:[{s:O,s:O}]}", "errors", "field",
					 json_object_get(res, "field"), "message",
					 json_object_get(res, "message")));
	} else if (strcmp(what, "out_of_stock") == 0) {
		snprintf(detail, sizeof detail, "no warehouse has %lld of %s",
			 (long long)json_integer_value(json_object_get(res, "qty")),
			 json_string_value(json_object_get(res, "sku")));
		json_object_del(res, "r");
		dm_req_problem(r, DM_PROBLEM_OUT_OF_STOCK, detail,
			       json_pack("{s:[O]}", "lines", res));
	} else if (strcmp(what, "mismatch") == 0) {
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED,
			       "the Idempotency-Key was used for another request", NULL);
	} else {
		dm_log_error("pg", "%s exchange: unexpected answer %s", r->id, what);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
out:
	json_decref(res);
}

static void
dm_api_exchanges_post(struct dm_req *r)
{
	struct dm_api_exchanges_wave wave;
	const char *id = r->params[0];
	if (!dm_order_body_valid_id(id)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such order", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array(), *lines = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	const char *reason, *notes;
	dm_field_errors_idempotency_key(errors, key, true);
	(void)dm_returns_body_exchange(body, lines, &reason, &notes, errors);
	/* Whether the wave is still to come depends on the clock and the config:
	 * when it is the only fault, exchange_create refuses it after the key's
	 * check, so a retry of an exchange made before its wave started still
	 * gets the stored 201 (as intake looks its key up before refusing). */
	const char *wk = json_string_value(json_object_get(body, "pickup_wave"));
	struct wh_capacity_ref wref;
	bool wave_ok = wk != NULL && dm_api_exchanges_wave(r->cfg, wk, &wave);
	if (!wave_ok && (wk == NULL || !dm_query_parse_wave_key(wk, &wref) ||
			 json_array_size(errors) > 0))
		dm_field_errors_add(errors, "pickup_wave", DM_API_EXCHANGES_WAVE_MSG);
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid exchange",
			       json_pack("{s:o}", "errors", errors));
		json_decref(lines);
		json_decref(body);
		return;
	}
	json_decref(errors);
	int64_t now_ms;
	int32_t offset_s;
	char new_id[32], at[32];
	dm_clock_now_ms(&now_ms, &offset_s);
	dm_order_body_new_id(now_ms, new_id);
	snprintf(at, sizeof at, "%lld", (long long)now_ms);
	json_t *req = wave_ok ? json_pack("{s:o,s:s,s:s,s:s,s:s,s:s}", "lines", lines, "reason",
					  reason, "notes", notes, "wave", wk,
					  "window_start", wave.start, "window_end", wave.end)
			      : json_pack("{s:o,s:s,s:s,s:s,s:s}", "lines", lines, "reason", reason,
					  "notes", notes, "wave", wk,
					  "wave_error", DM_API_EXCHANGES_WAVE_MSG);
	json_t *pol = dm_api_exchanges_policies(r->cfg->cfg);
	char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	char *req_text = json_dumps(req, JSON_COMPACT);
	char *pol_text = json_dumps(pol, JSON_COMPACT);
	json_decref(req);
	json_decref(pol);
	json_decref(body);
	if (canon == NULL || req_text == NULL || pol_text == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
	} else {
		const char *params[] = {id,      new_id,   key, canon, req_text,
					at,      pol_text, dm_admission_actor(r)};
		(void)dm_req_pg_query(r,
				      "SELECT exchange_create($1, $2, $3, $4, $5::jsonb, "
				      "to_timestamp($6::float8 / 1000), $7::jsonb, $8)",
				      8, params, DM_REQ_PG_WRITE, dm_api_exchanges_done);
	}
	free(canon);
	free(req_text);
	free(pol_text);
}

static const struct dm_route dm_api_exchanges_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/orders/{id}/exchanges",
	 .handler = dm_api_exchanges_post,
	 .body_limit = DM_API_EXCHANGES_BODY_MAX,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
};

const struct dm_route_table dm_api_exchanges_table = {
	dm_api_exchanges_routes,
	sizeof dm_api_exchanges_routes / sizeof dm_api_exchanges_routes[0]};
