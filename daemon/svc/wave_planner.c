/* Route planning for one station and wave, in three steps:
 *
 *   loop:   one query (wave_plan_input) reads the couriers on shift (the
 *           vehicles: capacity and speed of their vehicle profile, shift
 *           clipped to the wave) and the wave's stops (new orders, pending
 *           and planned stops, done stops; deliveries carry delivery demand,
 *           pickups of returns pickup demand, exchanges both), and builds the problem as plain
 *           arrays with a warm start: each courier's done stops, and a
 *           started courier's next stop, are the fixed prefix of its route;
 *           its other stops are the starting point the search may move;
 *   worker: one travel matrix per distinct speed, rt_vrp_solver_solve with a
 *           fixed work budget and seed, and the independent validator
 *           rt_vrp_check_solution (fixed prefixes included);
 *   loop:   the plan as one JSON payload to route_plan_store, one statement
 *           and one transaction that publishes the next version (stops rows,
 *           changes, station feed). The payload's GeoJSON is written here,
 *           once, from the route paths the planner gives as plain lon/lat
 *           (rt_vrp_route_path_coords).
 *
 * No courier on shift: nothing is solved; the version published routes no
 * one and lists every stop unassigned with reason "no_courier".
 *
 * Pickup-point drops (issue 13 part R): the orders routed to the same
 * courier-served pickup point (their rows carry "point") that are not done,
 * share their window and are not already planned on different couriers are
 * one stop of the problem: one visit, their demands summed. The plan lists
 * them back to back at that visit (same times, the later ones with leg 0),
 * so route_plan_store gives them consecutive positions on one route.
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
#include "daemon/svc/vrp_solve.h"
#include "daemon/svc/wave_planner.h"
#include "daemon/base/work.h"
#include "routing/vrp/check.h"
#include "routing/vrp/route_path.h"
#include "routing/vrp/solver.h"
#include "warehouse/capacity.h"
#include "warehouse/civil.h"

#define DM_WAVE_PLANNER_ID_MAX 64

/* A courier on shift: a vehicle of the problem. */
struct dm_wave_planner_courier {
	char id[DM_WAVE_PLANNER_ID_MAX];
	double speed_kmh;
};

/* What the store needs to know of stop i besides the problem. */
struct dm_wave_planner_stop {
	char stop_id[DM_WAVE_PLANNER_ID_MAX]; /* "" for an order without a stop yet */
	int courier;	                     /* vehicle index it was planned on, or -1 */
	int position;                        /* its place in that courier's route */
	bool done;                           /* arrived/delivered/failed/picked_up */
	bool started;                        /* its courier has begun the route */
	bool fixed;                          /* in its courier's fixed prefix (warm start) */
};

/* An order travelling in the visit of another stop of the problem (a
 * pickup point's drops after the first): one of a list per problem stop. */
struct dm_wave_planner_more {
	char order_id[DM_WAVE_PLANNER_ID_MAX];
	char stop_id[DM_WAVE_PLANNER_ID_MAX]; /* "" for an order without a stop yet */
	double weight_kg;
	long next;                            /* the next of the list, or -1 */
};

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
	struct dm_wave_planner_stop *info;   /* n */
	char (*points)[DM_WAVE_PLANNER_ID_MAX]; /* pickup point of stop i's drop, or "" */
	double *weights_kg;                  /* n: stop i's own order's weight */
	long *more_head;                     /* n: first more of stop i, or -1 */
	struct dm_wave_planner_more *more;   /* the orders merged into another stop */
	size_t n_more, n_rows;
	struct dm_wave_planner_courier *couriers; /* prob.n_vehicles */
	double *speeds_kmh;                  /* prob.n_profiles distinct speeds */
	double *lonlat;                    /* 2 * (n + 1) */
	double *dist_m, *time_s;           /* n_profiles * (n + 1)^2 each, filled by the worker */
	struct rt_vrp_stop *stops;
	struct rt_vrp_vehicle *vehicles;
	struct rt_vrp_matrix *matrices;    /* n_profiles */
	struct rt_vrp_problem prob;
	/* the warm start: one route per courier with stops */
	struct rt_vrp_warm_route *warm_routes;
	uint32_t *warm_seq;                /* n: the routes' stops back to back */
	struct rt_vrp_warm warm;
	/* the worker's results */
	bool ran;
	enum rt_status st;
	struct rt_err err;
	struct rt_vrp_solution *sol;
	double solve_ms; /* wall time of the matrices, the solve and the check */
	/* the claim on the wave's planning (plan_run_claim) */
	char run_id[24];
	bool claimed;
};

