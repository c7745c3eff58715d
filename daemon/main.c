/* dispatchd: startup order, the event loop, reload and shutdown. It owns
 * struct dm_daemon and every long-lived object in it; what each does lives
 * in its own file (http.c, pg.c, rds.c, sd.c, reload.c, log.c).
 *
 * Startup: config (fatal if bad) -> loop -> listeners bound -> backends
 * started in the background -> READY=1. The daemon never waits for the
 * database to become ready; /readyz and STATUS= report it. */
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/api/admission.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/io/http.h"
#include "daemon/base/log.h"
#include "daemon/base/metrics.h"
#include "daemon/io/pg.h"
#include "daemon/io/rds.h"
#include "daemon/base/reload.h"
#include "daemon/base/sd.h"
#include "daemon/svc/counters.h"
#include "daemon/svc/courier_pings.h"
#include "daemon/svc/rate_limit.h"
#include "daemon/svc/station_feed.h"
#include "daemon/svc/order_committer.h"
#include "daemon/svc/stock_hints.h"
#include "daemon/svc/tokens.h"
#include "daemon/svc/webhook_sender.h"
#include "daemon/svc/service_scheduler.h"
#include "daemon/svc/pickup_expiry.h"
#include "daemon/svc/pickup_cache.h"
#include "daemon/svc/wave_scheduler.h"
#include "daemon/base/work.h"

static void
dm_main_usage(FILE *out)
{
	fprintf(out, "usage: dispatchd -c FILE [--check-config]\n"
		     "       dispatchd --version\n"
		     "  -c, --config FILE   configuration file (INI; see docs/operations.md)\n"
		     "  --check-config      validate the configuration and exit 0 (valid) or 1\n"
		     "  --version           print the version and exit\n");
}

static void
dm_main_status_text(struct dm_daemon *d, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s; postgres %s; redis %s", d->draining ? "draining" : "serving",
		 dm_pg_up(d->pg) ? "up" : "down", dm_rds_up(d->rds) ? "up" : "down");
}

static void
dm_main_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_daemon *d = arg;
	static char last[128];
	char now[128];
	(void)fd;
	(void)what;
	dm_main_status_text(d, now, sizeof now);
	if (strcmp(now, last) != 0) {
		dm_sd_status(now);
		memcpy(last, now, sizeof last);
	}
}

static void
dm_main_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	dm_sd_watchdog_ping();
}

/* The region's zone and the time source of the current config. */
static void
dm_main_apply_clock(struct dm_daemon *d)
{
	const struct cfg *cfg = d->cfg->cfg;
	dm_clock_set_zone(d->cfg->promise.tz); /* validated by the load */
	switch (cfg->testing_clock) {
	case CFG_CLOCK_FIXED: {
		char at[32] = "?";
		struct tm tm;
		time_t t = (time_t)cfg->testing_clock_at_s;
		if (gmtime_r(&t, &tm) != NULL)
			strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
		dm_clock_set_source(DM_CLOCK_FIXED, cfg->testing_clock_at_s, 0);
		dm_log_warning("clock", "test clock: fixed at %s; tests only", at);
		break;
	}
	case CFG_CLOCK_DRIVEN: {
		char at[32] = "?";
		struct tm tm;
		time_t t = (time_t)cfg->testing_clock_at_s;
		if (gmtime_r(&t, &tm) != NULL)
			strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
		dm_clock_set_source(DM_CLOCK_DRIVEN, cfg->testing_clock_at_s, 0);
		dm_log_warning("clock", "test clock: driven from %s by PUT /v1/admin/clock; tests only",
			       at);
		break;
	}
	case CFG_CLOCK_OFFSET:
		dm_clock_set_source(DM_CLOCK_OFFSET, 0, cfg->testing_clock_offset_s);
		dm_log_warning("clock", "test clock: real time %+ld s; tests only",
			       cfg->testing_clock_offset_s);
		break;
	default:
		dm_clock_set_source(DM_CLOCK_SYSTEM, 0, 0);
		break;
	}
}

