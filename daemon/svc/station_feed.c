/* The station feed's wake-ups (see station_feed.h). It owns the waiters,
 * hashed by station, the LISTEN connection and its reconnect timer, and the
 * periodic check. It does not read feeds nor answer requests: a waiter's
 * owner (api/feed.c) does, through the pool, when woken.
 *
 * The listener is a small state machine driven by its socket, like a pool
 * connection (io/pg.c):
 *   DOWN --timer--> CONNECTING --ok--> LISTENING (LISTEN sent) --ok--> UP
 * and any failure goes back to DOWN with a doubling delay (capped). Reaching
 * UP runs a check at once: notifications sent while it was down are lost,
 * and the check finds what they would have said.
 *
 * Walks over a station's waiters call back into their owners, which may
 * leave, and may (through the pool) end other polls too: a waiter that
 * leaves during a walk is only marked, and freed with its station entry
 * once the outermost walk has ended. */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "config/cfg.h"
#include "daemon/base/backoff.h"
#include "daemon/base/daemon.h"
#include "daemon/base/hash.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/pg.h"
#include "daemon/svc/station_feed.h"

#define DM_STATION_FEED_BUCKETS 1024 /* a power of two */
#define DM_STATION_FEED_CHANNEL "station_feed"

struct dm_station_feed_station;

struct dm_station_feed_waiter {
	TAILQ_ENTRY(dm_station_feed_waiter) link;
	struct dm_station_feed_station *st;
	dm_station_feed_wake_fn *wake;
	dm_station_feed_gone_fn *gone;
	void *arg;
	bool left; /* gone (left, GONE or CLOSING): freed by the next sweep */
};

TAILQ_HEAD(dm_station_feed_waiters, dm_station_feed_waiter);

/* One station with waiters: a hash chain link and its waiters in arrival order. */
struct dm_station_feed_station {
	struct dm_station_feed_station *next;
	struct dm_station_feed_waiters waiters; /* left ones too, until swept */
	char id[DM_STATION_FEED_ID_MAX];
};

enum dm_station_feed_state {
	DM_STATION_FEED_DOWN,
	DM_STATION_FEED_CONNECTING,
	DM_STATION_FEED_LISTENING,
	DM_STATION_FEED_UP,
};

struct dm_station_feed {
	struct dm_daemon *d;
	struct dm_station_feed_station *buckets[DM_STATION_FEED_BUCKETS];
	int nstations;
	long nwaiters;       /* registered, not left */
	int walking;         /* depth of walks in progress: nothing is freed while > 0 */
	uint64_t epoch;      /* CHANGED walks begun (dm_station_feed_epoch) */
	bool pending_sweep;  /* waiters left during a walk */
	struct dm_station_feed_read *reads; /* page reads in flight (api/feed.c) */
	/* The listener. */
	enum dm_station_feed_state state;
	PGconn *conn;
	struct event *io;
	int io_fd;
	short io_what;
	struct event *timer; /* connect deadline, or reconnect delay */
	struct dm_backoff backoff;
	bool warned;         /* this outage's reason has been logged */
	char dsn[CFG_STR_MAX];
	/* The safety net. */
	struct event *tick;
	bool checking;       /* a check query is in flight */
	bool closing;
	/* Counters for /metrics. */
	unsigned long notifications_total;
	unsigned long checks_total;
	unsigned long check_wakes_total; /* stations a check found moved */
	unsigned long reconnects_total;
};

static void dm_station_feed_connect(struct dm_station_feed *f);
static void dm_station_feed_check(struct dm_station_feed *f);

/* ---- Waiters ---------------------------------------------------------- */

static struct dm_station_feed_station **
dm_station_feed_slot(struct dm_station_feed *f, const char *id)
{
	struct dm_station_feed_station **p =
		&f->buckets[dm_hash_str(id, 0) & (DM_STATION_FEED_BUCKETS - 1)];
	while (*p != NULL && strcmp((*p)->id, id) != 0)
		p = &(*p)->next;
	return p;
}

static struct dm_station_feed_station *
dm_station_feed_find(struct dm_station_feed *f, const char *id)
{
	return *dm_station_feed_slot(f, id);
}

/* Free the waiters that left st, and st itself once none remain. Only
 * outside walks (f->walking == 0). */
static void
dm_station_feed_sweep_station(struct dm_station_feed *f, struct dm_station_feed_station *st)
{
	struct dm_station_feed_waiter *w = TAILQ_FIRST(&st->waiters);
	while (w != NULL) {
		struct dm_station_feed_waiter *next = TAILQ_NEXT(w, link);
		if (w->left) {
			TAILQ_REMOVE(&st->waiters, w, link);
			free(w);
		}
		w = next;
	}
	if (!TAILQ_EMPTY(&st->waiters))
		return;
	struct dm_station_feed_station **p = dm_station_feed_slot(f, st->id);
	if (*p == st)
		*p = st->next;
	f->nstations--;
	free(st);
}