static size_t dm_wave_planner_n_fixed(const struct dm_wave_planner *p);

static void
dm_wave_planner_free(struct dm_wave_planner *p)
{
	if (p == NULL)
		return;
	free(p->ids);
	free(p->info);
	free(p->points);
	free(p->weights_kg);
	free(p->more_head);
	free(p->more);
	free(p->couriers);
	free(p->speeds_kmh);
	free(p->matrices);
	free(p->warm_routes);
	free(p->warm_seq);
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

static void
dm_wave_planner_run(void *arg)
{
	struct dm_wave_planner *p = arg;
	const struct dm_vrp_solve_params pr = {DM_WAVE_PLANNER_BUDGET_S,
					       DM_WAVE_PLANNER_WALL_CAP_S, DM_WAVE_PLANNER_SEED};

	p->ran = true;
	double t0 = dm_clock_mono_s();
	dm_vrp_solve_matrices(&p->prob, p->lonlat, p->speeds_kmh, DM_WAVE_PLANNER_DETOUR,
			      p->dist_m, p->time_s);
	const struct rt_vrp_warm *warm = p->warm.n_routes > 0 ? &p->warm : NULL;
	p->st = dm_vrp_solve_run(&p->prob, &pr, warm, &p->sol, &p->err);
	if (p->st == RT_E_INFEASIBLE && warm != NULL) {
		/* A fixed prefix over its courier's capacity (a courier now on a
		 * smaller vehicle): the parcels of its done stops have left the
		 * box, so they weigh nothing in the replan. Once. */
		for (size_t i = 0; i < p->n; i++)
			if (p->info[i].fixed && p->info[i].done)
				p->stops[i].delivery[0] = p->stops[i].delivery[1] = 0;
		p->st = dm_vrp_solve_run(&p->prob, &pr, warm, &p->sol, &p->err);
	}
	if (p->st != RT_OK)
		return;
	/* Never trust the solver: a plan the validator rejects is not stored. */
	p->st = rt_vrp_check_solution(&p->prob, p->sol, warm, &p->err);
	p->solve_ms = (dm_clock_mono_s() - t0) * 1000.0;
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

/* Stop i's id, or JSON null for an order without a stop yet. */
static json_t *
dm_wave_planner_stop_id(const struct dm_wave_planner *p, size_t i)
{
	return p->info[i].stop_id[0] != '\0' ? json_string(p->info[i].stop_id) : json_null();
}

/* The orders merged into stop i's visit, after first (the entry of stop i
 * itself): copies of it with their order, stop, weight and no leg. */
static int
dm_wave_planner_stops_more(const struct dm_wave_planner *p, size_t i, const json_t *first,
			   json_t *stops)
{
	for (long m = p->more_head[i]; m >= 0; m = p->more[m].next) {
		const struct dm_wave_planner_more *e = &p->more[m];
		json_t *o = json_deep_copy(first);
		if (o == NULL ||
		    json_object_set_new(o, "order_id", json_string(e->order_id)) != 0 ||
		    json_object_set_new(o, "stop_id", e->stop_id[0] != '\0'
							  ? json_string(e->stop_id)
							  : json_null()) != 0 ||
		    json_object_set_new(o, "leg_m", json_real(0)) != 0 ||
		    json_object_set_new(o, "weight_kg", json_real(e->weight_kg)) != 0 ||
		    json_array_append_new(stops, o) != 0)
			return -1;
	}
	return 0;
}

static json_t *
dm_wave_planner_stops(const struct dm_wave_planner *p, const struct rt_vrp_route *r)
{
	json_t *stops = json_array();
	for (size_t k = 0; stops != NULL && k < r->n_visits; k++) {
		const struct rt_vrp_visit *v = &r->visits[k];
		const struct rt_vrp_stop *s = &p->stops[v->stop];
		json_t *o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:{s:o,s:o},s:f,s:f}", "order_id",
				      p->ids[v->stop], "stop_id",
				      dm_wave_planner_stop_id(p, v->stop),
				      "arrival", dm_wave_planner_ts(p, v->arrival_s),
				      "eta", dm_wave_planner_ts(p, v->start_s), "departure",
				      dm_wave_planner_ts(p, v->departure_s), "window", "start",
				      dm_wave_planner_ts(p, s->tw_open_s), "end",
				      dm_wave_planner_ts(p, s->tw_close_s), "leg_m",
				      v->dist_from_prev_m, "weight_kg", s->delivery[0]);
		if (o != NULL)
			json_object_set_new(o, "weight_kg", json_real(p->weights_kg[v->stop]));
		if (o == NULL || json_array_append_new(stops, o) != 0 ||
		    dm_wave_planner_stops_more(p, v->stop, o, stops) != 0) {
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
		/* A visit carrying several orders is one point per order (the
		 * path keeps a point per stop: depot, stops, depot). */
		size_t times = 1;
		if (k > 0 && k + 1 < n)
			for (long m = p->more_head[r->visits[k - 1].stop]; m >= 0;
			     m = p->more[m].next)
				times++;
		for (size_t t = 0; t < times; t++) {
			json_t *pt = json_pack("[o,o]", dm_wave_planner_num(xy[2 * k]),
					       dm_wave_planner_num(xy[2 * k + 1]));
			if (pt == NULL || json_array_append_new(coords, pt) != 0)
				goto fail;
		}
	}
	free(xy);
	return json_pack("{s:s,s:o}", "type", "LineString", "coordinates", coords);
fail:
	free(xy);
	json_decref(coords);
	return NULL;
}

/* Copies of entry first, one per order merged into stop i's visit, with
 * that order's id. */
static int
dm_wave_planner_more_orders(const struct dm_wave_planner *p, size_t i, const json_t *first,
			    json_t *list)
{
	for (long m = p->more_head[i]; m >= 0; m = p->more[m].next) {
		json_t *o = json_deep_copy(first);
		if (o == NULL ||
		    json_object_set_new(o, "order_id", json_string(p->more[m].order_id)) != 0 ||
		    json_array_append_new(list, o) != 0)
			return -1;
	}
	return 0;
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
		if (o == NULL || json_array_append_new(stops, o) != 0 ||
		    dm_wave_planner_more_orders(p, v->stop, o, stops) != 0) {
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

/* The unassigned stops: the solver's, or with no courier on shift every
 * stop not done (reason "no_courier"). */
static size_t
dm_wave_planner_n_unassigned(const struct dm_wave_planner *p)
{
	if (p->sol != NULL)
		return p->sol->n_unassigned;
	return p->n;
}

static size_t
dm_wave_planner_unassigned(const struct dm_wave_planner *p, size_t i)
{
	return p->sol != NULL ? p->sol->unassigned[i].stop : i;
}

static const char *
dm_wave_planner_reason(const struct dm_wave_planner *p, size_t i)
{
	if (p->sol == NULL)
		return "no_courier";
	return rt_vrp_problem_reason_name(p->sol->unassigned[i].reason);
}

/* The Feature without geometry that lists the unassigned stops and why. */
static json_t *
dm_wave_planner_unassigned_feature(const struct dm_wave_planner *p)
{
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < dm_wave_planner_n_unassigned(p); i++) {
		size_t k = dm_wave_planner_unassigned(p, i);
		json_t *o = json_pack("{s:I,s:s,s:s}", "stop", (json_int_t)k, "reason",
				      dm_wave_planner_reason(p, i), "order_id", p->ids[k]);
		if (o == NULL || json_array_append_new(list, o) != 0 ||
		    dm_wave_planner_more_orders(p, k, o, list) != 0) {
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
	json_t *speeds = json_array();
	for (size_t k = 0; speeds != NULL && k < p->prob.n_profiles; k++)
		json_array_append_new(speeds, json_real(p->speeds_kmh[k]));
	return json_pack("{s:i,s:f,s:s,s:i,s:o,s:f,s:f,s:I,s:I,s:i,s:i,s:f}", "seed",
			 DM_WAVE_PLANNER_SEED, "budget_s", DM_WAVE_PLANNER_BUDGET_S, "objective",
			 "distance", "couriers", (int)p->prob.n_vehicles, "speeds_kmh", speeds,
			 "detour", DM_WAVE_PLANNER_DETOUR, "service_s", DM_WAVE_PLANNER_SERVICE_S,
			 "work", (json_int_t)(p->sol != NULL ? p->sol->work : 0), "iterations",
			 (json_int_t)(p->sol != NULL ? p->sol->iterations : 0), "orders",
			 (int)(p->n + p->n_more), "fixed", (int)dm_wave_planner_n_fixed(p),
			 "solve_ms", (double)(long long)(p->solve_ms * 10.0) / 10.0);
}

/* The payload's fence: the scheduler's claim this plan is published under. */
static json_t *
dm_wave_planner_fence(const struct dm_wave_planner *p)
{
	if (p->t.fence_epoch > 0)
		return json_pack("{s:I}", "auto_epoch", (json_int_t)p->t.fence_epoch);
	if (p->t.replan_by[0] != '\0')
		return json_pack("{s:s}", "replan_by", p->t.replan_by);
	return json_object();
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
	for (size_t ri = 0; sol != NULL && ri < sol->n_routes; ri++) {
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
				: json_pack("{s:i,s:s,s:o,s:O,s:f,s:f,s:o,s:o}", "courier",
					    (int)r->vehicle, "courier_id", p->couriers[r->vehicle].id,
					    "stops", stops, "geometry", geom,
					    "distance_m", r->dist_m, "duration_s",
					    r->return_s - r->depart_s, "depart",
					    dm_wave_planner_ts(p, r->depart_s), "return",
					    dm_wave_planner_ts(p, r->return_s));
		json_decref(geom);
		if (o == NULL || json_array_append_new(routes, o) != 0)
			goto fail;
	}
	for (size_t i = 0; i < dm_wave_planner_n_unassigned(p); i++) {
		size_t k = dm_wave_planner_unassigned(p, i);
		json_t *o = json_pack("{s:s,s:o,s:s}", "order_id", p->ids[k], "stop_id",
				      dm_wave_planner_stop_id(p, k), "reason",
				      dm_wave_planner_reason(p, i));
		if (o == NULL || json_array_append_new(un, o) != 0 ||
		    dm_wave_planner_stops_more(p, k, o, un) != 0)
			goto fail;
	}
	json_t *none = dm_wave_planner_unassigned_feature(p);
	if (none == NULL || json_array_append_new(feats, none) != 0)
		goto fail;
	return json_pack("{s:o,s:i,s:s,s:o,s:o,s:o,s:{s:s,s:o}}", "params",
			 dm_wave_planner_params(p), "utc_offset_s", (int)p->t.utc_offset_s, "reason",
			 p->t.reason[0] != '\0' ? p->t.reason : "planned", "fence",
			 dm_wave_planner_fence(p), "routes", routes, "unassigned", un, "geojson",
			 "type", "FeatureCollection", "features", feats);
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

static void dm_wave_planner_publish(struct dm_wave_planner *p);

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
	dm_wave_planner_publish(p);
}

/* The plan (or, with no courier, the empty plan) to route_plan_store. */
static void
dm_wave_planner_publish(struct dm_wave_planner *p)
{
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

/* ---- what the wave plans -> the problem ---- */

static int
dm_wave_planner_alloc(struct dm_wave_planner *p, size_t n, size_t nveh)
{
	size_t nl = n + 1;
	p->n = n;
	p->ids = calloc(n + 1, sizeof *p->ids);
	p->info = calloc(n + 1, sizeof *p->info);
	p->points = calloc(n + 1, sizeof *p->points);
	p->weights_kg = calloc(n + 1, sizeof *p->weights_kg);
	p->more_head = calloc(n + 1, sizeof *p->more_head);
	p->more = calloc(n + 1, sizeof *p->more);
	p->couriers = calloc(nveh + 1, sizeof *p->couriers);
	p->speeds_kmh = calloc(nveh + 1, sizeof *p->speeds_kmh);
	p->matrices = calloc(nveh + 1, sizeof *p->matrices);
	p->warm_routes = calloc(nveh + 1, sizeof *p->warm_routes);
	p->warm_seq = calloc(n + 1, sizeof *p->warm_seq);
	p->lonlat = calloc(2 * nl, sizeof *p->lonlat);
	p->stops = calloc(n + 1, sizeof *p->stops);
	p->vehicles = calloc(nveh + 1, sizeof *p->vehicles);
	if (p->ids == NULL || p->info == NULL || p->points == NULL || p->weights_kg == NULL ||
	    p->more_head == NULL || p->more == NULL || p->couriers == NULL ||
	    p->speeds_kmh == NULL ||
	    p->matrices == NULL || p->warm_routes == NULL || p->warm_seq == NULL ||
	    p->lonlat == NULL || p->stops == NULL || p->vehicles == NULL)
		return -1;
	p->prob = (struct rt_vrp_problem){.n_locs = nl,
					  .n_stops = n,
					  .n_vehicles = nveh,
					  .n_profiles = 0,
					  .stops = p->stops,
					  .vehicles = p->vehicles,
					  .matrices = p->matrices};
	return 0;
}

/* The matrices, one per distinct speed (filled by the worker). */
static int
dm_wave_planner_alloc_matrices(struct dm_wave_planner *p)
{
	size_t nl = p->n + 1, np = p->prob.n_profiles;
	p->dist_m = calloc(np * nl * nl + 1, sizeof *p->dist_m);
	p->time_s = calloc(np * nl * nl + 1, sizeof *p->time_s);
	if (p->dist_m == NULL || p->time_s == NULL)
		return -1;
	for (size_t k = 0; k < np; k++)
		p->matrices[k] = (struct rt_vrp_matrix){p->dist_m + k * nl * nl,
							p->time_s + k * nl * nl};
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

static double
dm_wave_planner_num_of(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

/* A text member of o, or "" when absent or not text. */
static const char *
dm_wave_planner_str_of(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v != NULL ? v : "";
}

/* An instant (UTC epoch seconds) as seconds since the wave day's local midnight. */
static double
dm_wave_planner_day_s(const struct dm_wave_planner *p, double utc_s)
{
	return utc_s + p->t.utc_offset_s - (double)wh_civil_at(p->t.day, 0);
}

/* The couriers on shift -> vehicles, one profile per distinct speed. */
static void
dm_wave_planner_fill_couriers(struct dm_wave_planner *p, json_t *couriers)
{
	size_t v;
	json_t *c;
	json_array_foreach(couriers, v, c) {
		struct dm_wave_planner_courier *dc = &p->couriers[v];
		snprintf(dc->id, sizeof dc->id, "%s", dm_wave_planner_str_of(c, "id"));
		dc->speed_kmh = dm_wave_planner_num_of(c, "speed_kmh", 15.0);
		if (!(dc->speed_kmh > 0))
			dc->speed_kmh = 15.0;
		uint32_t k = dm_vrp_solve_profile(p->speeds_kmh, &p->prob.n_profiles, dc->speed_kmh);
		double start, end;
		start = dm_wave_planner_day_s(p, dm_wave_planner_num_of(c, "shift_start", 0));
		end = dm_wave_planner_day_s(p, dm_wave_planner_num_of(c, "shift_end", 0));
		if (start < p->t.wave.start_s)
			start = p->t.wave.start_s;
		if (end > p->t.wave.end_s)
			end = p->t.wave.end_s;
		if (end < start)
			end = start;
		p->vehicles[v] = (struct rt_vrp_vehicle){
		    .capacity = {dm_wave_planner_num_of(c, "capacity_kg", 0),
				 dm_wave_planner_num_of(c, "capacity_l", 0)},
		    .shift_start_s = start,
		    .shift_end_s = end,
		    .profile = k};
	}
}

static int
dm_wave_planner_courier_index(const struct dm_wave_planner *p, const char *id)
{
	for (size_t v = 0; id != NULL && v < p->prob.n_vehicles; v++)
		if (strcmp(p->couriers[v].id, id) == 0)
			return (int)v;
	return -1;
}

/* Stop i from its row of wave_plan_input. */
static void
dm_wave_planner_fill_stop(struct dm_wave_planner *p, size_t i, json_t *row)
{
	struct rt_vrp_stop *s = &p->stops[i];
	struct dm_wave_planner_stop *info = &p->info[i];
	const char *status = json_string_value(json_object_get(row, "status"));
	snprintf(p->ids[i], DM_WAVE_PLANNER_ID_MAX, "%s", dm_wave_planner_str_of(row, "order_id"));
	snprintf(info->stop_id, sizeof info->stop_id, "%s", dm_wave_planner_str_of(row, "stop_id"));
	info->courier = dm_wave_planner_courier_index(
	    p, json_string_value(json_object_get(row, "courier_id")));
	info->position = (int)dm_wave_planner_num_of(row, "position", 0);
	info->done = status != NULL && strcmp(status, "new") != 0 &&
		     strcmp(status, "pending") != 0 && strcmp(status, "planned") != 0;
	info->started = json_is_true(json_object_get(row, "started"));
	/* An order placed with a station only has no location: the station point. */
	json_t *lon = json_object_get(row, "lon"), *lat = json_object_get(row, "lat");
	bool located = json_is_number(lon) && json_is_number(lat);
	p->lonlat[2 * (i + 1)] = located ? json_number_value(lon) : p->t.lon;
	p->lonlat[2 * (i + 1) + 1] = located ? json_number_value(lat) : p->t.lat;
	s->loc = (uint32_t)(i + 1);
	snprintf(p->points[i], DM_WAVE_PLANNER_ID_MAX, "%s", dm_wave_planner_str_of(row, "point"));
	p->more_head[i] = -1;
	s->delivery[0] = dm_wave_planner_num_of(row, "weight_g", 0) / 1000.0;  /* kg */
	p->weights_kg[i] = s->delivery[0];
	s->delivery[1] = dm_wave_planner_num_of(row, "volume_ml", 0) / 1000.0; /* litres */
	/* A pickup (or an exchange) collects its return's lines: carried from
	 * here to the route's end (issue 12 part P4). */
	s->pickup[0] = dm_wave_planner_num_of(row, "pickup_weight_g", 0) / 1000.0;
	s->pickup[1] = dm_wave_planner_num_of(row, "pickup_volume_ml", 0) / 1000.0;
	s->service_s = DM_WAVE_PLANNER_SERVICE_S;
	dm_wave_planner_window(p, json_string_value(json_object_get(row, "slot")), s);
}

/* Stops in fixed prefixes (dm_wave_planner_fill_warm marks them). */
static size_t
dm_wave_planner_n_fixed(const struct dm_wave_planner *p)
{
	size_t n = 0;
	for (size_t i = 0; p->info != NULL && i < p->n; i++)
		n += p->info[i].fixed;
	return n;
}

/* Sort key of a stop in its courier's warm route: done first, then by
 * position. */
static long
dm_wave_planner_warm_key(const struct dm_wave_planner *p, size_t i)
{
	return (p->info[i].done ? 0L : 1L << 32) + p->info[i].position;
}

/* The warm start: per courier on shift, its stops of the previous version
 * (done ones first, by position). Its fixed prefix is its done stops, plus
 * its next stop when it has started. Fixed stops are committed: their window
 * no longer binds (they may be late already) and done ones take no more time. */
static void
dm_wave_planner_fill_warm(struct dm_wave_planner *p)
{
	size_t used = 0;
	for (size_t v = 0; v < p->prob.n_vehicles; v++) {
		size_t first = used;
		for (size_t i = 0; i < p->n; i++)
			if (p->info[i].courier == (int)v)
				p->warm_seq[used++] = (uint32_t)i;
		size_t len = used - first;
		if (len == 0)
			continue;
		uint32_t *seq = p->warm_seq + first;
		for (size_t a = 1; a < len; a++) /* insertion sort: a courier has few stops */
			for (size_t b = a; b > 0 && dm_wave_planner_warm_key(p, seq[b - 1]) >
							  dm_wave_planner_warm_key(p, seq[b]);
			     b--) {
				uint32_t t = seq[b];
				seq[b] = seq[b - 1];
				seq[b - 1] = t;
			}
		size_t fixed = 0;
		while (fixed < len && p->info[seq[fixed]].done)
			fixed++;
		bool started = p->info[seq[0]].started;
		if (started && fixed < len)
			fixed++; /* the stop it is heading to */
		for (size_t k = 0; k < len; k++) {
			p->info[seq[k]].fixed = k < fixed;
			if (k < fixed) {
				struct rt_vrp_stop *s = &p->stops[seq[k]];
				s->tw_open_s = 0;
				s->tw_close_s = p->t.wave.end_s + 86400.0;
				if (p->info[seq[k]].done)
					s->service_s = 0;
			}
		}
		p->warm_routes[p->warm.n_routes++] = (struct rt_vrp_warm_route){
		    .vehicle = (uint32_t)v, .n_stops = len, .stops = seq, .n_fixed = fixed};
	}
	p->warm.routes = p->warm_routes;
}

/* Stop i (just filled) drops at a pickup point another stop j < i already
 * visits: it joins j's visit (its order appended to j's list, its demand
 * added) and true is returned. Only stops not done, with the same window,
 * and not planned on another courier than j's, travel together; a new
 * order never joins the stop of a courier who has started (its parcel is
 * not in that courier's box). */
static bool
dm_wave_planner_merge(struct dm_wave_planner *p, size_t i)
{
	const struct rt_vrp_stop *s = &p->stops[i];
	const struct dm_wave_planner_stop *in = &p->info[i];
	if (p->points[i][0] == '\0' || in->done)
		return false;
	for (size_t j = 0; j < i; j++) {
		struct rt_vrp_stop *t = &p->stops[j];
		if (strcmp(p->points[j], p->points[i]) != 0 || p->info[j].done ||
		    t->tw_open_s != s->tw_open_s || t->tw_close_s != s->tw_close_s ||
		    (in->courier >= 0 && in->courier != p->info[j].courier) ||
		    (p->info[j].started && in->courier != p->info[j].courier))
			continue; /* nothing joins a started courier's stop from elsewhere */
		struct dm_wave_planner_more *e = &p->more[p->n_more];
		snprintf(e->order_id, sizeof e->order_id, "%s", p->ids[i]);
		snprintf(e->stop_id, sizeof e->stop_id, "%s", in->stop_id);
		e->weight_kg = p->weights_kg[i];
		e->next = -1;
		long *tail = &p->more_head[j];
		while (*tail >= 0)
			tail = &p->more[*tail].next;
		*tail = (long)p->n_more++;
		for (int d = 0; d < 2; d++) {
			t->delivery[d] += s->delivery[d];
			t->pickup[d] += s->pickup[d];
		}
		return true;
	}
	return false;
}

static void
dm_wave_planner_loaded(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_planner *p = arg;
	json_t *in = NULL;
	if (!reply->ok) {
		if (!reply->unavailable)
			dm_log_error("pg", "reading the wave %s %s failed: %s", p->t.station,
				     p->t.wave_key, reply->error);
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "postgresql query failed", NULL, 0);
		return;
	}
	if (PQntuples(reply->res) == 1)
		in = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	json_t *couriers = json_object_get(in, "couriers"), *rows = json_object_get(in, "stops");
	if (!json_is_array(couriers) || !json_is_array(rows)) {
		json_decref(in);
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "unreadable wave input",
				       NULL, 0);
		return;
	}
	if (json_array_size(rows) > DM_WAVE_PLANNER_MAX_STOPS) {
		json_decref(in);
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_TOO_MANY,
				       "too many orders in this wave to plan (at most 1000)", NULL,
				       0);
		return;
	}
	/* Done stops of couriers no longer on shift stay as they are, outside
	 * the problem: count the rest first. */
	size_t nveh = json_array_size(couriers), n = 0, i;
	json_t *row;
	if (dm_wave_planner_alloc(p, json_array_size(rows), nveh) != 0) {
		json_decref(in);
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "out of memory", NULL, 0);
		return;
	}
	dm_wave_planner_fill_couriers(p, couriers);
	p->lonlat[0] = p->t.lon;
	p->lonlat[1] = p->t.lat;
	json_array_foreach(rows, i, row) {
		dm_wave_planner_fill_stop(p, n, row);
		if (p->info[n].done && p->info[n].courier < 0)
			continue; /* overwritten by the next row */
		if (dm_wave_planner_merge(p, n))
			continue; /* travels in an earlier stop's visit */
		n++;
	}
	json_decref(in);
	p->n = n;
	p->prob.n_stops = n;
	p->prob.n_locs = n + 1;
	if (nveh == 0) { /* nobody on shift: every stop unassigned, nothing solved */
		dm_wave_planner_publish(p);
		return;
	}
	dm_wave_planner_fill_warm(p);
	if (dm_wave_planner_alloc_matrices(p) != 0) {
		dm_wave_planner_finish(p, DM_WAVE_PLANNER_UNAVAILABLE, "out of memory", NULL, 0);
		return;
	}
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

/* The wave's planning is ours: read what it plans. */
static void
dm_wave_planner_load(struct dm_wave_planner *p)
{
	char keys[2048]; /* the wave and its slots: 14-byte keys, a few dozen at most */
	char limit[16], from[32], to[32];
	int64_t midnight_utc = wh_civil_at(p->t.day, 0) - p->t.utc_offset_s, now;
	int64_t start = midnight_utc + p->t.wave.start_s;
	int32_t offset;
	/* A wave under way is planned from now: couriers on shift from now on,
	 * parcels at the station by now. */
	dm_clock_now(&now, &offset);
	if (now > start)
		start = now;
	dm_wave_planner_keys(&p->t, keys, sizeof keys);
	snprintf(limit, sizeof limit, "%d", DM_WAVE_PLANNER_MAX_STOPS + 1);
	snprintf(from, sizeof from, "%lld", (long long)start);
	snprintf(to, sizeof to, "%lld", (long long)(midnight_utc + p->t.wave.end_s));
	const char *params[] = {p->t.station, p->t.wave_key, keys, from, to, limit};
	if (dm_pg_query(p->d->pg,
			"SELECT wave_plan_input($1, $2, $3::text[], to_timestamp($4::float8),"
			" to_timestamp($5::float8), $6::integer)",
			6, params, dm_wave_planner_loaded, p) != 0)
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
dm_wave_planner_target_init(struct dm_wave_planner_target *t,
			    const struct wh_promise_config *cfg, const char *station, double lon,
			    double lat, const struct wh_capacity_ref *ref, int32_t utc_offset_s)
{
	size_t n = 0;
	*t = (struct dm_wave_planner_target){0};
	struct wh_station st = {.id = station, .offers_slots = true};
	const struct wh_wave *waves = wh_promise_station_waves(cfg, &st, &n);
	for (size_t i = 0; i < n; i++)
		if (waves[i].start_s == ref->start_s && wh_promise_wave_runs(&waves[i], ref->day))
			t->wave = waves[i];
	if (t->wave.end_s == 0 || wh_capacity_key(ref, t->wave_key, sizeof t->wave_key) == 0)
		return -1;
	snprintf(t->station, sizeof t->station, "%s", station);
	t->lon = lon;
	t->lat = lat;
	t->day = ref->day;
	t->slot_first_s = cfg->slot_first_s;
	t->slot_len_s = cfg->slot_len_s;
	t->utc_offset_s = utc_offset_s;
	snprintf(t->reason, sizeof t->reason, "planned");
	return 0;
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
