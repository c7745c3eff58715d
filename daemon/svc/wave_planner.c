/* Route planning for one station and wave, in three steps:
 *
 *   loop:   one query reads the wave's orders (location, booked slot, weight,
 *           volume) and builds the problem as plain arrays;
 *   worker: travel matrices, rt_vrp_solver_solve with a fixed work budget
 *           and seed, and the independent validator rt_vrp_check_solution;
 *   loop:   the plan as one JSON payload to route_plan_store (012), one
 *           statement and one transaction that replaces the stored plan. The
 *           payload's GeoJSON is written here, once, from the route paths
 *           the planner gives as plain lon/lat (rt_vrp_route_path_coords).
 *
 * This file owns the planning job; it knows nothing about HTTP (api/wave_plans.c
 * maps the result to a reply). A plan the validator rejects is never stored. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/svc/wave_planner.h"
#include "daemon/base/work.h"
#include "routing/vrp/check.h"
#include "routing/vrp/route_path.h"
#include "routing/vrp/solver.h"
#include "warehouse/capacity.h"
#include "warehouse/civil.h"

#define DM_WAVE_PLANNER_ID_MAX 64

/* One planning job. Arrays are indexed by stop; location 0 is the depot and
 * location i + 1 is stop i. */
struct dm_wave_planner {
	struct dm_daemon *d;
	struct dm_wave_planner_target t;
	dm_wave_planner_done_fn *done;
	void *arg;
	/* the problem (built on the loop, read by the worker) */
	size_t n;
	char (*ids)[DM_WAVE_PLANNER_ID_MAX]; /* order id of stop i */
	double *lonlat;                    /* 2 * (n + 1) */
	double *dist_m, *time_s;           /* (n + 1)^2 each, filled by the worker */
	struct rt_vrp_stop *stops;
	struct rt_vrp_vehicle *vehicles;
	struct rt_vrp_matrix matrix;
	struct rt_vrp_problem prob;
	/* the worker's results */
	bool ran;
	enum rt_status st;
	struct rt_err err;
	struct rt_vrp_solution *sol;
	/* the claim on the wave's planning (plan_run_claim) */
	char run_id[24];
	bool claimed;
};

static void
dm_wave_planner_free(struct dm_wave_planner *p)
{
	if (p == NULL)
		return;
	free(p->ids);
	free(p->lonlat);
	free(p->dist_m);
	free(p->time_s);
	free(p->stops);
	free(p->vehicles);
	rt_vrp_solution_free(p->sol);
	free(p);
}

static void
dm_wave_planner_released(const struct dm_pg_reply *reply, void *arg)
{
	(void)reply;
	(void)arg;
}

static void
dm_wave_planner_finish(struct dm_wave_planner *p, enum dm_wave_planner_status status,
		       const char *detail, const char *doc, size_t len)
{
	struct dm_wave_planner_result res = {status, detail, doc, len, NULL};
	if (p->claimed && p->d->pg != NULL) {
		/* Fire and forget: a release lost with PostgreSQL goes stale. */
		const char *params[] = {p->t.station, p->t.wave_key, p->run_id};
		(void)dm_pg_query(p->d->pg, "SELECT plan_run_release($1, $2, $3)", 3, params,
				  dm_wave_planner_released, NULL);
	}
	p->done(&res, p->arg);
	dm_wave_planner_free(p);
}

/* ---- worker ---- */

static double
dm_wave_planner_clock(void *arg)
{
	(void)arg;
	return dm_clock_mono_s();
}

static void
dm_wave_planner_run(void *arg)
{
	struct dm_wave_planner *p = arg;
	struct rt_vrp_params pr;
	size_t nl = p->n + 1;

	p->ran = true;
	rt_vrp_problem_matrix_haversine(p->lonlat, nl, DM_WAVE_PLANNER_DETOUR,
					DM_WAVE_PLANNER_SPEED_KMH / 3.6, p->dist_m, p->time_s);
	rt_vrp_solver_params_init(&pr);
	pr.seed = DM_WAVE_PLANNER_SEED;
	pr.seconds = DM_WAVE_PLANNER_BUDGET_S;
	pr.clock = dm_wave_planner_clock;
	pr.wall_cap_s = DM_WAVE_PLANNER_WALL_CAP_S;
	p->st = rt_vrp_solver_solve(&p->prob, &pr, NULL, &p->sol, &p->err);
	if (p->st != RT_OK)
		return;
	/* Never trust the solver: a plan the validator rejects is not stored. */
	p->st = rt_vrp_check_solution(&p->prob, p->sol, NULL, &p->err);
	if (p->st != RT_OK)
		p->st = RT_E_INFEASIBLE;
}

