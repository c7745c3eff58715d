/* Precise delivery slots and large-item windows. Owns which windows exist
 * (from the region config and the station's waves), which are feasible for a
 * given arrival at the station, and what capacity each would consume. It does
 * not own the counters (the daemon's) nor the standard promise (promise.c).
 *
 * A precise slot belongs to the earliest-starting wave that contains it; it
 * consumes one place of its slot and one of that wave, so standard orders and
 * slot orders share the wave's couriers. A slot outside every wave is never
 * offered. */
#include <string.h>

#include "warehouse/civil.h"
#include "warehouse/slot.h"

/* Visitor over candidate windows (full ones included); returns true to stop. */
typedef bool wh_slot_visit_fn(void *ctx, const struct wh_slot_offer *offer);

static void
wh_slot_counter(struct wh_capacity_counter *c, enum wh_capacity_kind kind, int64_t day,
		int32_t start_s, int32_t end_s, uint32_t capacity,
		const struct wh_capacity_view *view)
{
	c->ref.kind = kind;
	c->ref.day = day;
	c->ref.start_s = start_s;
	c->ref.end_s = end_s;
	c->capacity = capacity;
	c->booked = wh_capacity_booked(view, &c->ref);
}

static void
wh_slot_finish(struct wh_slot_offer *o)
{
	o->remaining = UINT32_MAX;
	for (size_t i = 0; i < o->n_counters; i++) {
		uint32_t r = wh_capacity_remaining(&o->counters[i]);
		if (r < o->remaining)
			o->remaining = r;
	}
}

static void
wh_slot_each_precise(const struct wh_promise_config *cfg, const struct wh_station *st,
		     int64_t now_local_s, int64_t at_station_s,
		     const struct wh_capacity_view *view, wh_slot_visit_fn *visit, void *ctx)
{
	int64_t today = wh_civil_day(now_local_s);
	int64_t ready = (at_station_s > now_local_s ? at_station_s : now_local_s) +
			cfg->station_sort_s;
	size_t n, idx[WH_PROMISE_MAX_WAVES];
	const struct wh_wave *waves = wh_promise_station_waves(cfg, st, &n);

	if (st == NULL || !st->offers_slots)
		return;
	for (int64_t day = today; day <= today + cfg->slot_days_ahead; day++) {
		size_t k = wh_promise_day_waves(waves, n, day, idx);
		for (int32_t s = cfg->slot_first_s; s + cfg->slot_len_s <= cfg->slot_last_end_s;
		     s += cfg->slot_len_s) {
			const struct wh_wave *w = NULL;
			struct wh_slot_offer o;
			for (size_t i = 0; i < k && w == NULL; i++)
				if (waves[idx[i]].start_s <= s &&
				    s + cfg->slot_len_s <= waves[idx[i]].end_s)
					w = &waves[idx[i]];
			if (w == NULL || wh_civil_at(day, w->start_s) < ready)
				continue;
			memset(&o, 0, sizeof o);
			o.start_s = wh_civil_at(day, s);
			o.end_s = o.start_s + cfg->slot_len_s;
			wh_slot_counter(&o.counters[0], WH_CAPACITY_SLOT, day, s,
					s + cfg->slot_len_s,
					(uint32_t)w->couriers * cfg->stops_per_courier_slot, view);
			wh_slot_counter(&o.counters[1], WH_CAPACITY_WAVE, day, w->start_s, w->end_s,
					(uint32_t)w->couriers * cfg->stops_per_courier_wave, view);
			o.n_counters = 2;
			wh_slot_finish(&o);
			if (visit(ctx, &o))
				return;
		}
	}
}

