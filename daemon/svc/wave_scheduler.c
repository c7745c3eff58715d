/* The wave scheduler (see wave_scheduler.h). Each tick, on the loop:
 *
 *   1. the candidates: for every station of the areas snapshot and every
 *      configured wave of today and tomorrow, those whose planning cut-off
 *      has passed and that have not ended (dm_clock_now: the test clock
 *      drives it);
 *   2. one query, wave_auto_due, keeps those no daemon has done or holds
 *      (and records done at once the waves with nothing booked);
 *   3. for each, while fewer than scheduler_max_plans run: wave_auto_claim
 *      (a fencing epoch, or NULL when another daemon got there first), then
 *      the plan (svc/wave_planner.c) published under that epoch: the store
 *      refuses it if the claim was taken over meanwhile, and marks the wave
 *      done with it;
 *   4. with room left, wave_replan_take takes rows of the replan queue
 *      (FOR UPDATE SKIP LOCKED, marked with this daemon's id) and replans
 *      each wave warm with the row's reason; the store deletes the row.
 *
 * A plan that fails leaves its claim to go stale ([dispatch]
 * scheduler_stale_s): then any daemon, this one included, takes it over
 * with the next epoch. Nothing here blocks: every step is a query or a
 * worker job with a callback. */
#include <event2/event.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/pg.h"
#include "daemon/svc/areas.h"
#include "daemon/svc/sched_timer.h"
#include "daemon/svc/wave_planner.h"
#include "daemon/svc/wave_scheduler.h"
#include "warehouse/capacity.h"
#include "warehouse/civil.h"

struct dm_wave_scheduler {
	struct dm_daemon *d;
	struct dm_sched_timer timer; /* the tick, and this daemon in claims (timer.id) */
	/* The claimer of the replans taken by the take in flight: id and a take
	 * number. A replan's store is fenced by it, so a row unclaimed (a retry
	 * or a duty change came) and taken again by this daemon refuses the
	 * older take's store, whose plan missed the change. */
	char take_by[DM_WAVE_PLANNER_REPLAN_BY_MAX];
	uint64_t takes;
	bool querying;	 /* a due or take query is in flight */
	int running;	 /* claims and plans in flight */
	bool closing;	 /* dm_wave_scheduler_free was called */
};

/* One automatic plan or replan in flight. */
struct dm_wave_scheduler_job {
	struct dm_wave_scheduler *s;
	struct dm_wave_planner_target t;
	bool replan;
};

static void
dm_wave_scheduler_maybe_free(struct dm_wave_scheduler *s)
{
	if (s->closing && s->running == 0 && !s->querying)
		free(s);
}

static const struct cfg *
dm_wave_scheduler_cfg(const struct dm_wave_scheduler *s)
{
	return s->d->cfg->cfg;
}

static bool
dm_wave_scheduler_can_start(const struct dm_wave_scheduler *s)
{
	return !s->closing && !s->d->draining && s->d->pg != NULL && dm_pg_up(s->d->pg) &&
	       s->running < dm_wave_scheduler_cfg(s)->dispatch_scheduler_max_plans;
}

static void
dm_wave_scheduler_job_end(struct dm_wave_scheduler_job *job)
{
	struct dm_wave_scheduler *s = job->s;
	s->running--;
	free(job);
	dm_wave_scheduler_maybe_free(s);
}

static void
dm_wave_scheduler_ignore_cb(const struct dm_pg_reply *reply, void *arg)
{
	(void)reply;
	(void)arg;
}

