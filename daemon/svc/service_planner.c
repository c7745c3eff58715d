/* The day plan of a station's engineers (see service_planner.h), in three
 * steps:
 *
 *   loop:   service_plan_input reads the engineers on shift and the day's
 *           booked and planned appointments; they become the problem as
 *           plain arrays. Times are seconds since the day's local midnight.
 *           Skills: each distinct category of the day's appointments is one
 *           bit (at most 64; an appointment of a 65th category needs a bit
 *           nobody has: reason "skill"); an engineer offers the bits of the
 *           categories in its skills. Capacity dimension 0 counts visits.
 *   worker: the travel matrices (one per distinct speed), one solve and the
 *           independent validator (svc/vrp_solve.c, routing/vrp/);
 *   loop:   the placed visits (engineer, position, eta = start of the
 *           visit) and the unplaced ones (routing/vrp's reason) as one
 *           payload to service_plan_store, one transaction.
 *
 * No engineer on shift: nothing is solved, every appointment is unplaced
 * with reason "no_engineer". No warm start: a day is planned before it
 * starts (visits under way are not in the problem). This file knows nothing
 * about HTTP (api/service_days.c maps the result to a reply). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/work.h"
#include "daemon/io/pg.h"
#include "daemon/svc/service_planner.h"
#include "daemon/svc/vrp_solve.h"
#include "routing/vrp/check.h"

#define DM_SERVICE_PLANNER_ID_MAX 64
#define DM_SERVICE_PLANNER_SKILLS 64 /* bits of rt_vrp skills */

struct dm_service_planner {
	struct dm_daemon *d;
	struct dm_service_planner_target t;
	dm_service_planner_done_fn *done;
	void *arg;
	size_t n, nveh;
	char (*ids)[DM_SERVICE_PLANNER_ID_MAX];       /* appointment of stop i */
	char (*engineers)[DM_SERVICE_PLANNER_ID_MAX]; /* engineer of vehicle v */
	char (*categories)[DM_SERVICE_PLANNER_ID_MAX];/* category of skill bit k */
	size_t n_categories;
	json_int_t basis; /* the day's plan version the input saw (service_plan_input) */
	double *speeds_kmh, *lonlat, *dist_m, *time_s;
	struct rt_vrp_stop *stops;
	struct rt_vrp_vehicle *vehicles;
	struct rt_vrp_matrix *matrices;
	struct rt_vrp_problem prob;
	bool ran;
	enum rt_status st;
	struct rt_err err;
	struct rt_vrp_solution *sol;
};

static void
dm_service_planner_free(struct dm_service_planner *p)
{
	free(p->ids);
	free(p->engineers);
	free(p->categories);
	free(p->speeds_kmh);
	free(p->lonlat);
	free(p->dist_m);
	free(p->time_s);
	free(p->stops);
	free(p->vehicles);
	free(p->matrices);
	rt_vrp_solution_free(p->sol);
	free(p);
}

static void
dm_service_planner_finish(struct dm_service_planner *p, enum dm_service_planner_status st,
			  const char *detail, const char *doc, size_t len)
{
	struct dm_service_planner_result res = {st, detail, doc, len};
	p->done(&res, p->arg);
	dm_service_planner_free(p);
}

/* ---- worker ---- */

static void
dm_service_planner_run(void *arg)
{
	struct dm_service_planner *p = arg;
	const struct dm_vrp_solve_params pr = {DM_SERVICE_PLANNER_BUDGET_S,
					       DM_SERVICE_PLANNER_WALL_CAP_S,
					       DM_SERVICE_PLANNER_SEED};
	p->ran = true;
	dm_vrp_solve_matrices(&p->prob, p->lonlat, p->speeds_kmh, DM_SERVICE_PLANNER_DETOUR,
			      p->dist_m, p->time_s);
	p->st = dm_vrp_solve_run(&p->prob, &pr, NULL, &p->sol, &p->err);
	if (p->st != RT_OK)
		return;
	/* Never trust the solver: a plan the validator rejects is not stored. */
	if (rt_vrp_check_solution(&p->prob, p->sol, NULL, &p->err) != RT_OK)
		p->st = RT_E_INFEASIBLE;
}