/* ---- back on the loop: the payload for route_plan_store ---- */

/* RFC 3339 local text of second s of the wave's day. */
static json_t *
dm_wave_planner_ts(const struct dm_wave_planner *p, double s)
{
	char buf[WH_CIVIL_RFC3339_LEN];
	int64_t local = wh_civil_at(p->t.day, (int64_t)(s + 0.5));
	wh_civil_format(local, p->t.utc_offset_s, buf, sizeof buf);
	return json_string(buf);
}

static json_t *
dm_wave_planner_stops(const struct dm_wave_planner *p, const struct rt_vrp_route *r)
{
	json_t *stops = json_array();
	for (size_t k = 0; stops != NULL && k < r->n_visits; k++) {
		const struct rt_vrp_visit *v = &r->visits[k];
		const struct rt_vrp_stop *s = &p->stops[v->stop];
		json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:{s:o,s:o},s:f,s:f}", "order_id",
				      p->ids[v->stop], "arrival", dm_wave_planner_ts(p, v->arrival_s),
				      "eta", dm_wave_planner_ts(p, v->start_s), "departure",
				      dm_wave_planner_ts(p, v->departure_s), "window", "start",
				      dm_wave_planner_ts(p, s->tw_open_s), "end",
				      dm_wave_planner_ts(p, s->tw_close_s), "leg_m",
				      v->dist_from_prev_m, "weight_kg", s->delivery[0]);
		if (o == NULL || json_array_append_new(stops, o) != 0) {
			json_decref(stops);
			return NULL;
		}
	}
	return stops;
}

/* ---- the plan as GeoJSON: one LineString Feature per route, then one
 * property-only Feature listing the unassigned stops ---- */

/* A number of the geojson member. Its numbers have always carried 10
 * significant digits (7 decimals of a degree, about 1 cm; 0.1 mm of a 10 km
 * route), while the routes member carries full precision: rounding here
 * keeps stored plans as they were. */
static json_t *
dm_wave_planner_num(double v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%.10g", v);
	return json_real(strtod(buf, NULL));
}

/* Route r's path, depot to depot, as a GeoJSON LineString; NULL on OOM (or a
 * route outside the problem, which the validator has already ruled out). */
static json_t *
dm_wave_planner_line(const struct dm_wave_planner *p, const struct rt_vrp_route *r)
{
	size_t n = rt_vrp_route_path_len(r);
	double *xy = malloc(2 * n * sizeof *xy);
	json_t *coords = json_array();
	struct rt_err err;
	if (xy == NULL || coords == NULL ||
	    rt_vrp_route_path_coords(&p->prob, r, p->lonlat, xy, &err) != RT_OK)
		goto fail;
	for (size_t k = 0; k < n; k++) {
		json_t *pt = json_pack("[o,o]", dm_wave_planner_num(xy[2 * k]),
				       dm_wave_planner_num(xy[2 * k + 1]));
		if (pt == NULL || json_array_append_new(coords, pt) != 0)
			goto fail;
	}
	free(xy);
	return json_pack("{s:s,s:o}", "type", "LineString", "coordinates", coords);
fail:
	free(xy);
	json_decref(coords);
	return NULL;
}

