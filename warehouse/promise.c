/* The standard delivery promise. Owns the per-region settings (defaults and
 * validation), the 211 rule, the chain arithmetic (pick cut-off, shuttle
 * departures, line-haul) and the choice of the delivering wave or large-item
 * window under a capacity snapshot. It does not own precise slots (slot.c),
 * warehouse choice (alloc.c), time zones (the caller's) or counters (the
 * daemon's). All times are local seconds (civil.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "warehouse/civil.h"
#include "warehouse/promise.h"

#define H(h, m) ((int32_t)((h) * 3600 + (m) * 60))

void
wh_promise_config_defaults(struct wh_promise_config *cfg)
{
	static const struct wh_wave waves[] = {
		{H(9, 0), H(13, 0), WH_WEEKDAYS_ALL, 24},
		{H(13, 0), H(17, 0), WH_WEEKDAYS_ALL, 20},
		{H(17, 0), H(21, 0), WH_WEEKDAYS_ALL, 24},
		{H(21, 0), H(23, 0), WH_WEEKDAYS_ALL, 10},
	};
	static const struct wh_wave large[] = {
		{H(9, 0), H(13, 0), WH_WEEKDAYS_ALL, 4},
		{H(14, 0), H(18, 0), WH_WEEKDAYS_ALL, 4},
	};

	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->tz, sizeof cfg->tz, "%s", "Asia/Shanghai");
	cfg->same_day_cutoff_s = H(11, 0);
	cfg->same_day_deadline_s = H(23, 0);
	cfg->next_day_cutoff_s = H(23, 0);
	cfg->next_day_deadline_s = H(15, 0);
	cfg->station_sort_s = H(0, 30);
	memcpy(cfg->waves, waves, sizeof waves);
	cfg->n_waves = sizeof waves / sizeof waves[0];
	cfg->stops_per_courier_wave = 30;
	cfg->stops_per_courier_slot = 12;
	cfg->slot_len_s = H(2, 0);
	cfg->slot_first_s = H(9, 0);
	cfg->slot_last_end_s = H(21, 0);
	cfg->slot_days_ahead = 3;
	memcpy(cfg->large_windows, large, sizeof large);
	cfg->n_large_windows = sizeof large / sizeof large[0];
	cfg->large_stops_per_crew = 6;
	cfg->installs_per_crew = 3;
	cfg->large_prep_s = H(2, 0);
	cfg->large_days_ahead = 7;
}

static enum wh_status
wh_promise_sod_check(const char *name, int64_t v, int64_t lo, int64_t hi, struct wh_err *err)
{
	if (v < lo || v > hi)
		return wh_err_set(err, WH_E_INVAL, "%s: %lld is outside %lld..%lld", name,
				  (long long)v, (long long)lo, (long long)hi);
	return WH_OK;
}

static enum wh_status
wh_promise_waves_check(const char *name, const struct wh_wave *w, size_t n, struct wh_err *err)
{
	if (n > WH_PROMISE_MAX_WAVES)
		return wh_err_set(err, WH_E_LIMIT, "%s: %zu entries, at most %d", name, n,
				  WH_PROMISE_MAX_WAVES);
	if (n > 0 && w == NULL)
		return wh_err_set(err, WH_E_INVAL, "%s: NULL array", name);
	for (size_t i = 0; i < n; i++) {
		if (w[i].start_s < 0 || w[i].start_s >= w[i].end_s || w[i].end_s > WH_CIVIL_DAY_S ||
		    w[i].start_s % 60 != 0)
			return wh_err_set(err, WH_E_INVAL,
					  "%s[%zu]: need 0 <= start < end <= 24:00, start in "
					  "whole minutes",
					  name, i);
		if (w[i].weekdays & ~WH_WEEKDAYS_ALL)
			return wh_err_set(err, WH_E_INVAL, "%s[%zu]: weekday bits beyond Sunday",
					  name, i);
		for (size_t j = 0; j < i; j++)
			if (w[j].start_s == w[i].start_s && (w[j].weekdays & w[i].weekdays))
				return wh_err_set(err, WH_E_INVAL,
						  "%s[%zu]: same start as [%zu] on a shared day "
						  "(counters are keyed by start)",
						  name, i, j);
	}
	return WH_OK;
}

enum wh_status
wh_promise_config_check(const struct wh_promise_config *cfg, struct wh_err *err)
{
	const int64_t day = WH_CIVIL_DAY_S;
	enum wh_status rc;

	if (memchr(cfg->tz, '\0', sizeof cfg->tz) == NULL || cfg->tz[0] == '\0')
		return wh_err_set(err, WH_E_INVAL, "tz: empty or not terminated");
	if ((rc = wh_promise_sod_check("same_day_cutoff", cfg->same_day_cutoff_s, 0, day, err)) ||
	    (rc = wh_promise_sod_check("next_day_cutoff", cfg->next_day_cutoff_s,
				       cfg->same_day_cutoff_s, day, err)) ||
	    (rc = wh_promise_sod_check("same_day_deadline", cfg->same_day_deadline_s,
				       cfg->same_day_cutoff_s + 1, day, err)) ||
	    (rc = wh_promise_sod_check("next_day_deadline", cfg->next_day_deadline_s, 1, day,
				       err)) ||
	    (rc = wh_promise_sod_check("station_sort", cfg->station_sort_s, 0, day, err)) ||
	    (rc = wh_promise_sod_check("large_prep", cfg->large_prep_s, 0, 7 * day, err)) ||
	    (rc = wh_promise_sod_check("slot_days_ahead", cfg->slot_days_ahead, 0,
				       WH_PROMISE_MAX_DAYS_AHEAD, err)) ||
	    (rc = wh_promise_sod_check("large_days_ahead", cfg->large_days_ahead, 0,
				       WH_PROMISE_MAX_DAYS_AHEAD, err)) ||
	    (rc = wh_promise_sod_check("slot_len", cfg->slot_len_s, 15 * 60, day, err)) ||
	    (rc = wh_promise_sod_check("slot_first", cfg->slot_first_s, 0, day, err)) ||
	    (rc = wh_promise_sod_check("slot_last_end", cfg->slot_last_end_s,
				       cfg->slot_first_s, day, err)))
		return rc;
	if (cfg->slot_len_s % 60 != 0 || cfg->slot_first_s % 60 != 0)
		return wh_err_set(err, WH_E_INVAL, "slot_len, slot_first: whole minutes only");
	if ((rc = wh_promise_waves_check("waves", cfg->waves, cfg->n_waves, err)) ||
	    (rc = wh_promise_waves_check("large_windows", cfg->large_windows,
					 cfg->n_large_windows, err)))
		return rc;
	return WH_OK;
}

enum wh_status
wh_promise_station_check(const struct wh_promise_config *cfg, const struct wh_station *st,
			 struct wh_err *err)
{
	(void)cfg;
	if (st->waves == NULL)
		return st->n_waves == 0 ? WH_OK
					: wh_err_set(err, WH_E_INVAL, "station waves: NULL array");
	return wh_promise_waves_check("station waves", st->waves, st->n_waves, err);
}

enum wh_status
wh_promise_chain_check(const struct wh_chain *chain, struct wh_err *err)
{
	enum wh_status rc;

	if ((rc = wh_promise_sod_check("handling", chain->handling_s, 0, 7 * WH_CIVIL_DAY_S,
				       err)) ||
	    (rc = wh_promise_sod_check("linehaul", chain->linehaul_s, 0, 7 * WH_CIVIL_DAY_S,
				       err)) ||
	    (rc = wh_promise_sod_check("pick_open", chain->pick_open_s, 0, WH_CIVIL_DAY_S - 1,
				       err)) ||
	    (rc = wh_promise_sod_check("pick_cutoff", chain->pick_cutoff_s, chain->pick_open_s,
				       WH_CIVIL_DAY_S, err)))
		return rc;
	if (chain->n_departures > 0 && chain->departures_s == NULL)
		return wh_err_set(err, WH_E_INVAL, "departures: NULL array");
	for (size_t i = 0; i < chain->n_departures; i++) {
		int32_t d = chain->departures_s[i];
		if (d < 0 || d >= WH_CIVIL_DAY_S || (i > 0 && d <= chain->departures_s[i - 1]))
			return wh_err_set(err, WH_E_INVAL,
					  "departures[%zu]: must ascend within [0, 24:00)", i);
	}
	return WH_OK;
}

const struct wh_wave *
wh_promise_station_waves(const struct wh_promise_config *cfg, const struct wh_station *st,
			 size_t *n)
{
	if (st != NULL && st->waves != NULL) {
		*n = st->n_waves;
		return st->waves;
	}
	*n = cfg->n_waves;
	return cfg->waves;
}

bool
wh_promise_wave_runs(const struct wh_wave *w, int64_t day)
{
	return (w->weekdays >> wh_civil_weekday(day)) & 1;
}

size_t
wh_promise_day_waves(const struct wh_wave *waves, size_t n, int64_t day, size_t *idx)
{
	size_t k = 0;

	if (n > WH_PROMISE_MAX_WAVES)
		n = WH_PROMISE_MAX_WAVES;
	for (size_t i = 0; i < n; i++) {
		size_t j;
		if (!wh_promise_wave_runs(&waves[i], day))
			continue;
		/* Insertion sort: at most 8 entries. */
		for (j = k; j > 0; j--) {
			const struct wh_wave *a = &waves[idx[j - 1]], *b = &waves[i];
			if (a->start_s < b->start_s ||
			    (a->start_s == b->start_s && a->end_s <= b->end_s))
				break;
			idx[j] = idx[j - 1];
		}
		idx[j] = i;
		k++;
	}
	return k;
}