/* ---- back on the loop: the payload for service_plan_store ---- */

static void
dm_service_planner_stored(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_service_planner *p = arg;
	if (!reply->ok) {
		if (!reply->unavailable)
			dm_log_error("pg", "storing the day plan of %s %s failed: %s", p->t.station,
				     p->t.day, reply->error);
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE,
					  "postgresql query failed", NULL, 0);
		return;
	}
	if (PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 0)) {
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_NOT_STORED,
					  "another plan of this day was stored while this one ran "
					  "(or the day is planned already); plan again",
					  NULL, 0);
		return;
	}
	dm_service_planner_finish(p, DM_SERVICE_PLANNER_OK, NULL, PQgetvalue(reply->res, 0, 0),
				  (size_t)PQgetlength(reply->res, 0, 0));
}

/* {"reason", "fence", "visits": [...], "unassigned": [...], "at"}; NULL on OOM. */
static json_t *
dm_service_planner_payload(const struct dm_service_planner *p)
{
	json_t *visits = json_array(), *un = json_array();
	json_t *fence = p->t.fence_epoch > 0
			    ? json_pack("{s:I}", "auto_epoch", (json_int_t)p->t.fence_epoch)
			    : json_null();
	for (size_t r = 0; p->sol != NULL && r < p->sol->n_routes; r++) {
		const struct rt_vrp_route *rt = &p->sol->routes[r];
		for (size_t k = 0; k < rt->n_visits; k++) {
			const struct rt_vrp_visit *v = &rt->visits[k];
			json_array_append_new(
			    visits, json_pack("{s:s,s:s,s:I,s:f}", "appointment", p->ids[v->stop],
					      "engineer", p->engineers[rt->vehicle], "position",
					      (json_int_t)k, "eta_s", v->start_s));
		}
	}
	for (size_t i = 0; p->sol != NULL && i < p->sol->n_unassigned; i++) {
		const struct rt_vrp_unassigned *u = &p->sol->unassigned[i];
		const char *why = rt_vrp_problem_reason_name(u->reason);
		json_array_append_new(un, json_pack("{s:s,s:s}", "appointment", p->ids[u->stop],
						    "reason", why));
	}
	/* nobody on shift: nothing was solved */
	for (size_t i = 0; p->sol == NULL && i < p->n; i++)
		json_array_append_new(un, json_pack("{s:s,s:s}", "appointment", p->ids[i],
						    "reason", "no_engineer"));
	/* "at": the daemon's clock ([testing] clock), the time of the events. */
	char at[32] = "";
	int64_t now_s;
	int32_t off_s;
	struct tm tm;
	dm_clock_now(&now_s, &off_s);
	time_t t = (time_t)now_s;
	if (gmtime_r(&t, &tm) != NULL)
		strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s,s:o,s:I,s:o,s:o,s:s}", "reason", p->t.reason, "fence", fence,
			 "basis", p->basis, "visits", visits, "unassigned", un, "at", at);
}

static void
dm_service_planner_publish(struct dm_service_planner *p)
{
	json_t *payload = dm_service_planner_payload(p);
	char *text = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
	json_decref(payload);
	if (text == NULL) {
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE, "out of memory", NULL,
					  0);
		return;
	}
	const char *params[] = {p->t.station, p->t.day, p->t.tz, text};
	int rc = dm_pg_query(p->d->pg, "SELECT service_plan_store($1, $2::date, $3, $4::jsonb)", 4,
			     params, dm_service_planner_stored, p);
	free(text);
	if (rc != 0)
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE,
					  "postgresql unavailable", NULL, 0);
}