/* Route r's Feature around its geometry (borrowed; the Feature takes a reference). */
static json_t *
dm_wave_planner_feature(const struct dm_wave_planner *p, const struct rt_vrp_route *r,
			json_t *geom)
{
	json_t *stops = json_array();
	for (size_t k = 0; stops != NULL && k < r->n_visits; k++) {
		const struct rt_vrp_visit *v = &r->visits[k];
		json_t *o = json_pack(
		    "{s:I,s:o,s:o,s:o,s:[o,o],s:s}", "stop", (json_int_t)v->stop, "arrival_s",
		    dm_wave_planner_num(v->arrival_s), "start_s", dm_wave_planner_num(v->start_s),
		    "departure_s", dm_wave_planner_num(v->departure_s), "load",
		    dm_wave_planner_num(v->load[0]), dm_wave_planner_num(v->load[1]), "order_id",
		    p->ids[v->stop]);
		if (o == NULL || json_array_append_new(stops, o) != 0) {
			json_decref(stops);
			return NULL;
		}
	}
	if (stops == NULL)
		return NULL;
	return json_pack("{s:s,s:O,s:{s:I,s:o,s:o,s:o,s:o}}", "type", "Feature", "geometry", geom,
			 "properties", "vehicle", (json_int_t)r->vehicle, "distance_m",
			 dm_wave_planner_num(r->dist_m), "depart_s", dm_wave_planner_num(r->depart_s),
			 "return_s", dm_wave_planner_num(r->return_s), "stops", stops);
}

/* The Feature without geometry that lists the unassigned stops and why. */
static json_t *
dm_wave_planner_unassigned_feature(const struct dm_wave_planner *p)
{
	const struct rt_vrp_solution *sol = p->sol;
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < sol->n_unassigned; i++) {
		json_t *o = json_pack("{s:I,s:s,s:s}", "stop", (json_int_t)sol->unassigned[i].stop,
				      "reason", rt_vrp_problem_reason_name(sol->unassigned[i].reason),
				      "order_id", p->ids[sol->unassigned[i].stop]);
		if (o == NULL || json_array_append_new(list, o) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	if (list == NULL)
		return NULL;
	return json_pack("{s:s,s:n,s:{s:o}}", "type", "Feature", "geometry", "properties",
			 "unassigned", list);
}

static json_t *
dm_wave_planner_params(const struct dm_wave_planner *p)
{
	return json_pack("{s:i,s:f,s:s,s:i,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:i}", "seed",
			 DM_WAVE_PLANNER_SEED, "budget_s", DM_WAVE_PLANNER_BUDGET_S, "objective",
			 "distance", "couriers", (int)p->prob.n_vehicles, "capacity_kg",
			 DM_WAVE_PLANNER_CAPACITY_KG, "capacity_l", DM_WAVE_PLANNER_CAPACITY_L,
			 "speed_kmh", DM_WAVE_PLANNER_SPEED_KMH, "detour", DM_WAVE_PLANNER_DETOUR,
			 "service_s", DM_WAVE_PLANNER_SERVICE_S, "work", (json_int_t)p->sol->work,
			 "iterations", (json_int_t)p->sol->iterations, "orders", (int)p->n);
}

/* The route_plan_store payload, or NULL on OOM. Each route's geometry is
 * shared by its entry in routes and its Feature in geojson. */
static json_t *
dm_wave_planner_payload(const struct dm_wave_planner *p)
{
	json_t *feats = json_array(), *routes = json_array(), *un = json_array();
	const struct rt_vrp_solution *sol = p->sol;
	if (feats == NULL || routes == NULL || un == NULL)
		goto fail;
	for (size_t ri = 0; ri < sol->n_routes; ri++) {
		const struct rt_vrp_route *r = &sol->routes[ri];
		json_t *geom = dm_wave_planner_line(p, r);
		json_t *f = geom != NULL ? dm_wave_planner_feature(p, r, geom) : NULL;
		json_t *stops = f != NULL ? dm_wave_planner_stops(p, r) : NULL;
		if (f == NULL || json_array_append_new(feats, f) != 0) {
			json_decref(geom);
			json_decref(stops);
			goto fail;
		}
		json_t *o = stops == NULL
				? NULL
				: json_pack("{s:i,s:o,s:O,s:f,s:f,s:o,s:o}", "courier",
					    (int)r->vehicle, "stops", stops, "geometry", geom,
					    "distance_m", r->dist_m, "duration_s",
					    r->return_s - r->depart_s, "depart",
					    dm_wave_planner_ts(p, r->depart_s), "return",
					    dm_wave_planner_ts(p, r->return_s));
		json_decref(geom);
		if (o == NULL || json_array_append_new(routes, o) != 0)
			goto fail;
	}
	for (size_t i = 0; i < sol->n_unassigned; i++) {
		json_t *o = json_pack("{s:s,s:s}", "order_id", p->ids[sol->unassigned[i].stop],
				      "reason",
				      rt_vrp_problem_reason_name(sol->unassigned[i].reason));
		if (o == NULL || json_array_append_new(un, o) != 0)
			goto fail;
	}
	json_t *none = dm_wave_planner_unassigned_feature(p);
	if (none == NULL || json_array_append_new(feats, none) != 0)
		goto fail;
	return json_pack("{s:o,s:i,s:o,s:o,s:{s:s,s:o}}", "params", dm_wave_planner_params(p),
			 "utc_offset_s", (int)p->t.utc_offset_s, "routes", routes, "unassigned",
			 un, "geojson", "type", "FeatureCollection", "features", feats);
fail:
	json_decref(feats);
	json_decref(routes);
	json_decref(un);
	return NULL;
}

static void
dm_wave_planner_stored(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_planner *p = arg;
	if (!reply->ok) {
		if (!reply->unavailable)
			dm_log_error("pg", "storing the plan of %s %s failed: %s", p->t.station,
				     p->t.wave_key, reply->error);
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "postgresql query failed", NULL, 0);
		return;
	}
	if (PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 0)) {
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_NOT_STORED, "the plan was not stored", NULL, 0);
		return;
	}
	dm_wave_planner_finish(p, DM_WAVE_PLANNER_OK, NULL, PQgetvalue(reply->res, 0, 0),
			       (size_t)PQgetlength(reply->res, 0, 0));
}

