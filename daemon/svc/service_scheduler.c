/* The service scheduler (see service_scheduler.h). Each tick, on the loop:
 * once the local time of day has passed [services] plan_at, the day to
 * plan is tomorrow; one query, service_auto_claim, claims it for the
 * stations of the areas snapshot that no daemon has done or holds (at most
 * the room left), and each claimed station's day is planned under its
 * epoch. Nothing here blocks. */
#include <event2/event.h>
#include <jansson.h>
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
#include "daemon/svc/service_planner.h"
#include "daemon/svc/service_scheduler.h"
#include "warehouse/civil.h"

struct dm_service_scheduler {
	struct dm_daemon *d;
	struct dm_sched_timer timer; /* the tick, and this daemon in claims (timer.id) */
	char day[16];    /* the day the claim in flight is for */
	bool querying;   /* a claim query is in flight */
	int running;     /* plans in flight */
	bool closing;
};

struct dm_service_scheduler_job {
	struct dm_service_scheduler *s;
	struct dm_service_planner_target t;
};

static void
dm_service_scheduler_maybe_free(struct dm_service_scheduler *s)
{
	if (s->closing && s->running == 0 && !s->querying)
		free(s);
}

static const struct cfg *
dm_service_scheduler_cfg(const struct dm_service_scheduler *s)
{
	return s->d->cfg->cfg;
}

static void
dm_service_scheduler_planned(const struct dm_service_planner_result *res, void *arg)
{
	struct dm_service_scheduler_job *job = arg;
	struct dm_service_scheduler *s = job->s;
	if (res->status == DM_SERVICE_PLANNER_OK)
		dm_log_info("routes", "automatic day plan of %s %s published", job->t.station,
			    job->t.day);
	else
		dm_log_warning("routes", "automatic day plan of %s %s not published (%s)",
			       job->t.station, job->t.day, res->detail != NULL ? res->detail : "?");
	s->running--;
	free(job);
	dm_service_scheduler_maybe_free(s);
}

/* Plan station's day under epoch: ours now. */
static void
dm_service_scheduler_start(struct dm_service_scheduler *s, const char *station,
			   long long epoch)
{
	struct dm_areas_place place;
	struct dm_areas_snap *geo = dm_areas_current(s->d);
	enum dm_areas_status gs =
	    geo != NULL ? dm_areas_station(geo, station, &place) : DM_AREAS_NOT_LOADED;
	dm_areas_unref(geo);
	struct dm_service_scheduler_job *job = calloc(1, sizeof *job);
	if (gs != DM_AREAS_OK || job == NULL) {
		free(job); /* the claim goes stale and is taken over */
		return;
	}
	job->s = s;
	snprintf(job->t.station, sizeof job->t.station, "%s", place.station_id);
	job->t.lon = place.station_lon;
	job->t.lat = place.station_lat;
	memcpy(job->t.day, s->day, sizeof job->t.day);
	snprintf(job->t.tz, sizeof job->t.tz, "%s", s->d->cfg->promise.tz);
	snprintf(job->t.reason, sizeof job->t.reason, "auto");
	job->t.fence_epoch = epoch;
	dm_log_info("routes", "planning the engineers' day %s of %s (claim epoch %lld)",
		    job->t.day, job->t.station, epoch);
	s->running++;
	if (dm_service_planner_start(s->d, &job->t, dm_service_scheduler_planned, job) != 0) {
		s->running--;
		free(job);
	}
}

static void
dm_service_scheduler_claimed(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_service_scheduler *s = arg;
	s->querying = false;
	if (!reply->ok && !reply->unavailable)
		dm_log_error("pg", "claiming the engineers' days failed: %s", reply->error);
	for (int i = 0; reply->ok && !s->closing && i < PQntuples(reply->res); i++)
		dm_service_scheduler_start(s, PQgetvalue(reply->res, i, 0),
					   strtoll(PQgetvalue(reply->res, i, 1), NULL, 10));
	dm_service_scheduler_maybe_free(s);
}

/* The stations of the areas snapshot as a JSON array text; NULL when none. */
static char *
dm_service_scheduler_stations(struct dm_service_scheduler *s)
{
	struct dm_areas_snap *geo = dm_areas_current(s->d);
	size_t n = geo != NULL ? dm_areas_station_count(geo) : 0;
	json_t *a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(dm_areas_station_id(geo, i)));
	dm_areas_unref(geo);
	char *text = n > 0 && a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return text;
}

static void
dm_service_scheduler_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_service_scheduler *s = arg;
	const struct cfg *cfg = dm_service_scheduler_cfg(s);
	int64_t now, y;
	int32_t offset;
	int m, dd;
	(void)fd;
	(void)what;
	dm_sched_timer_arm(&s->timer);
	if (cfg->dispatch_scheduler_interval_ms <= 0 || s->querying || s->closing ||
	    s->d->draining || s->d->pg == NULL || !dm_pg_up(s->d->pg) ||
	    s->running >= cfg->dispatch_scheduler_max_plans)
		return;
	dm_clock_now(&now, &offset);
	int64_t local = now + offset, today = wh_civil_day(local);
	if (local - wh_civil_at(today, 0) < cfg->services_plan_at_s)
		return; /* tomorrow is planned at plan_at */
	wh_civil_ymd_from_days(today + 1, &y, &m, &dd);
	snprintf(s->day, sizeof s->day, "%04d-%02d-%02d", (int)y, m, dd);
	char *stations = dm_service_scheduler_stations(s);
	if (stations == NULL)
		return;
	char stale[16], room[16];
	snprintf(stale, sizeof stale, "%d", cfg->dispatch_scheduler_stale_s);
	snprintf(room, sizeof room, "%d", cfg->dispatch_scheduler_max_plans - s->running);
	const char *params[] = {stations, s->day, s->timer.id, stale, room};
	if (dm_pg_query(s->d->pg,
			"SELECT * FROM service_auto_claim(ARRAY(SELECT jsonb_array_elements_text("
			"$1::jsonb)), $2::date, $3, $4::integer, $5::integer)",
			5, params, dm_service_scheduler_claimed, s) == 0)
		s->querying = true;
	free(stations);
}

struct dm_service_scheduler *
dm_service_scheduler_new(struct dm_daemon *d)
{
	struct dm_service_scheduler *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->d = d;
	if (dm_sched_timer_init(&s->timer, d, dm_service_scheduler_tick_cb, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

void
dm_service_scheduler_free(struct dm_service_scheduler *s)
{
	if (s == NULL)
		return;
	dm_sched_timer_stop(&s->timer);
	s->closing = true;
	dm_service_scheduler_maybe_free(s);
}