int64_t
wh_promise_target(const struct wh_promise_config *cfg, int64_t now_local_s)
{
	int64_t day = wh_civil_day(now_local_s);
	int32_t sod = wh_civil_sec_of_day(now_local_s);

	/* Cut-offs are exclusive: 10:59:59 makes the same day, 11:00:00 does not. */
	if (sod < cfg->same_day_cutoff_s)
		return wh_civil_at(day, cfg->same_day_deadline_s);
	if (sod < cfg->next_day_cutoff_s)
		return wh_civil_at(day + 1, cfg->next_day_deadline_s);
	/* After the last cut-off the order counts as placed early tomorrow. */
	return wh_civil_at(day + 1, cfg->same_day_deadline_s);
}

void
wh_promise_chain_times(const struct wh_chain *chain, int64_t now_local_s,
		       struct wh_chain_times *out)
{
	int64_t day = wh_civil_day(now_local_s);
	int32_t sod = wh_civil_sec_of_day(now_local_s);

	if (sod >= chain->pick_cutoff_s)
		out->pick_start_s = wh_civil_at(day + 1, chain->pick_open_s);
	else if (sod < chain->pick_open_s)
		out->pick_start_s = wh_civil_at(day, chain->pick_open_s);
	else
		out->pick_start_s = now_local_s;
	out->ready_s = out->pick_start_s + chain->handling_s;
	out->depart_s = out->ready_s;
	if (chain->n_departures > 0) {
		int64_t rday = wh_civil_day(out->ready_s);
		int32_t rsod = wh_civil_sec_of_day(out->ready_s);
		size_t i = 0;
		while (i < chain->n_departures && chain->departures_s[i] < rsod)
			i++;
		if (i < chain->n_departures)
			out->depart_s = wh_civil_at(rday, chain->departures_s[i]);
		else
			out->depart_s = wh_civil_at(rday + 1, chain->departures_s[0]);
	}
	out->at_station_s = out->depart_s + chain->linehaul_s;
}

