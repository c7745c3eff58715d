/* The Redis client. It owns one redisAsyncContext at a time, the timers
 * around it, and the command records that carry deadlines. A command whose
 * deadline passes fails at once and the link is dropped: hiredis cannot
 * cancel one reply, and every later reply would be out of step.
 *
 * hiredis frees its context itself after a failed connect or a disconnect,
 * so this file never touches ac after those callbacks, and reconnects from
 * a timer, never from inside a hiredis callback. */
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/base/backoff.h"
#include "daemon/base/log.h"
#include "daemon/io/rds.h"

enum dm_rds_state {
	DM_RDS_DOWN,       /* waiting for the reconnect timer */
	DM_RDS_CONNECTING, /* TCP connect or AUTH/SELECT/PING handshake in progress */
	DM_RDS_UP,
};

struct dm_rds {
	struct event_base *base;
	char host[CFG_STR_MAX];
	int port;
	char password[CFG_STR_MAX];
	int db;
	int connect_timeout_ms;
	int command_timeout_ms;
	int health_interval_ms;
	int reconnect_min_ms;
	int reconnect_max_ms;
	enum dm_rds_state state;
	redisAsyncContext *ac;
	struct event *timer;  /* connect deadline or reconnect delay */
	struct event *health; /* PING interval */
	struct dm_backoff backoff;
	bool was_up;
	bool warned;  /* the reason of the current outage has been logged */
	bool closing; /* dm_rds_free runs: refuse new commands from callbacks */
	struct dm_rds_stats stats;
};

struct dm_rds_cmd {
	struct dm_rds *rds;
	struct event *deadline;
	dm_rds_done_fn *done; /* NULL once completed (or for internal commands) */
	void *arg;
	bool internal;        /* handshake or health PING */
};

static void dm_rds_connect(struct dm_rds *rds);

static void
dm_rds_set_state(struct dm_rds *rds, enum dm_rds_state state)
{
	rds->state = state;
	bool up = state == DM_RDS_UP;
	if (up != rds->was_up) {
		if (up) {
			dm_log_info("redis", "redis is up at %s:%d", rds->host, rds->port);
			rds->warned = false;
		} else {
			dm_log_warning("redis", "redis is down");
		}
		rds->was_up = up;
	}
}

/* Forget the context and retry after a doubling delay. */
static void
dm_rds_schedule_reconnect(struct dm_rds *rds, const char *why)
{
	if (rds->state == DM_RDS_UP) {
		dm_log_warning("redis", "link lost: %s", why);
	} else if (!rds->warned) {
		/* Say once why Redis cannot be reached; the retries stay quiet. */
		dm_log_warning("redis", "cannot connect (retrying with backoff): %s", why);
		rds->warned = true;
	} else {
		dm_log_debug("redis", "connect failed: %s", why);
	}
	rds->ac = NULL;
	dm_rds_set_state(rds, DM_RDS_DOWN);
	struct timeval tv = dm_backoff_tv(
		dm_backoff_next_ms(&rds->backoff, rds->reconnect_min_ms, rds->reconnect_max_ms));
	evtimer_del(rds->timer);
	evtimer_add(rds->timer, &tv);
}

/* Drop the link now (from a timer, never from inside a hiredis callback
 * without hiredis deferring it). Pending commands complete with NULL. */
static void
dm_rds_drop(struct dm_rds *rds, const char *why)
{
	redisAsyncContext *ac = rds->ac;
	if (ac == NULL)
		return;
	dm_rds_schedule_reconnect(rds, why);
	/* hiredis may still call our connect or disconnect callback for ac;
	 * data NULL tells them this drop is already accounted for. */
	ac->data = NULL;
	redisAsyncFree(ac);
}

static void
dm_rds_cmd_free(struct dm_rds_cmd *cmd)
{
	if (cmd->deadline != NULL)
		event_free(cmd->deadline);
	free(cmd);
}

static void
dm_rds_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_rds_cmd *cmd = arg;
	struct dm_rds *rds = cmd->rds;
	(void)fd;
	(void)what;
	if (cmd->done != NULL) {
		dm_rds_done_fn *done = cmd->done;
		cmd->done = NULL;
		rds->stats.command_errors_total++;
		done(NULL, "redis command timed out", cmd->arg);
	}
	/* The reply callback still owns cmd: it runs (with NULL) when the
	 * context is freed below, and frees cmd there. */
	dm_rds_drop(rds, cmd->internal ? "health check timed out" : "command timed out");
}

