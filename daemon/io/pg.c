/* The PostgreSQL pool. It owns the PGconn objects, their socket events and
 * timers, and the queue of queries waiting for a connection. It does not
 * know what the queries mean: handlers build SQL and read results.
 *
 * Each connection is a small state machine driven by its socket:
 *   DOWN --timer--> CONNECTING --PQconnectPoll OK--> IDLE <--> BUSY
 * and any failure goes back to DOWN with a doubling delay (capped). Queries
 * carry their own deadline timer; one that expires in flight also drops its
 * connection, since the link's state is then unknown. The server enforces
 * statement_timeout too, which bounds a dropped query's execution (not its
 * wait in our queue: a query that timed out while queued may still run
 * afterwards; callers treat a timeout as "outcome unknown"). */
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "config/cfg.h"
#include "daemon/base/backoff.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"

#define DM_PG_QUEUE_MAX 20000

enum dm_pg_state {
	DM_PG_DOWN,
	DM_PG_CONNECTING,
	DM_PG_IDLE,
	DM_PG_BUSY,
};

struct dm_pg_query {
	TAILQ_ENTRY(dm_pg_query) link;
	struct dm_pg *pg;
	struct dm_pg_conn *conn; /* set while in flight */
	struct event *deadline;
	dm_pg_done_fn *done;     /* NULL for internal health probes */
	void *arg;
	int nparams;
	char *sql;
	char **params;
};

TAILQ_HEAD(dm_pg_queue, dm_pg_query);

struct dm_pg_conn {
	struct dm_pg *pg;
	int idx;
	enum dm_pg_state state;
	PGconn *conn;
	struct event *io;
	int io_fd;
	short io_what;
	struct event *timer; /* connect deadline, or reconnect delay */
	struct dm_backoff backoff;
	struct dm_pg_query *query;
	PGresult *result;
	PGresult *error_result;
};

struct dm_pg {
	struct event_base *base;
	char dsn[CFG_STR_MAX];
	char options[64];
	int connect_timeout_ms;
	int query_timeout_ms;
	int health_interval_ms;
	int reconnect_min_ms;
	int reconnect_max_ms;
	int nconns;
	struct dm_pg_conn *conns;
	struct dm_pg_queue queue;
	int queued;
	struct event *health;
	bool was_up;
	bool warned;  /* the reason of the current outage has been logged */
	bool closing; /* dm_pg_free runs: refuse new queries from callbacks */
	struct dm_pg_stats stats;
};

static void dm_pg_conn_connect(struct dm_pg_conn *c);
static void dm_pg_conn_drop(struct dm_pg_conn *c, const char *why);
static void dm_pg_dispatch(struct dm_pg *pg);

static void
dm_pg_query_free(struct dm_pg_query *q)
{
	if (q == NULL)
		return;
	if (q->deadline != NULL)
		event_free(q->deadline);
	for (int i = 0; i < q->nparams; i++)
		free(q->params[i]);
	free(q->params);
	free(q->sql);
	free(q);
}

/* Run the query's callback once and free it. */
static void
dm_pg_query_finish(struct dm_pg_query *q, const struct dm_pg_reply *reply)
{
	struct dm_pg *pg = q->pg;
	if (q->done != NULL) {
		pg->stats.queries_total++;
		if (!reply->ok)
			pg->stats.query_errors_total++;
		q->done(reply, q->arg);
	}
	dm_pg_query_free(q);
}

static void
dm_pg_query_fail(struct dm_pg_query *q, bool unavailable, const char *why)
{
	struct dm_pg_reply reply = {
		.ok = false, .unavailable = unavailable, .res = NULL, .error = why, .sqlstate = ""};
	dm_pg_query_finish(q, &reply);
}

static void
dm_pg_update_up(struct dm_pg *pg)
{
	bool up = dm_pg_up(pg);
	if (up != pg->was_up) {
		if (up) {
			dm_log_info("pg", "postgresql is up");
			pg->warned = false;
		} else {
			dm_log_warning("pg", "postgresql is down: no connection established");
		}
		pg->was_up = up;
	}
	if (!up) {
		/* Nobody can serve the queue now: fail fast rather than at each deadline. */
		struct dm_pg_query *q;
		while ((q = TAILQ_FIRST(&pg->queue)) != NULL) {
			TAILQ_REMOVE(&pg->queue, q, link);
			pg->queued--;
			dm_pg_query_fail(q, true, "postgresql unavailable");
		}
	}
}