/* Fills one counter from the snapshot. */
static void
wh_promise_counter(struct wh_capacity_counter *c, enum wh_capacity_kind kind, int64_t day,
		   const struct wh_wave *w, uint32_t per_courier,
		   const struct wh_capacity_view *view)
{
	c->ref.kind = kind;
	c->ref.day = day;
	c->ref.start_s = w->start_s;
	c->ref.end_s = w->end_s;
	c->capacity = (uint32_t)w->couriers * per_courier;
	c->booked = wh_capacity_booked(view, &c->ref);
}

/* First window in waves[n] on or after `earliest` (its start) with capacity; true if found. */
static bool
wh_promise_first_window(const struct wh_promise_config *cfg, const struct wh_wave *waves,
			size_t n, int64_t earliest, const struct wh_capacity_view *view, bool large,
			bool install, struct wh_promise *out)
{
	int64_t first_day = wh_civil_day(earliest);
	size_t idx[WH_PROMISE_MAX_WAVES];

	for (int64_t day = first_day; day <= first_day + WH_PROMISE_HORIZON_DAYS; day++) {
		size_t k = wh_promise_day_waves(waves, n, day, idx);
		for (size_t i = 0; i < k; i++) {
			const struct wh_wave *w = &waves[idx[i]];
			bool ok;
			if (wh_civil_at(day, w->start_s) < earliest)
				continue;
			if (large) {
				wh_promise_counter(&out->counters[0], WH_CAPACITY_LARGE, day, w,
						   cfg->large_stops_per_crew, view);
				wh_promise_counter(&out->counters[1], WH_CAPACITY_INSTALL, day, w,
						   cfg->installs_per_crew, view);
				out->n_counters = install ? 2 : 1;
			} else {
				wh_promise_counter(&out->counters[0], WH_CAPACITY_WAVE, day, w,
						   cfg->stops_per_courier_wave, view);
				out->n_counters = 1;
			}
			ok = true;
			for (size_t c = 0; c < out->n_counters; c++)
				ok = ok && wh_capacity_remaining(&out->counters[c]) > 0;
			if (!ok)
				continue;
			out->window_start_s = wh_civil_at(day, w->start_s);
			out->window_end_s = wh_civil_at(day, w->end_s);
			return true;
		}
	}
	return false;
}