static void
dm_station_feed_sweep_all(struct dm_station_feed *f)
{
	f->pending_sweep = false;
	for (int b = 0; b < DM_STATION_FEED_BUCKETS; b++) {
		struct dm_station_feed_station *st = f->buckets[b];
		while (st != NULL) {
			struct dm_station_feed_station *next = st->next;
			dm_station_feed_sweep_station(f, st);
			st = next;
		}
	}
}

struct dm_station_feed_waiter *
dm_station_feed_join(struct dm_station_feed *f, const char *station, dm_station_feed_wake_fn *wake,
		     dm_station_feed_gone_fn *gone, void *arg)
{
	if (strlen(station) >= DM_STATION_FEED_ID_MAX)
		return NULL;
	struct dm_station_feed_waiter *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	struct dm_station_feed_station **p = dm_station_feed_slot(f, station);
	if (*p == NULL) {
		struct dm_station_feed_station *st = calloc(1, sizeof *st);
		if (st == NULL) {
			free(w);
			return NULL;
		}
		TAILQ_INIT(&st->waiters);
		snprintf(st->id, sizeof st->id, "%s", station);
		*p = st;
		f->nstations++;
	}
	*w = (struct dm_station_feed_waiter){.st = *p, .wake = wake, .gone = gone, .arg = arg};
	TAILQ_INSERT_TAIL(&w->st->waiters, w, link);
	f->nwaiters++;
	return w;
}

/* Mark w as gone; it is freed at once outside walks, else when the
 * outermost walk ends. */
static void
dm_station_feed_mark_left(struct dm_station_feed *f, struct dm_station_feed_waiter *w)
{
	w->left = true;
	f->nwaiters--;
	if (f->walking == 0)
		dm_station_feed_sweep_station(f, w->st);
	else
		f->pending_sweep = true;
}

void
dm_station_feed_leave(struct dm_station_feed *f, struct dm_station_feed_waiter *w)
{
	dm_station_feed_mark_left(f, w);
}

static void
dm_station_feed_walk_end(struct dm_station_feed *f)
{
	if (--f->walking == 0 && f->pending_sweep)
		dm_station_feed_sweep_all(f);
}

/* Call every waiter of st: CHANGED (they stay), or, for GONE and CLOSING,
 * remove each first (all of them for CLOSING, those whose gone_fn says so
 * for GONE). Callbacks may end polls, run pool callbacks that end others
 * (a pool that goes down fails its whole queue), or walk again: nothing is
 * freed until the outermost walk ends, so every pointer held here stays
 * valid. */
static void
dm_station_feed_walk(struct dm_station_feed *f, struct dm_station_feed_station *st,
		     enum dm_station_feed_wake why, int64_t head)
{
	f->walking++;
	if (why == DM_STATION_FEED_CHANGED)
		f->epoch++;
	for (struct dm_station_feed_waiter *w = TAILQ_FIRST(&st->waiters); w != NULL;
	     w = TAILQ_NEXT(w, link)) {
		if (w->left)
			continue;
		if (why == DM_STATION_FEED_CHANGED) {
			w->wake(w->arg, why, head);
		} else if (why == DM_STATION_FEED_CLOSING || w->gone(w->arg)) {
			dm_station_feed_mark_left(f, w);
			w->wake(w->arg, why, head);
		}
	}
	dm_station_feed_walk_end(f);
}

/* Walk every station (why GONE or CLOSING). */
static void
dm_station_feed_walk_all(struct dm_station_feed *f, enum dm_station_feed_wake why)
{
	f->walking++;
	for (int b = 0; b < DM_STATION_FEED_BUCKETS; b++)
		for (struct dm_station_feed_station *st = f->buckets[b]; st != NULL; st = st->next)
			dm_station_feed_walk(f, st, why, -1);
	dm_station_feed_walk_end(f);
}

uint64_t
dm_station_feed_epoch(const struct dm_station_feed *f)
{
	return f->epoch;
}

/* ---- Page reads in flight --------------------------------------------- */

struct dm_station_feed_read *
dm_station_feed_read_find(struct dm_station_feed *f, const char *station, int64_t cursor,
			  int limit)
{
	struct dm_station_feed_read *rd;
	for (rd = f->reads; rd != NULL; rd = rd->next)
		if (rd->cursor == cursor && rd->limit == limit && strcmp(rd->station, station) == 0)
			break;
	return rd;
}