static void dm_pg_conn_io_cb(evutil_socket_t fd, short what, void *arg);

/* Make the connection's socket event wait for what (EV_READ/EV_WRITE). */
static int
dm_pg_conn_watch(struct dm_pg_conn *c, short what)
{
	int fd = PQsocket(c->conn);
	if (fd < 0)
		return -1;
	if (c->io != NULL && (c->io_fd != fd || c->io_what != what)) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->io == NULL) {
		c->io = event_new(c->pg->base, fd, what | EV_PERSIST, dm_pg_conn_io_cb, c);
		if (c->io == NULL)
			return -1;
		c->io_fd = fd;
		c->io_what = what;
		if (event_add(c->io, NULL) != 0)
			return -1;
	}
	return 0;
}

static void
dm_pg_conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_pg_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->state == DM_PG_DOWN)
		dm_pg_conn_connect(c);
	else if (c->state == DM_PG_CONNECTING)
		dm_pg_conn_drop(c, "connect timed out");
}

static void
dm_pg_conn_drop(struct dm_pg_conn *c, const char *why)
{
	struct dm_pg *pg = c->pg;
	struct dm_pg_query *q = c->query;
	char msg[256];

	snprintf(msg, sizeof msg, "%s", why);
	if (c->state == DM_PG_IDLE || c->state == DM_PG_BUSY) {
		dm_log_warning("pg", "connection %d lost: %s", c->idx, msg);
	} else if (!pg->warned && !dm_pg_up(pg)) {
		/* Say once why PostgreSQL cannot be reached; the retries stay quiet. */
		dm_log_warning("pg", "cannot connect (retrying with backoff): %s", msg);
		pg->warned = true;
	} else {
		dm_log_debug("pg", "connection %d attempt failed: %s", c->idx, msg);
	}
	if (c->io != NULL) {
		event_free(c->io);
		c->io = NULL;
	}
	PQclear(c->result);
	PQclear(c->error_result);
	c->result = c->error_result = NULL;
	if (c->conn != NULL) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	c->query = NULL;
	c->state = DM_PG_DOWN;
	struct timeval tv =
		dm_backoff_tv(dm_backoff_next_ms(&c->backoff, pg->reconnect_min_ms, pg->reconnect_max_ms));
	evtimer_add(c->timer, &tv);
	if (q != NULL) {
		q->conn = NULL;
		dm_pg_query_fail(q, true, "postgresql connection lost");
	}
	dm_pg_update_up(pg);
}

static void
dm_pg_conn_connect(struct dm_pg_conn *c)
{
	struct dm_pg *pg = c->pg;
	const char *keys[] = {"dbname", "application_name", "options", NULL};
	const char *vals[] = {pg->dsn, "dispatchd", pg->options, NULL};

	pg->stats.reconnects_total++;
	c->conn = PQconnectStartParams(keys, vals, 1);
	if (c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD) {
		dm_pg_conn_drop(c, c->conn ? PQerrorMessage(c->conn) : "out of memory");
		return;
	}
	if (PQsetnonblocking(c->conn, 1) != 0 || dm_pg_conn_watch(c, EV_WRITE) != 0) {
		dm_pg_conn_drop(c, "cannot watch the socket");
		return;
	}
	c->state = DM_PG_CONNECTING;
	struct timeval tv = dm_backoff_tv(pg->connect_timeout_ms);
	evtimer_add(c->timer, &tv);
}