static void
wh_slot_each_large(const struct wh_promise_config *cfg, int64_t now_local_s,
		   int64_t at_station_s, const struct wh_capacity_view *view, bool install,
		   wh_slot_visit_fn *visit, void *ctx)
{
	int64_t today = wh_civil_day(now_local_s);
	int64_t ready = (at_station_s > now_local_s ? at_station_s : now_local_s) +
			cfg->large_prep_s;
	size_t idx[WH_PROMISE_MAX_WAVES];

	for (int64_t day = today; day <= today + cfg->large_days_ahead; day++) {
		size_t k = wh_promise_day_waves(cfg->large_windows, cfg->n_large_windows, day, idx);
		for (size_t i = 0; i < k; i++) {
			const struct wh_wave *w = &cfg->large_windows[idx[i]];
			struct wh_slot_offer o;
			if (wh_civil_at(day, w->start_s) < ready)
				continue;
			memset(&o, 0, sizeof o);
			o.start_s = wh_civil_at(day, w->start_s);
			o.end_s = wh_civil_at(day, w->end_s);
			o.install = install;
			wh_slot_counter(&o.counters[0], WH_CAPACITY_LARGE, day, w->start_s,
					w->end_s,
					(uint32_t)w->couriers * cfg->large_stops_per_crew, view);
			o.n_counters = 1;
			if (install) {
				wh_slot_counter(&o.counters[1], WH_CAPACITY_INSTALL, day,
						w->start_s, w->end_s,
						(uint32_t)w->couriers * cfg->installs_per_crew,
						view);
				o.n_counters = 2;
			}
			wh_slot_finish(&o);
			if (visit(ctx, &o))
				return;
		}
	}
}

struct wh_slot_collect {
	struct wh_slot_offer *out;
	size_t cap;
	size_t n;
};

static bool
wh_slot_collect_visit(void *ctx, const struct wh_slot_offer *offer)
{
	struct wh_slot_collect *c = ctx;

	if (offer->remaining == 0) /* a full slot is not offered */
		return false;
	if (c->n >= c->cap)
		return true;
	c->out[c->n++] = *offer;
	return false;
}

enum wh_status
wh_slot_list(const struct wh_promise_config *cfg, const struct wh_station *st,
	     int64_t now_local_s, int64_t at_station_s, const struct wh_capacity_view *view,
	     struct wh_slot_offer *out, size_t cap, size_t *n_out, struct wh_err *err)
{
	struct wh_slot_collect c = {out, cap, 0};

	if (cap > 0 && out == NULL)
		return wh_err_set(err, WH_E_INVAL, "slot list: NULL output");
	wh_slot_each_precise(cfg, st, now_local_s, at_station_s, view, wh_slot_collect_visit, &c);
	*n_out = c.n;
	return WH_OK;
}

enum wh_status
wh_slot_list_large(const struct wh_promise_config *cfg, int64_t now_local_s,
		   int64_t at_station_s, const struct wh_capacity_view *view, bool install,
		   struct wh_slot_offer *out, size_t cap, size_t *n_out, struct wh_err *err)
{
	struct wh_slot_collect c = {out, cap, 0};

	if (cap > 0 && out == NULL)
		return wh_err_set(err, WH_E_INVAL, "large list: NULL output");
	wh_slot_each_large(cfg, now_local_s, at_station_s, view, install, wh_slot_collect_visit,
			   &c);
	*n_out = c.n;
	return WH_OK;
}

struct wh_slot_find {
	int64_t start_s;
	struct wh_slot_offer *out;
	bool found;
};

static bool
wh_slot_find_visit(void *ctx, const struct wh_slot_offer *offer)
{
	struct wh_slot_find *f = ctx;

	if (offer->start_s != f->start_s)
		return false;
	*f->out = *offer;
	f->found = true;
	return true;
}

enum wh_status
wh_slot_check(const struct wh_promise_config *cfg, const struct wh_station *st,
	      int64_t now_local_s, int64_t at_station_s, const struct wh_capacity_view *view,
	      bool large, bool install, int64_t start_local_s, struct wh_slot_offer *out,
	      struct wh_err *err)
{
	struct wh_slot_find f = {start_local_s, out, false};

	if (large)
		wh_slot_each_large(cfg, now_local_s, at_station_s, view, install,
				   wh_slot_find_visit, &f);
	else
		wh_slot_each_precise(cfg, st, now_local_s, at_station_s, view, wh_slot_find_visit,
				     &f);
	if (!f.found)
		return wh_err_set(err, WH_E_SLOT_INVALID,
				  "the chosen window is not offered for this order");
	if (out->remaining == 0)
		return wh_err_set(err, WH_E_SLOT_FULL, "the chosen window is full");
	return WH_OK;
}
