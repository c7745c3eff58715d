/* The stops resource of the handheld (docs/api.md, "Couriers' handheld"):
 *
 *   POST /v1/stops/{id}/events   arrived | delivered | failed | picked_up,
 *                                with an Idempotency-Key header
 *
 * Role courier only; the stop must be on the calling courier's current
 * route (anything else is 404, as if it did not exist). This file checks
 * the body (api/handheld_body.c), works out the station's next waves for a
 * retry from the [promise] waves, and maps the answer of stop_event()
 * (data/sql/stop_event.sql), which does the rest in one transaction under
 * the stop's row lock. A 200 answer is the stored document, so a replay is
 * byte for byte the first answer. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/couriers_me.h"
#include "daemon/api/handheld_body.h"
#include "daemon/api/handheld_answer.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/tables.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "warehouse/capacity.h"
#include "warehouse/civil.h"
#include "warehouse/promise.h"

#define DM_API_STOPS_BODY_MAX 4096
#define DM_API_STOPS_WAVES 8       /* next waves offered to a retry */
#define DM_API_STOPS_DAYS 8        /* days looked at for them */

/* True for a stop id's shape ("stp_" and 16 lower-case hex digits). */
static bool
dm_api_stops_valid_id(const char *id)
{
	return strlen(id) == 20 && strncmp(id, "stp_", 4) == 0 &&
	       strspn(id + 4, "0123456789abcdef") == 16;
}

/* The region's next waves starting after now_s, as
 * [{"key","start","end"}] text (RFC 3339 UTC): where a failed delivery's
 * retry goes (stop_event takes the first). Owned by the caller: free(). */
static char *
dm_api_stops_next_waves(const struct wh_promise_config *cfg, int64_t now_s, int32_t offset_s)
{
	json_t *out = json_array();
	size_t n, idx[WH_PROMISE_MAX_WAVES];
	const struct wh_wave *waves = wh_promise_station_waves(cfg, NULL, &n);
	int64_t today = wh_civil_day(wh_civil_from_utc(now_s, offset_s));
	for (int64_t day = today; day < today + DM_API_STOPS_DAYS; day++) {
		size_t k = wh_promise_day_waves(waves, n, day, idx);
		for (size_t i = 0; i < k && json_array_size(out) < DM_API_STOPS_WAVES; i++) {
			const struct wh_wave *w = &waves[idx[i]];
			int64_t start = wh_civil_to_utc(wh_civil_at(day, w->start_s), offset_s);
			int64_t end = wh_civil_to_utc(wh_civil_at(day, w->end_s), offset_s);
			struct wh_capacity_ref ref = {.kind = WH_CAPACITY_WAVE, .day = day,
						      .start_s = w->start_s, .end_s = w->end_s};
			char key[WH_CAPACITY_KEY_LEN];
			char s[WH_CIVIL_RFC3339_LEN], e[WH_CIVIL_RFC3339_LEN];
			if (start <= now_s || wh_capacity_key(&ref, key, sizeof key) == 0 ||
			    wh_civil_format(wh_civil_from_utc(start, 0), 0, s, sizeof s) == 0 ||
			    wh_civil_format(wh_civil_from_utc(end, 0), 0, e, sizeof e) == 0)
				continue;
			json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "key", key,
							     "start", s, "end", e));
		}
	}
	char *text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return text;
}

static void
dm_api_stops_event_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	static const struct dm_api_handheld_answer how = {"stop", "no such stop on your route"};
	dm_api_handheld_answer(r, reply, &how);
}

static void
dm_api_stops_event(struct dm_req *r)
{
	int64_t now_ms;
	int32_t offset_s;
	char today[16], at[32], attempts[16];
	const char *me = dm_api_couriers_me_id(r);
	if (me == NULL)
		return;
	if (!dm_api_stops_valid_id(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such stop on your route", NULL);
		return;
	}
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	const char *key = dm_req_header(r, "Idempotency-Key");
	dm_field_errors_idempotency_key(errors, key, true);
	json_t *ev = dm_handheld_body_event(body, errors);
	json_decref(body);
	if (json_array_size(errors) > 0) {
		json_decref(ev);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid stop event",
			       json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	dm_api_couriers_me_now(&now_ms, &offset_s, today);
	char *req = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
	char *waves = dm_api_stops_next_waves(&r->cfg->promise, now_ms / 1000, offset_s);
	json_decref(ev);
	if (req == NULL || waves == NULL) {
		free(req);
		free(waves);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	snprintf(at, sizeof at, "%" PRId64, now_ms);
	snprintf(attempts, sizeof attempts, "%d", r->cfg->cfg->dispatch_max_attempts);
	const char *params[] = {me, r->params[0], key, req, at, attempts, waves};
	(void)dm_req_pg_query(
		r,
		"SELECT a->>'r', (a->'stop')::text, a->>'current', a->>'field', a->>'message' "
		"FROM stop_event($1, $2, $3, $4::jsonb, to_timestamp($5::float8 / 1000), "
		"$6::integer, $7::jsonb) AS a",
		7, params, DM_REQ_PG_WRITE, dm_api_stops_event_done);
	free(req);
	free(waves);
}

static const struct dm_route dm_api_stops_routes[] = {
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/stops/{id}/events",
	 .handler = dm_api_stops_event,
	 .body_limit = DM_API_STOPS_BODY_MAX,
	 .roles = DM_ROLE(COURIER)},
};

const struct dm_route_table dm_api_stops_table = {
	dm_api_stops_routes, sizeof dm_api_stops_routes / sizeof dm_api_stops_routes[0]};