static void
dm_service_planner_solved(void *arg)
{
	struct dm_service_planner *p = arg;
	if (!p->ran || p->d->pg == NULL) {
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE,
					  "the daemon is stopping", NULL, 0);
		return;
	}
	if (p->st != RT_OK) {
		dm_log_error("routes", "planning the engineers of %s %s failed: %s", p->t.station,
			     p->t.day, p->err.msg);
		dm_service_planner_finish(p,
					  p->st == RT_E_NOMEM ? DM_SERVICE_PLANNER_UNAVAILABLE
							      : DM_SERVICE_PLANNER_FAILED,
					  "day planning failed; nothing was stored", NULL, 0);
		return;
	}
	dm_service_planner_publish(p);
}

/* ---- the day -> the problem ---- */

static int
dm_service_planner_alloc(struct dm_service_planner *p, size_t n, size_t nveh)
{
	size_t nl = n + 1;
	p->n = n;
	p->nveh = nveh;
	p->ids = calloc(n + 1, sizeof *p->ids);
	p->engineers = calloc(nveh + 1, sizeof *p->engineers);
	p->categories = calloc(DM_SERVICE_PLANNER_SKILLS, sizeof *p->categories);
	p->speeds_kmh = calloc(nveh + 1, sizeof *p->speeds_kmh);
	p->lonlat = calloc(2 * nl, sizeof *p->lonlat);
	p->stops = calloc(n + 1, sizeof *p->stops);
	p->vehicles = calloc(nveh + 1, sizeof *p->vehicles);
	p->matrices = calloc(nveh + 1, sizeof *p->matrices);
	if (p->ids == NULL || p->engineers == NULL || p->categories == NULL ||
	    p->speeds_kmh == NULL || p->lonlat == NULL || p->stops == NULL ||
	    p->vehicles == NULL || p->matrices == NULL)
		return -1;
	p->prob = (struct rt_vrp_problem){.n_locs = nl, .n_stops = n, .n_vehicles = nveh,
					  .stops = p->stops, .vehicles = p->vehicles,
					  .matrices = p->matrices};
	return 0;
}

/* The skill bit of category, adding it while there is room; 0 when none. */
static uint64_t
dm_service_planner_skill(struct dm_service_planner *p, const char *category, bool add)
{
	size_t k = 0;
	while (k < p->n_categories && strcmp(p->categories[k], category) != 0)
		k++;
	if (k == p->n_categories) {
		if (!add || k == DM_SERVICE_PLANNER_SKILLS)
			return 0;
		snprintf(p->categories[k], DM_SERVICE_PLANNER_ID_MAX, "%s", category);
		p->n_categories++;
	}
	return (uint64_t)1 << k;
}

static double
dm_service_planner_num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	double x = json_is_number(v) ? json_number_value(v) : 0;
	return x > 0 ? x : 0; /* times before the day's midnight: at it */
}

static void
dm_service_planner_fill(struct dm_service_planner *p, const json_t *engineers,
			const json_t *appts)
{
	size_t i, v, k;
	const json_t *a, *e, *s;
	json_array_foreach(appts, i, a) {
		struct rt_vrp_stop *st = &p->stops[i];
		const json_t *lon = json_object_get(a, "lon"), *lat = json_object_get(a, "lat");
		bool located = json_is_number(lon) && json_is_number(lat);
		const char *cat = json_string_value(json_object_get(a, "category"));
		snprintf(p->ids[i], DM_SERVICE_PLANNER_ID_MAX, "%s",
			 json_string_value(json_object_get(a, "id")));
		p->lonlat[2 * (i + 1)] = located ? json_number_value(lon) : p->t.lon;
		p->lonlat[2 * (i + 1) + 1] = located ? json_number_value(lat) : p->t.lat;
		st->loc = (uint32_t)(i + 1);
		st->delivery[0] = 1; /* one visit */
		st->tw_open_s = dm_service_planner_num(a, "open_s");
		st->tw_close_s = dm_service_planner_num(a, "close_s");
		st->service_s = dm_service_planner_num(a, "duration_s");
		st->skills = dm_service_planner_skill(p, cat != NULL ? cat : "", true);
		if (st->skills == 0) /* a 65th category: a skill nobody offers */
			st->skills = ~(uint64_t)0;
	}
	json_array_foreach(engineers, v, e) {
		struct rt_vrp_vehicle *veh = &p->vehicles[v];
		double speed = dm_service_planner_num(e, "speed_kmh");
		snprintf(p->engineers[v], DM_SERVICE_PLANNER_ID_MAX, "%s",
			 json_string_value(json_object_get(e, "id")));
		veh->capacity[0] = dm_service_planner_num(e, "capacity");
		veh->shift_start_s = dm_service_planner_num(e, "shift_start_s");
		veh->shift_end_s = dm_service_planner_num(e, "shift_end_s");
		veh->profile = dm_vrp_solve_profile(p->speeds_kmh, &p->prob.n_profiles,
						    speed > 0 ? speed : 30.0);
		json_array_foreach(json_object_get(e, "skills"), k, s)
			veh->skills |= dm_service_planner_skill(p, json_string_value(s), false);
	}
}