static void
dm_rds_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
	struct dm_rds_cmd *cmd = privdata;
	struct dm_rds *rds = cmd->rds;
	redisReply *reply = r;
	(void)ac;
	if (cmd->done != NULL) {
		dm_rds_done_fn *done = cmd->done;
		cmd->done = NULL;
		rds->stats.commands_total++;
		if (reply == NULL)
			rds->stats.command_errors_total++;
		done(reply, reply == NULL ? "redis link lost" : "", cmd->arg);
	}
	dm_rds_cmd_free(cmd);
}

static int
dm_rds_send(struct dm_rds *rds, int argc, const char **argv, const size_t *argvlen,
	    dm_rds_done_fn *done, void *arg, bool internal)
{
	struct dm_rds_cmd *cmd = calloc(1, sizeof *cmd);
	if (cmd == NULL)
		return -1;
	cmd->rds = rds;
	cmd->done = done;
	cmd->arg = arg;
	cmd->internal = internal;
	cmd->deadline = evtimer_new(rds->base, dm_rds_deadline_cb, cmd);
	if (cmd->deadline == NULL ||
	    redisAsyncCommandArgv(rds->ac, dm_rds_reply_cb, cmd, argc, argv, argvlen) != REDIS_OK) {
		dm_rds_cmd_free(cmd);
		return -1;
	}
	struct timeval tv = dm_backoff_tv(internal && rds->state == DM_RDS_CONNECTING
					      ? rds->connect_timeout_ms
					      : rds->command_timeout_ms);
	evtimer_add(cmd->deadline, &tv);
	return 0;
}

int
dm_rds_command(struct dm_rds *rds, int argc, const char **argv, const size_t *argvlen,
	       dm_rds_done_fn *done, void *arg)
{
	if (rds == NULL || rds->closing || rds->state != DM_RDS_UP || rds->ac == NULL)
		return -1;
	return dm_rds_send(rds, argc, argv, argvlen, done, arg, false);
}

/* The handshake's last reply (PING) decides whether the link is usable. */
static void
dm_rds_handshake_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_rds *rds = arg;
	if (reply == NULL) {
		dm_log_debug("redis", "handshake failed: %s", error);
		return; /* the drop that caused this already scheduled a reconnect */
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		dm_log_error("redis", "handshake refused: %.*s", (int)reply->len, reply->str);
		dm_rds_drop(rds, "handshake refused");
		return;
	}
	dm_backoff_reset(&rds->backoff);
	evtimer_del(rds->timer);
	dm_rds_set_state(rds, DM_RDS_UP);
}

static void
dm_rds_auth_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_rds *rds = arg;
	(void)error;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR) {
		dm_log_error("redis", "AUTH/SELECT refused: %.*s", (int)reply->len, reply->str);
		dm_rds_drop(rds, "AUTH/SELECT refused");
	}
}

static void
dm_rds_connect_cb(const redisAsyncContext *ac, int status)
{
	struct dm_rds *rds = ac->data;
	if (rds == NULL)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees ac after this callback. */
		dm_rds_schedule_reconnect(rds, ac->errstr);
		return;
	}
	char dbtext[16];
	snprintf(dbtext, sizeof dbtext, "%d", rds->db);
	const char *auth[] = {"AUTH", rds->password};
	const char *select[] = {"SELECT", dbtext};
	const char *ping[] = {"PING"};
	if ((rds->password[0] != '\0' &&
	     dm_rds_send(rds, 2, auth, NULL, dm_rds_auth_cb, rds, true) != 0) ||
	    (rds->db != 0 && dm_rds_send(rds, 2, select, NULL, dm_rds_auth_cb, rds, true) != 0) ||
	    dm_rds_send(rds, 1, ping, NULL, dm_rds_handshake_cb, rds, true) != 0)
		dm_log_error("redis", "cannot queue the handshake");
}

static void
dm_rds_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct dm_rds *rds = ac->data;
	(void)status;
	if (rds == NULL || rds->ac != ac)
		return; /* a drop we initiated, already accounted for */
	dm_rds_schedule_reconnect(rds, ac->errstr[0] ? ac->errstr : "server closed the link");
}