static void
dm_wave_scheduler_planned(const struct dm_wave_planner_result *res, void *arg)
{
	struct dm_wave_scheduler_job *job = arg;
	const char *what = job->replan ? "replan" : "automatic plan";
	switch (res->status) {
	case DM_WAVE_PLANNER_OK:
		dm_log_info("routes", "%s of %s %s published (%s)", what, job->t.station,
			    job->t.wave_key, job->t.reason);
		break;
	case DM_WAVE_PLANNER_NOT_STORED:
		dm_log_warning("routes", "%s of %s %s refused: its claim was taken over", what,
			       job->t.station, job->t.wave_key);
		break;
	case DM_WAVE_PLANNER_RUNNING:
		dm_log_info("routes", "%s of %s %s waits: the wave is being planned now", what,
			    job->t.station, job->t.wave_key);
		break;
	default:
		dm_log_warning("routes", "%s of %s %s failed (%s); retried after the stale bound",
			       what, job->t.station, job->t.wave_key,
			       res->detail != NULL ? res->detail : "?");
		break;
	}
	dm_wave_scheduler_job_end(job);
}

/* The target of (station, wave key), or -1 when the station or the wave is
 * unknown to this daemon's areas and config. */
static int
dm_wave_scheduler_target(struct dm_wave_scheduler *s, const char *station, const char *key,
			 struct dm_wave_planner_target *t)
{
	struct wh_capacity_ref ref;
	struct wh_err err;
	struct dm_areas_place place;
	int64_t now;
	int32_t offset;
	if (wh_capacity_key_parse(key, strlen(key), &ref, &err) != WH_OK ||
	    ref.kind != WH_CAPACITY_WAVE)
		return -1;
	struct dm_areas_snap *geo = dm_areas_current(s->d);
	enum dm_areas_status gs =
	    geo != NULL ? dm_areas_station(geo, station, &place) : DM_AREAS_NOT_LOADED;
	dm_areas_unref(geo);
	if (gs != DM_AREAS_OK)
		return -1;
	dm_clock_now(&now, &offset);
	return dm_wave_planner_target_init(t, &s->d->cfg->promise, place.station_id,
					   place.station_lon, place.station_lat, &ref, offset);
}

static void
dm_wave_scheduler_plan(struct dm_wave_scheduler_job *job)
{
	if (dm_wave_planner_start(job->s->d, &job->t, dm_wave_scheduler_planned, job) != 0) {
		dm_log_warning("routes", "cannot start planning %s %s: postgresql unavailable",
			       job->t.station, job->t.wave_key);
		dm_wave_scheduler_job_end(job);
	}
}

static void
dm_wave_scheduler_claimed(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_scheduler_job *job = arg;
	if (!reply->ok || PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 0) ||
	    job->s->closing) {
		if (!reply->ok && !reply->unavailable)
			dm_log_error("pg", "claiming %s %s failed: %s", job->t.station,
				     job->t.wave_key, reply->error);
		dm_wave_scheduler_job_end(job); /* another daemon has it */
		return;
	}
	job->t.fence_epoch = strtoll(PQgetvalue(reply->res, 0, 0), NULL, 10);
	dm_log_info("routes", "planning %s %s at its cut-off (claim epoch %lld)", job->t.station,
		    job->t.wave_key, (long long)job->t.fence_epoch);
	dm_wave_scheduler_plan(job);
}

/* Claim the automatic planning of (station, key) and plan it. */
static void
dm_wave_scheduler_start_auto(struct dm_wave_scheduler *s, const char *station, const char *key)
{
	struct dm_wave_scheduler_job *job = calloc(1, sizeof *job);
	if (job == NULL)
		return;
	job->s = s;
	if (dm_wave_scheduler_target(s, station, key, &job->t) != 0) {
		free(job);
		return;
	}
	snprintf(job->t.reason, sizeof job->t.reason, "auto");
	char stale[16];
	snprintf(stale, sizeof stale, "%d", dm_wave_scheduler_cfg(s)->dispatch_scheduler_stale_s);
	const char *params[] = {job->t.station, job->t.wave_key, s->timer.id, stale};
	s->running++;
	if (dm_pg_query(s->d->pg, "SELECT wave_auto_claim($1, $2, $3, $4::integer)", 4, params,
			dm_wave_scheduler_claimed, job) != 0)
		dm_wave_scheduler_job_end(job);
}