static void
dm_service_planner_loaded(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_service_planner *p = arg;
	json_t *in = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		in = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	const json_t *engineers = json_object_get(in, "engineers");
	const json_t *appts = json_object_get(in, "appointments");
	if (!json_is_array(engineers) || !json_is_array(appts)) {
		if (!reply->ok && !reply->unavailable)
			dm_log_error("pg", "reading the day %s %s failed: %s", p->t.station,
				     p->t.day, reply->error);
		json_decref(in);
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE,
					  "postgresql query failed", NULL, 0);
		return;
	}
	size_t n = json_array_size(appts), nveh = json_array_size(engineers);
	p->basis = json_integer_value(json_object_get(in, "basis"));
	if (n > DM_SERVICE_PLANNER_MAX_VISITS) {
		json_decref(in);
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_TOO_MANY,
					  "too many appointments on this day to plan (at most "
					  "1000)",
					  NULL, 0);
		return;
	}
	if (dm_service_planner_alloc(p, n, nveh) != 0) {
		json_decref(in);
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE, "out of memory", NULL,
					  0);
		return;
	}
	p->lonlat[0] = p->t.lon;
	p->lonlat[1] = p->t.lat;
	dm_service_planner_fill(p, engineers, appts);
	json_decref(in);
	if (nveh == 0 || n == 0) { /* nothing to solve */
		dm_service_planner_publish(p);
		return;
	}
	size_t nl = n + 1, np = p->prob.n_profiles;
	p->dist_m = calloc(np * nl * nl, sizeof *p->dist_m);
	p->time_s = calloc(np * nl * nl, sizeof *p->time_s);
	if (p->dist_m == NULL || p->time_s == NULL) {
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE, "out of memory", NULL,
					  0);
		return;
	}
	for (size_t k = 0; k < np; k++)
		p->matrices[k] =
		    (struct rt_vrp_matrix){p->dist_m + k * nl * nl, p->time_s + k * nl * nl};
	if (p->d->work == NULL ||
	    dm_work_submit(p->d->work, dm_service_planner_run, dm_service_planner_solved, p) != 0)
		dm_service_planner_finish(p, DM_SERVICE_PLANNER_UNAVAILABLE,
					  "the worker pool is unavailable", NULL, 0);
}

int
dm_service_planner_start(struct dm_daemon *d, const struct dm_service_planner_target *t,
			 dm_service_planner_done_fn *done, void *arg)
{
	char limit[16];
	struct dm_service_planner *p = calloc(1, sizeof *p);
	if (p == NULL || d->pg == NULL) {
		free(p);
		return -1;
	}
	p->d = d;
	p->t = *t;
	p->done = done;
	p->arg = arg;
	snprintf(limit, sizeof limit, "%d", DM_SERVICE_PLANNER_MAX_VISITS + 1);
	const char *params[] = {p->t.station, p->t.day, p->t.tz, limit};
	if (dm_pg_query(d->pg, "SELECT service_plan_input($1, $2::date, $3, $4::integer)", 4,
			params, dm_service_planner_loaded, p) != 0) {
		free(p);
		return -1;
	}
	return 0;
}
