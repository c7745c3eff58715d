/* Conversion of the [promise] keys into the core's promise settings. The
 * parser has checked each key alone; wh_promise_config_check checks them
 * together (cut-offs in order, slots inside the day, windows sorted). */
#include <stdio.h>
#include <string.h>

#include "daemon/base/clock.h"
#include "daemon/base/promise_cfg.h"

static void
dm_promise_cfg_windows(const struct cfg_windows *in, struct wh_wave *out, size_t *n)
{
	*n = (size_t)in->n;
	for (int i = 0; i < in->n; i++) {
		out[i].start_s = in->w[i].start_s;
		out[i].end_s = in->w[i].end_s;
		out[i].weekdays = (uint8_t)in->w[i].weekdays;
		out[i].couriers = (uint16_t)in->w[i].count;
	}
}

int
dm_promise_cfg_build(const struct cfg *cfg, struct wh_promise_config *out, struct cfg_err *err)
{
	struct wh_err werr;
	wh_promise_config_defaults(out);
	if (strlen(cfg->promise_timezone) >= sizeof out->tz) {
		snprintf(err->msg, sizeof err->msg, "[promise] timezone: too long");
		return -1;
	}
	if (!dm_clock_zone_valid(cfg->promise_timezone)) {
		snprintf(err->msg, sizeof err->msg, "[promise] timezone: unknown zone '%.64s'",
			 cfg->promise_timezone);
		return -1;
	}
	memcpy(out->tz, cfg->promise_timezone, strlen(cfg->promise_timezone) + 1);
	out->same_day_cutoff_s = cfg->promise_same_day_cutoff_s;
	out->same_day_deadline_s = cfg->promise_same_day_deadline_s;
	out->next_day_cutoff_s = cfg->promise_next_day_cutoff_s;
	out->next_day_deadline_s = cfg->promise_next_day_deadline_s;
	out->station_sort_s = cfg->promise_station_sort_min * 60;
	dm_promise_cfg_windows(&cfg->promise_waves, out->waves, &out->n_waves);
	out->stops_per_courier_wave = (uint16_t)cfg->promise_stops_per_courier_wave;
	out->stops_per_courier_slot = (uint16_t)cfg->promise_stops_per_courier_slot;
	out->slot_len_s = cfg->promise_slot_min * 60;
	out->slot_first_s = cfg->promise_slot_first_s;
	out->slot_last_end_s = cfg->promise_slot_last_end_s;
	out->slot_days_ahead = cfg->promise_slot_days_ahead;
	dm_promise_cfg_windows(&cfg->promise_large_windows, out->large_windows,
			       &out->n_large_windows);
	out->large_stops_per_crew = (uint16_t)cfg->promise_large_stops_per_crew;
	out->installs_per_crew = (uint16_t)cfg->promise_installs_per_crew;
	out->large_prep_s = cfg->promise_large_prep_min * 60;
	out->large_days_ahead = cfg->promise_large_days_ahead;
	if (wh_promise_config_check(out, &werr) != WH_OK) {
		err->line = 0;
		snprintf(err->msg, sizeof err->msg, "[promise]: %.200s", werr.msg);
		return -1;
	}
	return 0;
}
