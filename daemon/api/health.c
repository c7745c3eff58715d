/* Health resources: /healthz (the process answers), /readyz (PostgreSQL and
 * Redis state, 503 while one is down or while draining) and /metrics
 * (Prometheus text). They read state; they never wait on a backend. */
#include <event2/buffer.h>
#include <stdlib.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/reload.h"
#include "daemon/svc/areas.h"
#include "daemon/svc/rate_limit.h"
#include "daemon/svc/tokens.h"
#include "daemon/svc/station_feed.h"
#include "daemon/svc/webhook_sender.h"
#include "daemon/io/http.h"
#include "daemon/base/metrics.h"
#include "daemon/io/pg.h"
#include "daemon/io/rds.h"
#include "daemon/api/tables.h"

static void
dm_api_health_healthz(struct dm_req *r)
{
	dm_req_reply_json(r, 200, json_pack("{s:s,s:s}", "status", "ok", "version", DISPATCH_VERSION));
}

static void
dm_api_health_readyz(struct dm_req *r)
{
	struct dm_daemon *d = r->d;
	struct dm_pg_stats ps;
	dm_pg_stats_get(d->pg, &ps);
	bool pg_up = dm_pg_up(d->pg);
	bool rds_up = dm_rds_up(d->rds);
	/* Without the token table no request but health can be authorised. */
	struct dm_tokens_stats ts;
	dm_tokens_stats_get(d->tokens, &ts);
	bool ready = pg_up && rds_up && ts.loaded && d->cfg->token_key_set && !d->draining;
	struct dm_areas_snap *geo = dm_areas_current(d);
	size_t stations = dm_areas_station_count(geo);
	dm_areas_unref(geo);
	/* Areas are reported, not required: a fresh install serves health and
	 * admin before any area is imported. */
	json_t *body = json_pack(
		"{s:s,s:b,s:{s:{s:b,s:i,s:i},s:{s:b},s:{s:b,s:i},s:{s:b,s:i}}}", "status",
		ready ? "ready" : "not ready", "draining", d->draining, "checks", "postgres", "up",
		pg_up, "connections_up", ps.connections_up, "connections_total",
		ps.connections_total, "redis", "up", rds_up, "areas", "loaded", stations > 0,
		"stations", (int)stations, "tokens", "loaded", ts.loaded, "live", (int)ts.live);
	dm_req_reply_json(r, ready ? 200 : 503, body);
}

static void
dm_api_health_metrics(struct dm_req *r)
{
	struct dm_daemon *d = r->d;
	struct dm_pg_stats ps;
	struct dm_rds_stats rs;
	struct evbuffer *out = evbuffer_new();
	if (out == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_pg_stats_get(d->pg, &ps);
	dm_rds_stats_get(d->rds, &rs);
	dm_metrics_render(d->metrics, out);
	evbuffer_add_printf(
		out,
		"# HELP dispatchd_dependency_up Whether a backend is reachable (1) or not (0).\n"
		"# TYPE dispatchd_dependency_up gauge\n"
		"dispatchd_dependency_up{dependency=\"postgres\"} %d\n"
		"dispatchd_dependency_up{dependency=\"redis\"} %d\n"
		"# HELP dispatchd_pg_connections Open PostgreSQL connections.\n"
		"# TYPE dispatchd_pg_connections gauge\n"
		"dispatchd_pg_connections %d\n"
		"# HELP dispatchd_pg_queue_depth Queries waiting for a connection.\n"
		"# TYPE dispatchd_pg_queue_depth gauge\n"
		"dispatchd_pg_queue_depth %d\n"
		"# TYPE dispatchd_pg_queries_total counter\n"
		"dispatchd_pg_queries_total %ld\n"
		"# TYPE dispatchd_pg_query_errors_total counter\n"
		"dispatchd_pg_query_errors_total %ld\n"
		"# TYPE dispatchd_pg_connect_attempts_total counter\n"
		"dispatchd_pg_connect_attempts_total %ld\n"
		"# TYPE dispatchd_redis_commands_total counter\n"
		"dispatchd_redis_commands_total %ld\n"
		"# TYPE dispatchd_redis_command_errors_total counter\n"
		"dispatchd_redis_command_errors_total %ld\n"
		"# TYPE dispatchd_redis_connect_attempts_total counter\n"
		"dispatchd_redis_connect_attempts_total %ld\n"
		"# HELP dispatchd_http_inflight_requests Requests not yet answered.\n"
		"# TYPE dispatchd_http_inflight_requests gauge\n"
		"dispatchd_http_inflight_requests %d\n"
		"# HELP dispatchd_rate_limited_total Requests refused 429 by the rate limits.\n"
		"# TYPE dispatchd_rate_limited_total counter\n"
		"dispatchd_rate_limited_total %llu\n"
		"# TYPE dispatchd_config_reloads_total counter\n"
		"dispatchd_config_reloads_total{result=\"ok\"} %lu\n"
		"dispatchd_config_reloads_total{result=\"failed\"} %lu\n"
		"# TYPE dispatchd_uptime_seconds gauge\n"
		"dispatchd_uptime_seconds %.3f\n"
		"# TYPE dispatchd_build_info gauge\n"
		"dispatchd_build_info{version=\"%s\"} 1\n",
		dm_pg_up(d->pg), dm_rds_up(d->rds), ps.connections_up, ps.queued, ps.queries_total,
		ps.query_errors_total, ps.reconnects_total, rs.commands_total,
		rs.command_errors_total, rs.reconnects_total, d->inflight - 1,
		(unsigned long long)dm_rate_limit_refused_total(d->rate_limit),
		(unsigned long)d->reloads_total, (unsigned long)d->reload_failures_total,
		dm_clock_mono_s() - d->started_s, DISPATCH_VERSION);
	dm_tokens_metrics_render(d->tokens, out);
	dm_station_feed_metrics_render(d->feed, out);
	dm_webhook_sender_metrics_render(d->hooks, out);
	size_t len = evbuffer_get_length(out);
	const char *text = (const char *)evbuffer_pullup(out, -1);
	dm_req_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text ? text : "", len);
	evbuffer_free(out);
}

static const struct dm_route dm_api_health_routes[] = {
	{.methods = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	 .pattern = "/healthz",
	 .handler = dm_api_health_healthz,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .flags = DM_ROUTE_UNLIMITED | DM_ROUTE_OPERATOR,
	 .roles = DM_ROLES_PUBLIC},
	{.methods = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	 .pattern = "/readyz",
	 .handler = dm_api_health_readyz,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .flags = DM_ROUTE_UNLIMITED | DM_ROUTE_OPERATOR,
	 .roles = DM_ROLES_PUBLIC},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/metrics",
	 .handler = dm_api_health_metrics,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .flags = DM_ROUTE_UNLIMITED | DM_ROUTE_OPERATOR,
	 .roles = DM_ROLE(ADMIN)},
};

const struct dm_route_table dm_api_health_table = {
	dm_api_health_routes, sizeof dm_api_health_routes / sizeof dm_api_health_routes[0]};