static void
dm_main_reload(struct dm_daemon *d)
{
	struct cfg_err err;
	char status[200];
	dm_sd_reloading();
	dm_log_info("cfg", "reloading %s", d->config_path);
	struct dm_cfg_snap *next = dm_reload_load(d->config_path, &err);
	if (next == NULL) {
		d->reload_failures_total++;
		if (err.line > 0)
			dm_log_error("cfg", "reload failed, keeping the running config: %s line %d: %s",
				     d->config_path, err.line, err.msg);
		else
			dm_log_error("cfg", "reload failed, keeping the running config: %s: %s",
				     d->config_path, err.msg);
		dm_main_status_text(d, status, sizeof status);
		dm_sd_ready(status);
		return;
	}
	dm_reload_keep_fixed(d->cfg->cfg, next->cfg);
	dm_cfg_snap_unref(d->cfg);
	d->cfg = next;
	dm_log_set_level(d->cfg->cfg->log_level);
	dm_main_apply_clock(d);
	dm_http_configure(d);
	dm_pg_configure(d->pg, d->cfg->cfg);
	dm_rds_configure(d->rds, d->cfg->cfg);
	d->reloads_total++;
	dm_log_info("cfg", "reloaded %s", d->config_path);
	dm_areas_reload(d);
	dm_main_status_text(d, status, sizeof status);
	dm_sd_ready(status);
}

static void
dm_main_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_daemon *d = arg;
	(void)fd;
	(void)what;
	double now = dm_clock_mono_s();
	/* Buffered courier pings go to PostgreSQL now, not at the next tick. */
	bool flushing = dm_courier_pings_drain(d->pings);
	/* Once idle, answers still being written get a second at most: a
	 * client that vanished mid-write never completes its reply. */
	if (d->inflight == 0 && d->drain_writes_until_s == 0)
		d->drain_writes_until_s = now + 1.0;
	if (d->inflight == 0 && !flushing &&
	    (d->writing <= 0 || now >= d->drain_writes_until_s)) {
		dm_log_info("main", "drained; exiting");
		event_base_loopexit(d->base, NULL);
	} else if (now >= d->drain_deadline_s) {
		dm_log_warning("main", "drain deadline passed with %d request(s) in flight; exiting",
			       d->inflight);
		event_base_loopexit(d->base, NULL);
	}
}

static void
dm_main_stop(struct dm_daemon *d, const char *signame)
{
	if (d->draining)
		return;
	dm_log_info("main", "%s: stopping; draining %d in-flight request(s)", signame, d->inflight);
	dm_sd_stopping();
	d->draining = true;
	dm_http_stop_accepting(d);
	dm_station_feed_drain(d->feed); /* long polls answer now, not at their wait's end */
	d->drain_deadline_s = dm_clock_mono_s() + d->cfg->cfg->drain_timeout_ms / 1000.0;
	d->drain = event_new(d->base, -1, EV_PERSIST, dm_main_drain_cb, d);
	struct timeval tv = {0, 20000};
	if (d->drain == NULL || event_add(d->drain, &tv) != 0)
		event_base_loopexit(d->base, NULL);
	else
		dm_main_drain_cb(-1, 0, d);
}