static void
dm_wave_planner_solved(void *arg)
{
	struct dm_wave_planner *p = arg;
	if (!p->ran || p->d->pg == NULL) { /* the daemon is stopping */
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "the daemon is stopping", NULL, 0);
		return;
	}
	if (p->st != RT_OK) {
		dm_log_error("routes", "planning %s %s failed: %s", p->t.station, p->t.wave_key,
			     p->err.msg);
		dm_wave_planner_finish(p,
				       p->st == RT_E_NOMEM ? DM_WAVE_PLANNER_UNAVAILABLE
							   : DM_WAVE_PLANNER_FAILED,
				       p->st == RT_E_INFEASIBLE ? "the planner produced an invalid "
								  "plan; nothing was stored"
								: "route planning failed",
				       NULL, 0);
		return;
	}
	json_t *payload = dm_wave_planner_payload(p);
	char *text = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	if (text == NULL) {
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "out of memory", NULL, 0);
		return;
	}
	const char *params[] = {p->t.station, p->t.wave_key, text};
	int rc = dm_pg_query(p->d->pg, "SELECT route_plan_store($1, $2, $3::jsonb)", 3, params,
			     dm_wave_planner_stored, p);
	free(text);
	if (rc != 0)
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "postgresql unavailable", NULL, 0);
}

/* ---- the orders of the wave -> the problem ---- */

static int
dm_wave_planner_alloc(struct dm_wave_planner *p, size_t n, size_t nveh)
{
	size_t nl = n + 1;
	p->n = n;
	p->ids = calloc(n + 1, sizeof *p->ids);
	p->lonlat = calloc(2 * nl, sizeof *p->lonlat);
	p->dist_m = calloc(nl * nl, sizeof *p->dist_m);
	p->time_s = calloc(nl * nl, sizeof *p->time_s);
	p->stops = calloc(n + 1, sizeof *p->stops);
	p->vehicles = calloc(nveh + 1, sizeof *p->vehicles);
	if (p->ids == NULL || p->lonlat == NULL || p->dist_m == NULL || p->time_s == NULL ||
	    p->stops == NULL || p->vehicles == NULL)
		return -1;
	p->matrix = (struct rt_vrp_matrix){p->dist_m, p->time_s};
	p->prob = (struct rt_vrp_problem){.n_locs = nl,
					  .n_stops = n,
					  .n_vehicles = nveh,
					  .n_profiles = 1,
					  .stops = p->stops,
					  .vehicles = p->vehicles,
					  .matrices = &p->matrix};
	return 0;
}

