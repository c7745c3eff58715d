/* The daemon's process-wide state, shared by main.c, the HTTP layer and the
 * handlers. One instance, owned by main(), living on the loop thread. */
#ifndef DM_DAEMON_H
#define DM_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct evhttp;
struct event;
struct evhttp_bound_socket;
struct dm_route_table;
struct dm_req;
struct dm_rate_limit;
struct dm_wave_scheduler;
struct dm_service_scheduler;
struct dm_pickup_expiry;
struct dm_pickup_cache;

#define DM_DAEMON_MAX_LISTENERS 8

struct dm_daemon {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *listeners[DM_DAEMON_MAX_LISTENERS];
	struct evhttp *admin_http;            /* the operators' listener, or NULL */
	struct evhttp_bound_socket *admin_listener;
	int nlisteners;
	const struct dm_route_table *const *route_tables; /* the API (static, from api/tables.c) */
	size_t nroute_tables;
	bool (*admit)(struct dm_req *r); /* dm_admit_fn: run before every handler (api/admission.c) */
	struct dm_rate_limit *rate_limit; /* svc/rate_limit.c */
	const char *config_path;
	struct dm_cfg_snap *cfg;   /* current settings (one reference held) */
	struct dm_pg *pg;
	struct dm_rds *rds;
	struct dm_metrics *metrics;
	struct dm_work *work;             /* worker pool for CPU-heavy jobs */
	struct dm_areas_loader *geo_loader; /* svc/areas.c state: the current areas snapshot */
	struct dm_counters *slots;     /* svc/counters.c state: capacity counters in Redis */
	struct dm_stock_hints *hints;  /* svc/stock_hints.c: intake's read cache */
	struct dm_order_committer *committer; /* svc/order_committer.c: the group commit */
	struct dm_courier_pings *pings; /* svc/courier_pings.c: live positions and their flush */
	struct dm_tokens *tokens;      /* svc/tokens.c: the API token cache */
	struct dm_station_feed *feed;  /* svc/station_feed.c: long polls' wake-ups */

	struct dm_webhook_sender *hooks; /* svc/webhook_sender.c: the outbox sender */

	struct dm_wave_scheduler *scheduler; /* svc/wave_scheduler.c: automatic wave planning */
	/* svc/service_scheduler.c: automatic engineers' day plans (issue 12) */
	struct dm_service_scheduler *service_scheduler;
	/* svc/pickup_expiry.c: parcels past their hold deadline sent back (issue 13) */
	struct dm_pickup_expiry *pickup_expiry;
	/* svc/pickup_cache.c: open pickup points and their places, for the promise */
	struct dm_pickup_cache *pickup_cache;
	struct event *sig_hup, *sig_term, *sig_int;
	struct event *watchdog;    /* WATCHDOG=1 timer */
	struct event *status;      /* STATUS= refresher */
	struct event *drain;       /* drain progress timer */
	double drain_deadline_s;
	double drain_writes_until_s; /* once idle, how long answers may take to go out */
	bool draining;
	int inflight;              /* requests not yet answered */
	int writing;               /* answers not yet fully written to their sockets */
	int listen_port;           /* the bound port (useful when configured as 0) */
	uint64_t request_seq;
	uint64_t reloads_total;
	uint64_t reload_failures_total;
	double started_s;
};

#endif