enum wh_status
wh_promise_at_station(const struct wh_promise_config *cfg, const struct wh_station *st,
		      int64_t now_local_s, int64_t at_station_s,
		      const struct wh_capacity_view *view, bool large, bool install,
		      struct wh_promise *out, struct wh_err *err)
{
	const struct wh_wave *waves;
	size_t n;
	int64_t arrive = at_station_s > now_local_s ? at_station_s : now_local_s;

	memset(out, 0, sizeof *out);
	if (large) {
		out->kind = WH_PROMISE_LARGE;
		if (!wh_promise_first_window(cfg, cfg->large_windows, cfg->n_large_windows,
					     arrive + cfg->large_prep_s, view, true, install, out))
			return wh_err_set(err, WH_E_NO_CAPACITY,
					  "no large-item window with capacity within %d days",
					  WH_PROMISE_HORIZON_DAYS);
		out->deliver_by_s = out->window_end_s;
		return WH_OK;
	}
	out->kind = WH_PROMISE_STANDARD;
	out->target_s = wh_promise_target(cfg, now_local_s);
	waves = wh_promise_station_waves(cfg, st, &n);
	if (!wh_promise_first_window(cfg, waves, n, arrive + cfg->station_sort_s, view, false,
				     false, out))
		return wh_err_set(err, WH_E_NO_CAPACITY,
				  "station %s: no wave with capacity within %d days",
				  st != NULL && st->id != NULL ? st->id : "?",
				  WH_PROMISE_HORIZON_DAYS);
	out->late = out->window_end_s > out->target_s;
	out->deliver_by_s = out->late ? out->window_end_s : out->target_s;
	return WH_OK;
}

enum wh_status
wh_promise_via_chain(const struct wh_promise_config *cfg, const struct wh_station *st,
		     const struct wh_chain *chain, int64_t now_local_s,
		     const struct wh_capacity_view *view, bool large, bool install,
		     struct wh_promise *out, struct wh_chain_times *times, struct wh_err *err)
{
	struct wh_chain_times t;

	wh_promise_chain_times(chain, now_local_s, &t);
	if (times != NULL)
		*times = t;
	return wh_promise_at_station(cfg, st, now_local_s, t.at_station_s, view, large, install,
				     out, err);
}

/* ---- pickup points ---- */

double
wh_pickup_distance_m(double lon1, double lat1, double lon2, double lat2)
{
	const double r = 6371008.8, rad = 3.14159265358979323846 / 180.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * r * asin(sqrt(a < 1 ? a : 1));
}

/* out[0..n) ordered by distance, then id: insertion (n <= max, small). */
static void
wh_pickup_insert(const struct wh_pickup_point *points, struct wh_pickup_offer *out, size_t *n,
		 size_t max, const struct wh_pickup_offer *o)
{
	size_t at = *n;
	while (at > 0) {
		const struct wh_pickup_offer *prev = &out[at - 1];
		if (prev->distance_m < o->distance_m ||
		    (prev->distance_m == o->distance_m &&
		     strcmp(points[prev->index].id, points[o->index].id) <= 0))
			break;
		at--;
	}
	if (at >= max)
		return;
	size_t last = *n < max ? *n : max - 1;
	memmove(&out[at + 1], &out[at], (last - at) * sizeof *out);
	out[at] = *o;
	if (*n < max)
		(*n)++;
}

size_t
wh_pickup_offers(const struct wh_pickup_point *points, size_t n, const char *station,
		 bool has_loc, double lon, double lat, int64_t at_station_s, int64_t wave_end_s,
		 struct wh_pickup_offer *out, size_t max)
{
	size_t k = 0;
	if (max == 0 || station == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct wh_pickup_point *p = &points[i];
		if (strcmp(p->station, station) != 0 || p->used >= p->capacity)
			continue;
		struct wh_pickup_offer o = {
			.index = i,
			.free = p->capacity - (p->used > 0 ? p->used : 0),
			.distance_m = has_loc ? wh_pickup_distance_m(lon, lat, p->lon, p->lat) : 0,
			.ready_s = p->shelf ? at_station_s : wave_end_s,
		};
		wh_pickup_insert(points, out, &k, max, &o);
	}
	return k;
}