static void
dm_pg_conn_connect_step(struct dm_pg_conn *c)
{
	PostgresPollingStatusType st = PQconnectPoll(c->conn);
	/* libpq may have closed and reopened its socket (the next address of
	 * the DSN), often under the same fd number: always watch afresh. */
	if (c->io != NULL) {
		event_free(c->io);
		c->io = NULL;
	}
	switch (st) {
	case PGRES_POLLING_READING:
		if (dm_pg_conn_watch(c, EV_READ) != 0)
			dm_pg_conn_drop(c, "cannot watch the socket");
		return;
	case PGRES_POLLING_WRITING:
		if (dm_pg_conn_watch(c, EV_WRITE) != 0)
			dm_pg_conn_drop(c, "cannot watch the socket");
		return;
	case PGRES_POLLING_OK:
		evtimer_del(c->timer);
		c->state = DM_PG_IDLE;
		dm_backoff_reset(&c->backoff);
		if (dm_pg_conn_watch(c, EV_READ) != 0) {
			dm_pg_conn_drop(c, "cannot watch the socket");
			return;
		}
		dm_log_debug("pg", "connection %d established", c->idx);
		dm_pg_update_up(c->pg);
		dm_pg_dispatch(c->pg);
		return;
	default:
		dm_pg_conn_drop(c, PQerrorMessage(c->conn));
		return;
	}
}

/* The in-flight query has all its results: hand the one that matters (the
 * first error, else the last success) to the callback, then go idle. */
static void
dm_pg_conn_complete(struct dm_pg_conn *c)
{
	struct dm_pg_query *q = c->query;
	PGresult *res = c->error_result != NULL ? c->error_result : c->result;
	struct dm_pg_reply reply = {.ok = c->error_result == NULL && c->result != NULL,
				    .unavailable = false,
				    .res = res,
				    .error = "",
				    .sqlstate = ""};
	if (c->error_result != NULL)
		PQclear(c->result);
	if (!reply.ok) {
		reply.error = res != NULL ? PQresultErrorMessage(res) : "no result";
		const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		reply.sqlstate = state != NULL ? state : "";
	}
	c->query = NULL;
	c->result = c->error_result = NULL;
	c->state = DM_PG_IDLE;
	q->conn = NULL;
	dm_pg_query_finish(q, &reply);
	PQclear(res);
	dm_pg_dispatch(c->pg);
}

static void
dm_pg_conn_collect(struct dm_pg_conn *c)
{
	while (!PQisBusy(c->conn)) {
		PGresult *r = PQgetResult(c->conn);
		if (r == NULL) {
			dm_pg_conn_complete(c);
			return;
		}
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			PQclear(c->result);
			c->result = r;
		} else if (c->error_result == NULL) {
			c->error_result = r;
		} else {
			PQclear(r);
		}
	}
}

static void
dm_pg_conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_pg_conn *c = arg;
	(void)fd;
	switch (c->state) {
	case DM_PG_CONNECTING:
		dm_pg_conn_connect_step(c);
		return;
	case DM_PG_IDLE:
		/* Nothing is expected: this is the server closing on us (shutdown,
		 * terminate) or a notice. Either way, read it. */
		if (PQconsumeInput(c->conn) == 0 || PQstatus(c->conn) == CONNECTION_BAD) {
			dm_pg_conn_drop(c, PQerrorMessage(c->conn));
			return;
		}
		return;
	case DM_PG_BUSY:
		if (what & EV_WRITE) {
			int rc = PQflush(c->conn);
			if (rc < 0) {
				dm_pg_conn_drop(c, PQerrorMessage(c->conn));
				return;
			}
			if (rc == 0 && dm_pg_conn_watch(c, EV_READ) != 0) {
				dm_pg_conn_drop(c, "cannot watch the socket");
				return;
			}
		}
		if (what & EV_READ) {
			if (PQconsumeInput(c->conn) == 0) {
				dm_pg_conn_drop(c, PQerrorMessage(c->conn));
				return;
			}
			dm_pg_conn_collect(c);
		}
		return;
	case DM_PG_DOWN:
		return;
	}
}