struct dm_station_feed_read *
dm_station_feed_read_open(struct dm_station_feed *f, const char *station, int64_t cursor,
			  int limit)
{
	struct dm_station_feed_read *rd = calloc(1, sizeof *rd);
	if (rd == NULL)
		return NULL;
	*rd = (struct dm_station_feed_read){.next = f->reads, .station = station,
					    .cursor = cursor, .limit = limit,
					    .epoch = f->epoch};
	f->reads = rd;
	return rd;
}

void
dm_station_feed_read_close(struct dm_station_feed *f, struct dm_station_feed_read *rd)
{
	struct dm_station_feed_read **pp = &f->reads;
	while (*pp != NULL && *pp != rd)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = rd->next;
	free(rd);
}

void
dm_station_feed_read_stale(struct dm_station_feed *f, const char *station)
{
	for (struct dm_station_feed_read *rd = f->reads; rd != NULL; rd = rd->next)
		if (rd->epoch < f->epoch && strcmp(rd->station, station) == 0)
			rd->stale = true;
}

void
dm_station_feed_drain(struct dm_station_feed *f)
{
	if (f != NULL)
		dm_station_feed_walk_all(f, DM_STATION_FEED_CLOSING);
}

/* ---- The listener ----------------------------------------------------- */

static void
dm_station_feed_drop(struct dm_station_feed *f, const char *why)
{
	if (f->state == DM_STATION_FEED_UP) {
		dm_log_warning("feed", "listener lost: %s (the 2 s check wakes polls meanwhile)", why);
	} else if (!f->warned) {
		dm_log_warning("feed", "listener cannot connect (retrying with backoff): %s", why);
		f->warned = true;
	}
	if (f->io != NULL) {
		event_free(f->io);
		f->io = NULL;
	}
	if (f->conn != NULL) {
		PQfinish(f->conn);
		f->conn = NULL;
	}
	f->state = DM_STATION_FEED_DOWN;
	const struct cfg *cfg = f->d->cfg->cfg;
	struct timeval tv = dm_backoff_tv(
		dm_backoff_next_ms(&f->backoff, cfg->pg_reconnect_min_ms, cfg->pg_reconnect_max_ms));
	evtimer_add(f->timer, &tv);
}

static void dm_station_feed_io_cb(evutil_socket_t fd, short what, void *arg);

static int
dm_station_feed_watch(struct dm_station_feed *f, short what)
{
	int fd = PQsocket(f->conn);
	if (fd < 0)
		return -1;
	if (f->io != NULL && (f->io_fd != fd || f->io_what != what)) {
		event_free(f->io);
		f->io = NULL;
	}
	if (f->io == NULL) {
		f->io = event_new(f->d->base, fd, what | EV_PERSIST, dm_station_feed_io_cb, f);
		if (f->io == NULL || event_add(f->io, NULL) != 0)
			return -1;
		f->io_fd = fd;
		f->io_what = what;
	}
	return 0;
}

static void
dm_station_feed_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_station_feed *f = arg;
	(void)fd;
	(void)what;
	if (f->state == DM_STATION_FEED_DOWN)
		dm_station_feed_connect(f);
	else if (f->state == DM_STATION_FEED_CONNECTING)
		dm_station_feed_drop(f, "connect timed out");
}

static void
dm_station_feed_connect(struct dm_station_feed *f)
{
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *vals[] = {f->dsn, "dispatchd-feed", NULL};
	f->reconnects_total++;
	f->conn = PQconnectStartParams(keys, vals, 1);
	if (f->conn == NULL || PQstatus(f->conn) == CONNECTION_BAD) {
		dm_station_feed_drop(f, f->conn != NULL ? PQerrorMessage(f->conn) : "out of memory");
		return;
	}
	if (PQsetnonblocking(f->conn, 1) != 0 || dm_station_feed_watch(f, EV_WRITE) != 0) {
		dm_station_feed_drop(f, "cannot watch the socket");
		return;
	}
	f->state = DM_STATION_FEED_CONNECTING;
	struct timeval tv = dm_backoff_tv(f->d->cfg->cfg->pg_connect_timeout_ms);
	evtimer_add(f->timer, &tv);
}