/* The service window of stop i: its booked slot clipped to the wave, or the wave. */
static void
dm_wave_planner_window(const struct dm_wave_planner *p, const char *slot_key, struct rt_vrp_stop *s)
{
	struct wh_capacity_ref ref;
	struct wh_err err;
	s->tw_open_s = p->t.wave.start_s;
	s->tw_close_s = p->t.wave.end_s;
	if (slot_key == NULL || slot_key[0] == '\0' ||
	    wh_capacity_key_parse(slot_key, strlen(slot_key), &ref, &err) != WH_OK ||
	    ref.kind != WH_CAPACITY_SLOT || ref.day != p->t.day)
		return;
	double open = ref.start_s, close = (double)ref.start_s + p->t.slot_len_s;
	if (open > s->tw_open_s)
		s->tw_open_s = open;
	if (close < s->tw_close_s)
		s->tw_close_s = close;
	if (s->tw_close_s < s->tw_open_s) /* a slot outside its wave: the wave decides */
		s->tw_close_s = s->tw_open_s = p->t.wave.start_s;
}

/* Columns: id, lon, lat, slot key, weight_g, volume_ml. */
static void
dm_wave_planner_fill(struct dm_wave_planner *p, const PGresult *res)
{
	p->lonlat[0] = p->t.lon;
	p->lonlat[1] = p->t.lat;
	for (size_t i = 0; i < p->n; i++) {
		int row = (int)i;
		struct rt_vrp_stop *s = &p->stops[i];
		snprintf(p->ids[i], DM_WAVE_PLANNER_ID_MAX, "%s", PQgetvalue(res, row, 0));
		/* An order placed with a station only has no location: the station point. */
		bool located = !PQgetisnull(res, row, 1) && !PQgetisnull(res, row, 2);
		p->lonlat[2 * (i + 1)] = located ? strtod(PQgetvalue(res, row, 1), NULL) : p->t.lon;
		p->lonlat[2 * (i + 1) + 1] =
		    located ? strtod(PQgetvalue(res, row, 2), NULL) : p->t.lat;
		s->loc = (uint32_t)(i + 1);
		s->delivery[0] = strtod(PQgetvalue(res, row, 4), NULL) / 1000.0; /* kg */
		s->delivery[1] = strtod(PQgetvalue(res, row, 5), NULL) / 1000.0; /* litres */
		s->service_s = DM_WAVE_PLANNER_SERVICE_S;
		dm_wave_planner_window(p, PQgetisnull(res, row, 3) ? NULL : PQgetvalue(res, row, 3), s);
	}
	for (size_t v = 0; v < p->prob.n_vehicles; v++)
		p->vehicles[v] = (struct rt_vrp_vehicle){
		    .capacity = {DM_WAVE_PLANNER_CAPACITY_KG, DM_WAVE_PLANNER_CAPACITY_L},
		    .shift_start_s = p->t.wave.start_s,
		    .shift_end_s = p->t.wave.end_s};
}

static void
dm_wave_planner_loaded(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_planner *p = arg;
	if (!reply->ok) {
		if (!reply->unavailable)
			dm_log_error("pg", "reading the orders of %s %s failed: %s", p->t.station,
				     p->t.wave_key, reply->error);
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "postgresql query failed", NULL, 0);
		return;
	}
	int rows = PQntuples(reply->res);
	if (rows > DM_WAVE_PLANNER_MAX_STOPS) {
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_TOO_MANY,
				       "too many orders in this wave to plan (at most 1000)", NULL,
				       0);
		return;
	}
	if (dm_wave_planner_alloc(p, (size_t)rows, p->t.wave.couriers) != 0) {
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "out of memory", NULL, 0);
		return;
	}
	dm_wave_planner_fill(p, reply->res);
	if (p->d->work == NULL ||
	    dm_work_submit(p->d->work, dm_wave_planner_run, dm_wave_planner_solved, p) != 0)
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "the worker pool is unavailable",
				       NULL, 0);
}

/* The counter keys of the wave: the wave itself and every precise slot
 * starting inside it, as a PostgreSQL text[] literal. */
static void
dm_wave_planner_keys(const struct dm_wave_planner_target *t, char *buf, size_t cap)
{
	size_t len = (size_t)snprintf(buf, cap, "{%s", t->wave_key);
	struct wh_capacity_ref ref = {.kind = WH_CAPACITY_SLOT, .day = t->day};
	for (int32_t s = t->slot_first_s; t->slot_len_s > 0 && s < t->wave.end_s;
	     s += t->slot_len_s) {
		char key[WH_CAPACITY_KEY_LEN];
		ref.start_s = s;
		if (s >= t->wave.start_s && wh_capacity_key(&ref, key, sizeof key) > 0 &&
		    len + strlen(key) + 3 < cap)
			len += (size_t)snprintf(buf + len, cap - len, ",%s", key);
	}
	snprintf(buf + len, cap - len, "}");
}