/* Send q on idle connection c. Returns -1 (q untouched) when the send failed. */
static int
dm_pg_conn_send(struct dm_pg_conn *c, struct dm_pg_query *q)
{
	if (PQsendQueryParams(c->conn, q->sql, q->nparams, NULL, (const char *const *)q->params,
			      NULL, NULL, 0) == 0)
		return -1;
	c->state = DM_PG_BUSY;
	c->query = q;
	q->conn = c;
	int rc = PQflush(c->conn);
	if (rc < 0 || dm_pg_conn_watch(c, rc == 1 ? EV_READ | EV_WRITE : EV_READ) != 0) {
		dm_pg_conn_drop(c, PQerrorMessage(c->conn));
		return 0; /* q was failed by the drop */
	}
	return 0;
}

static void
dm_pg_dispatch(struct dm_pg *pg)
{
	for (int i = 0; i < pg->nconns && !TAILQ_EMPTY(&pg->queue); i++) {
		struct dm_pg_conn *c = &pg->conns[i];
		if (c->state != DM_PG_IDLE)
			continue;
		struct dm_pg_query *q = TAILQ_FIRST(&pg->queue);
		TAILQ_REMOVE(&pg->queue, q, link);
		pg->queued--;
		if (dm_pg_conn_send(c, q) != 0) {
			TAILQ_INSERT_HEAD(&pg->queue, q, link);
			pg->queued++;
			dm_pg_conn_drop(c, PQerrorMessage(c->conn));
		}
	}
}

static void
dm_pg_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_pg_query *q = arg;
	(void)fd;
	(void)what;
	if (q->conn != NULL) {
		struct dm_pg_conn *c = q->conn;
		c->query = NULL;
		q->conn = NULL;
		dm_pg_query_fail(q, true, "postgresql query timed out");
		dm_pg_conn_drop(c, "query timed out");
		return;
	}
	TAILQ_REMOVE(&q->pg->queue, q, link);
	q->pg->queued--;
	dm_pg_query_fail(q, true, "postgresql query timed out waiting for a connection");
}

static struct dm_pg_query *
dm_pg_query_new(struct dm_pg *pg, const char *sql, int nparams, const char *const *params)
{
	struct dm_pg_query *q = calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	q->pg = pg;
	q->sql = strdup(sql);
	q->params = nparams > 0 ? calloc((size_t)nparams, sizeof *q->params) : NULL;
	q->deadline = evtimer_new(pg->base, dm_pg_deadline_cb, q);
	if (q->sql == NULL || (nparams > 0 && q->params == NULL) || q->deadline == NULL)
		goto fail;
	for (int i = 0; i < nparams; i++) {
		q->nparams = i + 1;
		if (params[i] != NULL && (q->params[i] = strdup(params[i])) == NULL)
			goto fail;
	}
	q->nparams = nparams;
	return q;
fail:
	dm_pg_query_free(q);
	return NULL;
}

int
dm_pg_query(struct dm_pg *pg, const char *sql, int nparams, const char *const *params,
	    dm_pg_done_fn *done, void *arg)
{
	if (pg == NULL || pg->closing || !dm_pg_up(pg) || pg->queued >= DM_PG_QUEUE_MAX)
		return -1;
	struct dm_pg_query *q = dm_pg_query_new(pg, sql, nparams, params);
	if (q == NULL)
		return -1;
	q->done = done;
	q->arg = arg;
	struct timeval tv = dm_backoff_tv(pg->query_timeout_ms);
	evtimer_add(q->deadline, &tv);
	TAILQ_INSERT_TAIL(&pg->queue, q, link);
	pg->queued++;
	dm_pg_dispatch(pg);
	return 0;
}

/* Probe each idle connection so a silent network loss is noticed. */
static void
dm_pg_health_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_pg *pg = arg;
	(void)fd;
	(void)what;
	for (int i = 0; i < pg->nconns; i++) {
		struct dm_pg_conn *c = &pg->conns[i];
		if (c->state != DM_PG_IDLE)
			continue;
		struct dm_pg_query *q = dm_pg_query_new(pg, "SELECT 1", 0, NULL);
		if (q == NULL)
			continue;
		struct timeval tv = dm_backoff_tv(pg->query_timeout_ms);
		evtimer_add(q->deadline, &tv);
		if (dm_pg_conn_send(c, q) != 0) {
			dm_pg_query_free(q);
			dm_pg_conn_drop(c, PQerrorMessage(c->conn));
		}
	}
	struct timeval tv = dm_backoff_tv(pg->health_interval_ms);
	evtimer_add(pg->health, &tv);
}