static void
dm_main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct dm_daemon *d = arg;
	(void)what;
	if (sig == SIGHUP)
		dm_main_reload(d);
	else
		dm_main_stop(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int
dm_main_add_timer(struct dm_daemon *d, struct event **ev, event_callback_fn cb, long usec)
{
	struct timeval tv = {usec / 1000000, usec % 1000000};
	*ev = event_new(d->base, -1, EV_PERSIST, cb, d);
	return *ev != NULL && event_add(*ev, &tv) == 0 ? 0 : -1;
}

static int
dm_main_setup(struct dm_daemon *d)
{
	d->base = event_base_new();
	d->metrics = dm_metrics_new();
	if (d->base == NULL || d->metrics == NULL) {
		dm_log_error("main", "cannot create the event loop");
		return -1;
	}
	d->sig_hup = evsignal_new(d->base, SIGHUP, dm_main_signal_cb, d);
	d->sig_term = evsignal_new(d->base, SIGTERM, dm_main_signal_cb, d);
	d->sig_int = evsignal_new(d->base, SIGINT, dm_main_signal_cb, d);
	if (d->sig_hup == NULL || d->sig_term == NULL || d->sig_int == NULL ||
	    evsignal_add(d->sig_hup, NULL) != 0 || evsignal_add(d->sig_term, NULL) != 0 ||
	    evsignal_add(d->sig_int, NULL) != 0) {
		dm_log_error("main", "cannot install signal handlers");
		return -1;
	}
	d->work = dm_work_new(d->base, d->cfg->cfg->worker_threads);
	if (d->work == NULL) {
		dm_log_error("main", "cannot start the worker threads");
		return -1;
	}
	if (dm_http_start(d) != 0)
		return -1;
	d->pg = dm_pg_new(d->base, d->cfg->cfg);
	d->rds = dm_rds_new(d->base, d->cfg->cfg);
	d->rate_limit = dm_rate_limit_new(d);
	if (d->pg == NULL || d->rds == NULL || d->rate_limit == NULL) {
		dm_log_error("main", "out of memory starting the backends");
		return -1;
	}
	d->admit = dm_admission_check;
	d->hints = dm_stock_hints_new(d);
	d->committer = dm_order_committer_new(d);
	d->pings = dm_courier_pings_new(d);
	if (d->hints == NULL || d->committer == NULL || d->pings == NULL) {
		dm_log_error("main", "out of memory starting the order services");
		return -1;
	}
	d->tokens = dm_tokens_new(d); /* read in the background, then every 2 s */
	if (d->tokens == NULL) {
		dm_log_error("main", "cannot start the token cache");
		return -1;
	}
	d->feed = dm_station_feed_new(d); /* its LISTEN connects in the background */
	if (d->feed == NULL) {
		dm_log_error("main", "cannot start the station feed");
		return -1;
	}
	d->hooks = dm_webhook_sender_new(d); /* claims due deliveries every poll interval */
	if (d->hooks == NULL) {
		dm_log_error("main", "cannot start the webhook sender");
		return -1;
	}
	d->scheduler = dm_wave_scheduler_new(d); /* plans waves at their cut-off */
	if (d->scheduler == NULL) {
		dm_log_error("main", "cannot start the wave scheduler");
		return -1;
	}
	d->service_scheduler = dm_service_scheduler_new(d); /* plans tomorrow at plan_at */
	if (d->service_scheduler == NULL) {
		dm_log_error("main", "cannot start the service scheduler");
		return -1;
	}
	d->pickup_expiry = dm_pickup_expiry_new(d); /* parcels past their hold deadline */
	if (d->pickup_expiry == NULL) {
		dm_log_error("main", "cannot start the pickup expiry");
		return -1;
	}
	d->pickup_cache = dm_pickup_cache_new(d); /* pickup points for the promise */
	if (d->pickup_cache == NULL) {
		dm_log_error("main", "cannot start the pickup points cache");
		return -1;
	}
	dm_areas_reload(d); /* in the background: retried until PostgreSQL answers */
	if (dm_counters_start(d) != 0) {
		dm_log_error("main", "cannot start the capacity counters");
		return -1;
	}
	uint64_t wd_usec = dm_sd_watchdog_usec();
	if (wd_usec > 0) {
		if (dm_main_add_timer(d, &d->watchdog, dm_main_watchdog_cb, (long)(wd_usec / 2)) != 0)
			return -1;
		dm_log_info("sd", "watchdog every %lu ms", (unsigned long)(wd_usec / 2000));
	}
	return dm_main_add_timer(d, &d->status, dm_main_status_cb, 1000000);
}

static void
dm_main_teardown(struct dm_daemon *d)
{
	/* Backends first: their pending callbacks answer the requests still in
	 * flight (503) while the HTTP connections exist; then close those. */
	dm_counters_stop(d);
	dm_areas_shutdown(d);
	dm_pg_free(d->pg);
	d->pg = NULL;
	dm_tokens_free(d->tokens); /* after the pool: its failing callbacks reach the cache */
	d->tokens = NULL;
	dm_station_feed_free(d->feed); /* after the pool: its check may be in flight */
	d->feed = NULL;
	dm_webhook_sender_free(d->hooks); /* after the pool, as the token cache */
	d->hooks = NULL;
	/* After the pool (its pending queries have called back by now) and
	 * before Redis: the orders they fail give their gated counts back. */
	dm_order_committer_free(d->committer);
	d->committer = NULL;
	dm_courier_pings_free(d->pings); /* after the pool: its flush has called back */
	d->pings = NULL;
	dm_stock_hints_free(d->hints);
	d->hints = NULL;
	dm_rds_free(d->rds);
	d->rds = NULL;
	dm_rate_limit_free(d->rate_limit); /* after Redis: its pending syncs complete into it */
	d->rate_limit = NULL;
	dm_work_free(d->work);
	/* After the pools: their failing callbacks end its plans in flight. */
	dm_wave_scheduler_free(d->scheduler);
	d->scheduler = NULL;
	dm_service_scheduler_free(d->service_scheduler);
	d->service_scheduler = NULL;
	dm_pickup_expiry_free(d->pickup_expiry);
	d->pickup_expiry = NULL;
	dm_pickup_cache_free(d->pickup_cache);
	d->pickup_cache = NULL;
	if (d->http != NULL)
		evhttp_free(d->http);
	if (d->admin_http != NULL)
		evhttp_free(d->admin_http);
	struct event *evs[] = {d->sig_hup, d->sig_term, d->sig_int, d->watchdog, d->status, d->drain};
	for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
		if (evs[i] != NULL)
			event_free(evs[i]);
	dm_metrics_free(d->metrics);
	dm_cfg_snap_unref(d->cfg);
	if (d->base != NULL)
		event_base_free(d->base);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct dm_daemon d = {0};
	bool check_only = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': d.config_path = optarg; break;
		case 'C': check_only = true; break;
		case 'V': printf("dispatchd %s\n", DISPATCH_VERSION); return 0;
		case 'h': dm_main_usage(stdout); return 0;
		default: dm_main_usage(stderr); return 2;
		}
	}
	if (d.config_path == NULL || optind != argc) {
		dm_main_usage(stderr);
		return 2;
	}
	dm_log_init();
	struct cfg_err err;
	d.route_tables = dm_api_tables;
	d.nroute_tables = dm_api_ntables;
	d.cfg = dm_reload_load(d.config_path, &err);
	if (d.cfg == NULL) {
		if (err.line > 0)
			fprintf(stderr, "dispatchd: %s line %d: %s\n", d.config_path, err.line, err.msg);
		else
			fprintf(stderr, "dispatchd: %s: %s\n", d.config_path, err.msg);
		return 1;
	}
	if (check_only) {
		printf("dispatchd: %s is valid\n", d.config_path);
		dm_cfg_snap_unref(d.cfg);
		return 0;
	}
	dm_log_set_level(d.cfg->cfg->log_level);
	dm_main_apply_clock(&d);
	signal(SIGPIPE, SIG_IGN);
	d.started_s = dm_clock_mono_s();
	dm_log_info("main", "dispatchd %s starting with %s", DISPATCH_VERSION, d.config_path);
	if (dm_main_setup(&d) != 0) {
		dm_main_teardown(&d);
		return 1;
	}
	char status[128];
	dm_main_status_text(&d, status, sizeof status);
	dm_sd_ready(status);
	dm_log_info("main", "ready");
	event_base_dispatch(d.base);
	dm_main_teardown(&d);
	dm_log_info("main", "stopped");
	return 0;
}