/* Replan (station, key) warm for reason: the queue's row is ours. */
static void
dm_wave_scheduler_start_replan(struct dm_wave_scheduler *s, const char *station,
			       const char *key, const char *reason)
{
	struct dm_wave_scheduler_job *job = calloc(1, sizeof *job);
	if (job == NULL)
		return;
	job->s = s;
	job->replan = true;
	if (dm_wave_scheduler_target(s, station, key, &job->t) != 0) {
		/* Not a wave of this region's config: nobody can plan it. */
		dm_log_warning("routes", "replan of %s %s dropped: no such station or wave",
			       station, key);
		const char *params[] = {station, key, s->take_by};
		(void)dm_pg_query(s->d->pg,
				  "DELETE FROM wave_replans_due WHERE station_id = $1"
				  " AND wave_key = $2 AND claimed_by = $3",
				  3, params, dm_wave_scheduler_ignore_cb, NULL);
		free(job);
		return;
	}
	snprintf(job->t.reason, sizeof job->t.reason, "%s", reason);
	snprintf(job->t.replan_by, sizeof job->t.replan_by, "%s", s->take_by);
	s->running++;
	dm_log_info("routes", "replanning %s %s (%s)", station, key, reason);
	dm_wave_scheduler_plan(job);
}

static void
dm_wave_scheduler_taken(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_scheduler *s = arg;
	s->querying = false;
	if (!reply->ok && !reply->unavailable)
		dm_log_error("pg", "taking replans failed: %s", reply->error);
	for (int i = 0; reply->ok && !s->closing && i < PQntuples(reply->res); i++)
		dm_wave_scheduler_start_replan(s, PQgetvalue(reply->res, i, 0),
					       PQgetvalue(reply->res, i, 1),
					       PQgetvalue(reply->res, i, 2));
	dm_wave_scheduler_maybe_free(s);
}

/* Step 4: with room left, take replans due. */
static void
dm_wave_scheduler_take_replans(struct dm_wave_scheduler *s)
{
	/* Not before the areas are loaded: a replan needs its station's point. */
	struct dm_areas_snap *geo = dm_areas_current(s->d);
	bool loaded = geo != NULL;
	dm_areas_unref(geo);
	if (!loaded || !dm_wave_scheduler_can_start(s))
		return;
	char stale[16], room[16];
	const struct cfg *cfg = dm_wave_scheduler_cfg(s);
	snprintf(stale, sizeof stale, "%d", cfg->dispatch_scheduler_stale_s);
	snprintf(room, sizeof room, "%d", cfg->dispatch_scheduler_max_plans - s->running);
	snprintf(s->take_by, sizeof s->take_by, "%s/%" PRIu64, s->timer.id, ++s->takes);
	const char *params[] = {s->take_by, stale, room};
	if (dm_pg_query(s->d->pg, "SELECT * FROM wave_replan_take($1, $2::integer, $3::integer)", 3,
			params, dm_wave_scheduler_taken, s) == 0)
		s->querying = true;
}

static void
dm_wave_scheduler_due(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_wave_scheduler *s = arg;
	s->querying = false;
	if (!reply->ok && !reply->unavailable)
		dm_log_error("pg", "reading the waves due failed: %s", reply->error);
	for (int i = 0; reply->ok && i < PQntuples(reply->res) && dm_wave_scheduler_can_start(s);
	     i++)
		dm_wave_scheduler_start_auto(s, PQgetvalue(reply->res, i, 0),
					     PQgetvalue(reply->res, i, 1));
	if (s->closing) {
		dm_wave_scheduler_maybe_free(s);
		return;
	}
	dm_wave_scheduler_take_replans(s);
}

/* Append text to a PostgreSQL array literal as a quoted element, leaving
 * room for the closing brace. */
static int
dm_wave_scheduler_append(char **buf, size_t *len, size_t *cap, const char *text)
{
	size_t need = *len + 2 * strlen(text) + 5; /* , " text " } NUL */
	if (need > *cap) {
		size_t ncap = need * 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return -1;
		*buf = nb;
		*cap = ncap;
	}
	char *p = *buf + *len;
	if (*len > 1)
		*p++ = ',';
	*p++ = '"';
	for (const char *c = text; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			*p++ = '\\';
		*p++ = *c;
	}
	*p++ = '"';
	*p = '\0';
	*len = (size_t)(p - *buf);
	return 0;
}