/* Connected: send LISTEN and wait for its answer. */
static void
dm_station_feed_listen(struct dm_station_feed *f)
{
	evtimer_del(f->timer);
	if (PQsendQuery(f->conn, "LISTEN " DM_STATION_FEED_CHANNEL) == 0) {
		dm_station_feed_drop(f, PQerrorMessage(f->conn));
		return;
	}
	f->state = DM_STATION_FEED_LISTENING;
	int rc = PQflush(f->conn);
	if (rc < 0 || dm_station_feed_watch(f, rc == 1 ? EV_READ | EV_WRITE : EV_READ) != 0)
		dm_station_feed_drop(f, PQerrorMessage(f->conn));
}

static void
dm_station_feed_connect_step(struct dm_station_feed *f)
{
	PostgresPollingStatusType st = PQconnectPoll(f->conn);
	/* libpq may have moved to another socket (the DSN's next address). */
	if (f->io != NULL) {
		event_free(f->io);
		f->io = NULL;
	}
	switch (st) {
	case PGRES_POLLING_READING:
		if (dm_station_feed_watch(f, EV_READ) != 0)
			dm_station_feed_drop(f, "cannot watch the socket");
		return;
	case PGRES_POLLING_WRITING:
		if (dm_station_feed_watch(f, EV_WRITE) != 0)
			dm_station_feed_drop(f, "cannot watch the socket");
		return;
	case PGRES_POLLING_OK:
		dm_station_feed_listen(f);
		return;
	default:
		dm_station_feed_drop(f, PQerrorMessage(f->conn));
		return;
	}
}

/* Read what arrived: LISTEN's answer, then notifications. Returns -1 after
 * a drop. */
static int
dm_station_feed_read(struct dm_station_feed *f)
{
	if (PQconsumeInput(f->conn) == 0 || PQstatus(f->conn) == CONNECTION_BAD) {
		dm_station_feed_drop(f, PQerrorMessage(f->conn));
		return -1;
	}
	while (!PQisBusy(f->conn)) {
		PGresult *res = PQgetResult(f->conn);
		if (res == NULL)
			break;
		ExecStatusType st = PQresultStatus(res);
		PQclear(res);
		if (st != PGRES_COMMAND_OK) {
			dm_station_feed_drop(f, "LISTEN failed");
			return -1;
		}
		if (f->state == DM_STATION_FEED_LISTENING) {
			f->state = DM_STATION_FEED_UP;
			f->warned = false;
			dm_backoff_reset(&f->backoff);
			dm_log_info("feed", "listening on channel " DM_STATION_FEED_CHANNEL);
			/* Whatever was notified while we were away: look now. */
			dm_station_feed_check(f);
		}
	}
	PGnotify *n;
	while ((n = PQnotifies(f->conn)) != NULL) {
		f->notifications_total++;
		struct dm_station_feed_station *st = dm_station_feed_find(f, n->extra);
		if (st != NULL)
			dm_station_feed_walk(f, st, DM_STATION_FEED_CHANGED, -1);
		PQfreemem(n);
	}
	return 0;
}

static void
dm_station_feed_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_station_feed *f = arg;
	(void)fd;
	switch (f->state) {
	case DM_STATION_FEED_CONNECTING:
		dm_station_feed_connect_step(f);
		return;
	case DM_STATION_FEED_LISTENING:
	case DM_STATION_FEED_UP:
		if (what & EV_WRITE) {
			int rc = PQflush(f->conn);
			if (rc < 0) {
				dm_station_feed_drop(f, PQerrorMessage(f->conn));
				return;
			}
			if (rc == 0 && dm_station_feed_watch(f, EV_READ) != 0) {
				dm_station_feed_drop(f, "cannot watch the socket");
				return;
			}
		}
		if (what & EV_READ)
			(void)dm_station_feed_read(f);
		return;
	case DM_STATION_FEED_DOWN:
		return;
	}
}

/* ---- The safety net --------------------------------------------------- */

/* The ids of every station with waiters as a PostgreSQL text[] literal:
 * {"a","b"} with " and \ escaped. NULL on OOM; the caller frees it. */
static char *
dm_station_feed_ids_literal(struct dm_station_feed *f)
{
	size_t cap = 2 + (size_t)f->nstations * (2 * DM_STATION_FEED_ID_MAX + 3), len = 0;
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	buf[len++] = '{';
	for (int b = 0; b < DM_STATION_FEED_BUCKETS; b++) {
		for (struct dm_station_feed_station *st = f->buckets[b]; st != NULL; st = st->next) {
			if (len > 1)
				buf[len++] = ',';
			buf[len++] = '"';
			for (const char *c = st->id; *c != '\0'; c++) {
				if (*c == '"' || *c == '\\')
					buf[len++] = '\\';
				buf[len++] = *c;
			}
			buf[len++] = '"';
		}
	}
	buf[len++] = '}';
	buf[len] = '\0';
	return buf;
}