static void
dm_rds_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_rds *rds = arg;
	(void)fd;
	(void)what;
	if (rds->state == DM_RDS_DOWN)
		dm_rds_connect(rds);
	else if (rds->state == DM_RDS_CONNECTING)
		dm_rds_drop(rds, "connect timed out");
}

static void
dm_rds_connect(struct dm_rds *rds)
{
	rds->stats.reconnects_total++;
	redisAsyncContext *ac = redisAsyncConnect(rds->host, rds->port);
	if (ac == NULL) {
		dm_rds_schedule_reconnect(rds, "out of memory");
		return;
	}
	if (ac->err) {
		char why[128];
		snprintf(why, sizeof why, "%s", ac->errstr);
		redisAsyncFree(ac);
		dm_rds_schedule_reconnect(rds, why);
		return;
	}
	ac->data = rds;
	if (redisLibeventAttach(ac, rds->base) != REDIS_OK) {
		redisAsyncFree(ac);
		dm_rds_schedule_reconnect(rds, "cannot attach to the event loop");
		return;
	}
	redisAsyncSetConnectCallback(ac, dm_rds_connect_cb);
	redisAsyncSetDisconnectCallback(ac, dm_rds_disconnect_cb);
	rds->ac = ac;
	rds->state = DM_RDS_CONNECTING;
	struct timeval tv = dm_backoff_tv(rds->connect_timeout_ms);
	evtimer_add(rds->timer, &tv);
}

static void
dm_rds_health_reply_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_rds *rds = arg;
	if (reply == NULL)
		dm_log_debug("redis", "health PING failed: %s", error);
	else if (reply->type == REDIS_REPLY_ERROR)
		dm_log_warning("redis", "health PING answered: %.*s", (int)reply->len, reply->str);
	(void)rds;
}

static void
dm_rds_health_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_rds *rds = arg;
	(void)fd;
	(void)what;
	if (rds->state == DM_RDS_UP && rds->ac != NULL) {
		const char *ping[] = {"PING"};
		if (dm_rds_send(rds, 1, ping, NULL, dm_rds_health_reply_cb, rds, true) != 0)
			dm_log_warning("redis", "cannot queue the health PING");
	}
	struct timeval tv = dm_backoff_tv(rds->health_interval_ms);
	evtimer_add(rds->health, &tv);
}

void
dm_rds_configure(struct dm_rds *rds, const struct cfg *cfg)
{
	rds->connect_timeout_ms = cfg->redis_connect_timeout_ms;
	rds->command_timeout_ms = cfg->redis_command_timeout_ms;
	rds->health_interval_ms = cfg->redis_health_interval_ms;
	rds->reconnect_min_ms = cfg->redis_reconnect_min_ms;
	rds->reconnect_max_ms = cfg->redis_reconnect_max_ms;
}

struct dm_rds *
dm_rds_new(struct event_base *base, const struct cfg *cfg)
{
	struct dm_rds *rds = calloc(1, sizeof *rds);
	if (rds == NULL)
		return NULL;
	rds->base = base;
	snprintf(rds->host, sizeof rds->host, "%s", cfg->redis_host);
	snprintf(rds->password, sizeof rds->password, "%s", cfg->redis_password);
	rds->port = cfg->redis_port;
	rds->db = cfg->redis_db;
	dm_rds_configure(rds, cfg);
	rds->timer = evtimer_new(base, dm_rds_timer_cb, rds);
	rds->health = evtimer_new(base, dm_rds_health_cb, rds);
	if (rds->timer == NULL || rds->health == NULL) {
		dm_rds_free(rds);
		return NULL;
	}
	dm_rds_connect(rds);
	struct timeval tv = dm_backoff_tv(rds->health_interval_ms);
	evtimer_add(rds->health, &tv);
	return rds;
}

bool
dm_rds_up(const struct dm_rds *rds)
{
	return rds->state == DM_RDS_UP;
}

void
dm_rds_stats_get(const struct dm_rds *rds, struct dm_rds_stats *out)
{
	*out = rds->stats;
}

void
dm_rds_free(struct dm_rds *rds)
{
	if (rds == NULL)
		return;
	rds->closing = true;
	if (rds->ac != NULL) {
		redisAsyncContext *ac = rds->ac;
		rds->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	if (rds->timer != NULL)
		event_free(rds->timer);
	if (rds->health != NULL)
		event_free(rds->health);
	free(rds);
}