/* The orders of a station's wave with their weight and booked slot. */
static const char dm_wave_planner_orders_sql[] =
    "SELECT o.id, o.lon, o.lat,"
    " max(c.counter_key) FILTER (WHERE substr(c.counter_key, 10, 1) = 'S'),"
    " w.weight_g, w.volume_ml"
    " FROM orders o JOIN order_capacity c ON c.order_id = o.id"
    " CROSS JOIN LATERAL (SELECT coalesce(sum(l.qty * s.weight_g), 0)::bigint AS weight_g,"
    "  coalesce(sum(l.qty * s.volume_ml), 0)::bigint AS volume_ml"
    "  FROM order_lines l JOIN skus s ON s.sku = l.sku WHERE l.order_id = o.id) w"
    " WHERE c.station_id = $1 AND c.counter_key = ANY ($2::text[]) AND NOT c.released"
    "  AND o.station_id = $1 AND o.status <> 'cancelled'"
    " GROUP BY o.id, w.weight_g, w.volume_ml ORDER BY o.id LIMIT $3";

/* The wave's planning is ours: read its orders. */
static void
dm_wave_planner_load(struct dm_wave_planner *p)
{
	char keys[2048]; /* the wave and its slots: 14-byte keys, a few dozen at most */
	char limit[16];
	dm_wave_planner_keys(&p->t, keys, sizeof keys);
	snprintf(limit, sizeof limit, "%d", DM_WAVE_PLANNER_MAX_STOPS + 1);
	const char *params[] = {p->t.station, keys, limit};
	if (dm_pg_query(p->d->pg, dm_wave_planner_orders_sql, 3, params, dm_wave_planner_loaded,
			p) != 0)
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "postgresql unavailable", NULL,
				       0);
}

static void
dm_wave_planner_claimed(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_planner *p = arg;
	json_t *res = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		res = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	const char *r = json_string_value(json_object_get(res, "r"));
	if (r != NULL && strcmp(r, "claimed") == 0) {
		json_decref(res);
		p->claimed = true;
		dm_wave_planner_load(p);
		return;
	}
	if (r != NULL && strcmp(r, "running") == 0) {
		const char *other = json_string_value(json_object_get(res, "run"));
		struct dm_wave_planner_result out = {DM_WAVE_PLANNER_RUNNING,
						     "this wave is being planned now", NULL, 0,
						     other != NULL ? other : ""};
		p->done(&out, p->arg);
		json_decref(res);
		dm_wave_planner_free(p);
		return;
	}
	if (!reply->ok && !reply->unavailable)
		dm_log_error("pg", "claiming the planning of %s %s failed: %s", p->t.station,
			     p->t.wave_key, reply->error);
	json_decref(res);
	dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "postgresql query failed", NULL, 0);
}

int
dm_wave_planner_start(struct dm_daemon *d, const struct dm_wave_planner_target *target,
		    dm_wave_planner_done_fn *done, void *arg)
{
	char stale[16];
	unsigned char rnd[8];
	struct dm_wave_planner *p = calloc(1, sizeof *p);
	if (p == NULL || d->pg == NULL) {
		free(p);
		return -1;
	}
	p->d = d;
	p->t = *target;
	p->done = done;
	p->arg = arg;
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		free(p);
		return -1;
	}
	int n = snprintf(p->run_id, sizeof p->run_id, "run_");
	for (size_t i = 0; i < sizeof rnd; i++)
		n += snprintf(p->run_id + n, sizeof p->run_id - (size_t)n, "%02x", rnd[i]);
	snprintf(stale, sizeof stale, "%d", DM_WAVE_PLANNER_STALE_S);
	const char *params[] = {p->t.station, p->t.wave_key, p->run_id, stale};
	if (dm_pg_query(d->pg, "SELECT plan_run_claim($1, $2, $3, $4)", 4, params,
			dm_wave_planner_claimed, p) != 0) {
		free(p);
		return -1;
	}
	return 0;
}