static void
dm_station_feed_check_done_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_station_feed *f = arg;
	f->checking = false;
	if (!reply->ok || f->closing) {
		if (!reply->ok && !reply->unavailable)
			dm_log_warning("feed", "the periodic check failed: %s", reply->error);
		return;
	}
	for (int i = 0; i < PQntuples(reply->res); i++) {
		struct dm_station_feed_station *st =
			dm_station_feed_find(f, PQgetvalue(reply->res, i, 0));
		if (st == NULL)
			continue;
		f->check_wakes_total++;
		dm_station_feed_walk(f, st, DM_STATION_FEED_CHANGED,
				     strtoll(PQgetvalue(reply->res, i, 1), NULL, 10));
	}
}

/* One query for the heads of every station with waiters; each waiter is
 * told its station's head and decides whether that is news. */
static void
dm_station_feed_check(struct dm_station_feed *f)
{
	if (f->nstations == 0 || f->checking || f->closing)
		return;
	char *ids = dm_station_feed_ids_literal(f);
	if (ids == NULL)
		return;
	const char *params[] = {ids};
	f->checks_total++;
	if (dm_pg_query(f->d->pg,
			"SELECT station_id, seq FROM station_feed_heads"
			" WHERE station_id = ANY ($1::text[])",
			1, params, dm_station_feed_check_done_cb, f) == 0)
		f->checking = true;
	free(ids);
}

static void
dm_station_feed_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_station_feed *f = arg;
	(void)fd;
	(void)what;
	/* Clients that left: libevent does not read a connection while its
	 * request is served, so nobody else notices before the answer. */
	dm_station_feed_walk_all(f, DM_STATION_FEED_GONE);
	dm_station_feed_check(f);
}

/* ---- Lifetime --------------------------------------------------------- */

struct dm_station_feed *
dm_station_feed_new(struct dm_daemon *d)
{
	struct dm_station_feed *f = calloc(1, sizeof *f);
	if (f == NULL)
		return NULL;
	f->d = d;
	snprintf(f->dsn, sizeof f->dsn, "%s", d->cfg->cfg->pg_dsn);
	f->timer = evtimer_new(d->base, dm_station_feed_timer_cb, f);
	f->tick = event_new(d->base, -1, EV_PERSIST, dm_station_feed_tick_cb, f);
	struct timeval tv = dm_backoff_tv(DM_STATION_FEED_CHECK_MS);
	if (f->timer == NULL || f->tick == NULL || event_add(f->tick, &tv) != 0) {
		dm_station_feed_free(f);
		return NULL;
	}
	dm_station_feed_connect(f);
	return f;
}

void
dm_station_feed_metrics_render(const struct dm_station_feed *f, struct evbuffer *out)
{
	if (f == NULL)
		return;
	evbuffer_add_printf(
		out,
		"# HELP dispatchd_feed_waiters Station feed long polls waiting for a change.\n"
		"# TYPE dispatchd_feed_waiters gauge\n"
		"dispatchd_feed_waiters %ld\n"
		"# HELP dispatchd_feed_listener_up Whether the LISTEN connection is up.\n"
		"# TYPE dispatchd_feed_listener_up gauge\n"
		"dispatchd_feed_listener_up %d\n"
		"# TYPE dispatchd_feed_notifications_total counter\n"
		"dispatchd_feed_notifications_total %lu\n"
		"# TYPE dispatchd_feed_checks_total counter\n"
		"dispatchd_feed_checks_total %lu\n"
		"# HELP dispatchd_feed_check_wakes_total Stations whose polls a check woke.\n"
		"# TYPE dispatchd_feed_check_wakes_total counter\n"
		"dispatchd_feed_check_wakes_total %lu\n"
		"# TYPE dispatchd_feed_listener_connects_total counter\n"
		"dispatchd_feed_listener_connects_total %lu\n",
		f->nwaiters, f->state == DM_STATION_FEED_UP, f->notifications_total, f->checks_total,
		f->check_wakes_total, f->reconnects_total);
}

void
dm_station_feed_free(struct dm_station_feed *f)
{
	if (f == NULL)
		return;
	f->closing = true;
	dm_station_feed_walk_all(f, DM_STATION_FEED_CLOSING);
	if (f->io != NULL)
		event_free(f->io);
	if (f->timer != NULL)
		event_free(f->timer);
	if (f->tick != NULL)
		event_free(f->tick);
	if (f->conn != NULL)
		PQfinish(f->conn);
	while (f->reads != NULL) /* none: the pool, freed before, answered them */
		dm_station_feed_read_close(f, f->reads);
	free(f);
}