/* Steps 1 and 2: the waves past their cut-off, as two array literals. */
static size_t
dm_wave_scheduler_candidates(struct dm_wave_scheduler *s, char **stations, char **waves)
{
	const struct cfg *cfg = dm_wave_scheduler_cfg(s);
	const struct wh_promise_config *promise = &s->d->cfg->promise;
	size_t n = 0, slen = 1, scap = 3, wlen = 1, wcap = 3; /* "{" then "}" */
	int64_t now;
	int32_t offset;
	*stations = malloc(scap);
	*waves = malloc(wcap);
	if (*stations == NULL || *waves == NULL)
		return 0;
	strcpy(*stations, "{");
	strcpy(*waves, "{");
	dm_clock_now(&now, &offset);
	int64_t local = now + offset, today = wh_civil_day(local);
	int64_t cutoff_s = (int64_t)cfg->dispatch_plan_cutoff_min * 60;
	struct dm_areas_snap *geo = dm_areas_current(s->d);
	size_t nst = geo != NULL ? dm_areas_station_count(geo) : 0;
	for (size_t i = 0; i < nst; i++) {
		const char *id = dm_areas_station_id(geo, i);
		struct wh_station st = {.id = id, .offers_slots = true};
		size_t nw = 0;
		const struct wh_wave *ws = wh_promise_station_waves(promise, &st, &nw);
		for (int64_t day = today; day <= today + 1; day++)
			for (size_t k = 0; k < nw; k++) {
				char key[WH_CAPACITY_KEY_LEN];
				struct wh_capacity_ref ref = {
				    .kind = WH_CAPACITY_WAVE, .day = day, .start_s = ws[k].start_s};
				if (!wh_promise_wave_runs(&ws[k], day) ||
				    local < wh_civil_at(day, ws[k].start_s) - cutoff_s ||
				    local >= wh_civil_at(day, ws[k].end_s) ||
				    wh_capacity_key(&ref, key, sizeof key) == 0)
					continue;
				if (dm_wave_scheduler_append(stations, &slen, &scap, id) != 0 ||
				    dm_wave_scheduler_append(waves, &wlen, &wcap, key) != 0) {
					dm_areas_unref(geo);
					return 0;
				}
				n++;
			}
	}
	dm_areas_unref(geo);
	strcat(*stations, "}");
	strcat(*waves, "}");
	return n;
}

static void
dm_wave_scheduler_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_wave_scheduler *s = arg;
	(void)fd;
	(void)what;
	dm_sched_timer_arm(&s->timer);
	if (dm_wave_scheduler_cfg(s)->dispatch_scheduler_interval_ms <= 0 || s->querying ||
	    !dm_wave_scheduler_can_start(s))
		return;
	char *stations = NULL, *waves = NULL, stale[16];
	size_t n = dm_wave_scheduler_candidates(s, &stations, &waves);
	if (n == 0) {
		free(stations);
		free(waves);
		dm_wave_scheduler_take_replans(s);
		return;
	}
	snprintf(stale, sizeof stale, "%d", dm_wave_scheduler_cfg(s)->dispatch_scheduler_stale_s);
	const char *params[] = {stations, waves, stale};
	if (dm_pg_query(s->d->pg,
			"SELECT * FROM wave_auto_due($1::text[], $2::text[], $3::integer)", 3,
			params, dm_wave_scheduler_due, s) == 0)
		s->querying = true;
	free(stations);
	free(waves);
}

struct dm_wave_scheduler *
dm_wave_scheduler_new(struct dm_daemon *d)
{
	struct dm_wave_scheduler *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->d = d;
	if (dm_sched_timer_init(&s->timer, d, dm_wave_scheduler_tick_cb, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
dm_wave_scheduler_free(struct dm_wave_scheduler *s)
{
	if (s == NULL)
		return;
	dm_sched_timer_stop(&s->timer);
	s->closing = true;
	dm_wave_scheduler_maybe_free(s);
}