void
dm_pg_configure(struct dm_pg *pg, const struct cfg *cfg)
{
	pg->connect_timeout_ms = cfg->pg_connect_timeout_ms;
	pg->query_timeout_ms = cfg->pg_query_timeout_ms;
	pg->health_interval_ms = cfg->pg_health_interval_ms;
	pg->reconnect_min_ms = cfg->pg_reconnect_min_ms;
	pg->reconnect_max_ms = cfg->pg_reconnect_max_ms;
	/* The server cancels a statement a little before our own deadline fires. */
	snprintf(pg->options, sizeof pg->options, "-c statement_timeout=%d",
		 pg->query_timeout_ms > 200 ? pg->query_timeout_ms - 100 : pg->query_timeout_ms);
}

struct dm_pg *
dm_pg_new(struct event_base *base, const struct cfg *cfg)
{
	struct dm_pg *pg = calloc(1, sizeof *pg);
	if (pg == NULL)
		return NULL;
	pg->base = base;
	TAILQ_INIT(&pg->queue);
	snprintf(pg->dsn, sizeof pg->dsn, "%s", cfg->pg_dsn);
	dm_pg_configure(pg, cfg);
	pg->nconns = cfg->pg_pool_size;
	pg->conns = calloc((size_t)pg->nconns, sizeof *pg->conns);
	pg->health = evtimer_new(base, dm_pg_health_cb, pg);
	if (pg->conns == NULL || pg->health == NULL)
		goto fail;
	for (int i = 0; i < pg->nconns; i++) {
		struct dm_pg_conn *c = &pg->conns[i];
		c->pg = pg;
		c->idx = i;
		c->state = DM_PG_DOWN;
		c->timer = evtimer_new(base, dm_pg_conn_timer_cb, c);
		if (c->timer == NULL)
			goto fail;
	}
	for (int i = 0; i < pg->nconns; i++)
		dm_pg_conn_connect(&pg->conns[i]);
	struct timeval tv = dm_backoff_tv(pg->health_interval_ms);
	evtimer_add(pg->health, &tv);
	return pg;
fail:
	dm_pg_free(pg);
	return NULL;
}

bool
dm_pg_up(const struct dm_pg *pg)
{
	for (int i = 0; i < pg->nconns; i++)
		if (pg->conns[i].state == DM_PG_IDLE || pg->conns[i].state == DM_PG_BUSY)
			return true;
	return false;
}

void
dm_pg_stats_get(const struct dm_pg *pg, struct dm_pg_stats *out)
{
	*out = pg->stats;
	out->connections_total = pg->nconns;
	out->connections_up = 0;
	for (int i = 0; i < pg->nconns; i++)
		if (pg->conns[i].state == DM_PG_IDLE || pg->conns[i].state == DM_PG_BUSY)
			out->connections_up++;
	out->queued = pg->queued;
}

void
dm_pg_free(struct dm_pg *pg)
{
	struct dm_pg_query *q;
	if (pg == NULL)
		return;
	pg->closing = true;
	while ((q = TAILQ_FIRST(&pg->queue)) != NULL) {
		TAILQ_REMOVE(&pg->queue, q, link);
		dm_pg_query_fail(q, true, "shutting down");
	}
	for (int i = 0; pg->conns != NULL && i < pg->nconns; i++) {
		struct dm_pg_conn *c = &pg->conns[i];
		if (c->query != NULL) {
			c->query->conn = NULL;
			dm_pg_query_fail(c->query, true, "shutting down");
			c->query = NULL;
		}
		if (c->io != NULL)
			event_free(c->io);
		if (c->timer != NULL)
			event_free(c->timer);
		PQclear(c->result);
		PQclear(c->error_result);
		if (c->conn != NULL)
			PQfinish(c->conn);
	}
	if (pg->health != NULL)
		event_free(pg->health);
	free(pg->conns);
	free(pg);
}
