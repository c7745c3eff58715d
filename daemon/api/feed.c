/* The station feed resource: GET /v1/stations/{id}/feed?cursor=C&wait=S&limit=N
 * answers the station's changes numbered above C, in order, up to N (100 by
 * default, 500 at most; "more" says when there were others), with the next
 * cursor. With wait=S (at most 60 s) and nothing new it long-polls: the
 * request is parked on svc/station_feed.c's waiters, holding no PostgreSQL
 * connection, and answered as soon as a wake-up reads a change, or with an
 * empty page when S has passed. Pages are read by station_feed_read()
 * (data/sql/station_feed_read.sql) through the pool; a cursor beyond the
 * feed's head is 422 (the client's cursor comes from another database, e.g.
 * one restored from a backup: it must start again from the head).
 *
 * A poll is one struct dm_api_feed_poll, hung on its request's handler_ctx
 * and holding one reference on the request until it ends. It ends once:
 * when it answered (its own read, its wait timer), or when the wake-up
 * service says its client left (GONE) or the daemon drains (CLOSING); a
 * poll that ends with a read out is freed when that read returns. Polls
 * wanting the same page share one read (struct dm_station_feed_read, kept
 * by the feed service: this file has no state of its own). */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/field_errors.h"
#include "daemon/api/tables.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/station_feed.h"

#define DM_API_FEED_LIMIT_DEFAULT 100
#define DM_API_FEED_LIMIT_MAX 500
#define DM_API_FEED_WAIT_MAX_S 60

struct dm_api_feed_poll {
	struct dm_req *r;                     /* one reference held */
	struct dm_station_feed_waiter *waiter; /* NULL once left, GONE or CLOSING */
	struct event *timer;                  /* the end of the wait */
	char station[DM_STATION_FEED_ID_MAX];
	int64_t cursor;
	int limit;
	int wait_s;
	bool querying; /* attached to a page read in flight (share) */
	bool dirty;    /* woken while reading: read again if the page is empty */
	bool expired;  /* the wait is over (or the daemon drains): answer what comes */
	bool ended;    /* answered while querying: freed when the read returns */
	struct dm_station_feed_read *share;  /* the read it waits for, while querying */
	struct dm_api_feed_poll *share_next; /* the share's other polls */
};

/* Polls wanting the same page (station, cursor, limit) share one read,
 * a struct dm_station_feed_read of the feed service (readers = its polls,
 * linked by share_next): a change wakes all the polls of its station, which
 * mostly wait at the same cursor, and one query answers them all. The
 * query is sent for the first poll's request in DM_REQ_PG_WRITE mode, so its
 * callback runs even when that request was answered meanwhile; that poll is
 * kept (ended) until then (the read's station is that poll's). A poll
 * joining a read that may predate the change it was woken for (stale) reads
 * again if that read comes back empty. */

static void dm_api_feed_read(struct dm_api_feed_poll *p);

/* A non-negative decimal integer of at most max_digits digits into *out. */
static bool
dm_api_feed_parse_uint(const char *text, int max_digits, int64_t *out)
{
	size_t n = strlen(text);
	if (n == 0 || n > (size_t)max_digits || strspn(text, "0123456789") != n)
		return false;
	*out = strtoll(text, NULL, 10);
	return true;
}

static void
dm_api_feed_free(struct dm_api_feed_poll *p)
{
	struct dm_req *r = p->r;
	r->handler_ctx = NULL;
	free(p);
	dm_req_unref(r, "feed_poll");
}

/* The poll's end, once answered: leave the waiters, drop the timer, and
 * free it with its reference (or when its read returns, if one is out). */
static void
dm_api_feed_end(struct dm_api_feed_poll *p)
{
	if (p->waiter != NULL)
		dm_station_feed_leave(p->r->d->feed, p->waiter);
	p->waiter = NULL;
	if (p->timer != NULL)
		event_free(p->timer);
	p->timer = NULL;
	if (p->querying)
		p->ended = true;
	else
		dm_api_feed_free(p);
}

/* An empty page: nothing after the cursor (yet). */
static void
dm_api_feed_reply_empty(struct dm_api_feed_poll *p)
{
	dm_req_reply_json(p->r, 200, json_pack("{s:s,s:[],s:I,s:b}", "station", p->station,
					       "changes", "next_cursor", (json_int_t)p->cursor,
					       "more", 0));
}

/* One poll's share of a page read. */
static void
dm_api_feed_deliver(struct dm_api_feed_poll *p, const struct dm_pg_reply *reply)
{
	struct dm_req *r = p->r;
	if (dm_req_client_gone(r)) {
		dm_req_problem(r, DM_PROBLEM_CLIENT_CLOSED, "the client went away", NULL);
		dm_api_feed_end(p);
		return;
	}
	if (!reply->ok || PQntuples(reply->res) != 1) {
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		dm_api_feed_end(p);
		return;
	}
	int64_t head = strtoll(PQgetvalue(reply->res, 0, 0), NULL, 10);
	int n = atoi(PQgetvalue(reply->res, 0, 1));
	if (p->cursor > head) {
		char detail[160];
		snprintf(detail, sizeof detail,
			 "cursor %" PRId64 " is beyond the feed's last change (%" PRId64 ")", p->cursor,
			 head);
		json_t *errors = json_array();
		dm_field_errors_add(errors, "cursor",
				    "beyond the feed's last change: read again from head (or 0)");
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
			       json_pack("{s:o,s:I}", "errors", errors, "head", (json_int_t)head));
		dm_api_feed_end(p);
		return;
	}
	if (n > 0 || p->wait_s == 0 || p->expired || p->waiter == NULL) {
		dm_req_reply(r, 200, "application/json", PQgetvalue(reply->res, 0, 2),
			     (size_t)PQgetlength(reply->res, 0, 2));
		dm_api_feed_end(p);
		return;
	}
	/* Nothing yet: wait for a wake-up, unless one came during the read. */
	if (p->dirty)
		dm_api_feed_read(p);
}

static void
dm_api_feed_read_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	struct dm_api_feed_poll *first = r->handler_ctx; /* kept until now (ended) */
	struct dm_station_feed_read *s = first->share;
	/* Detach them all first: a poll that reads again starts a new share. */
	struct dm_api_feed_poll *p = s->readers;
	dm_station_feed_read_close(r->d->feed, s);
	while (p != NULL) {
		struct dm_api_feed_poll *next = p->share_next;
		p->querying = false;
		p->share = NULL;
		p->share_next = NULL;
		if (p->ended)
			dm_api_feed_free(p);
		else
			dm_api_feed_deliver(p, reply);
		p = next;
	}
}

static void
dm_api_feed_read(struct dm_api_feed_poll *p)
{
	char cursor[24], limit[16];
	snprintf(cursor, sizeof cursor, "%" PRId64, p->cursor);
	snprintf(limit, sizeof limit, "%d", p->limit);
	const char *params[] = {p->station, cursor, limit};
	p->dirty = false;
	struct dm_station_feed *feed = p->r->d->feed;
	struct dm_station_feed_read *s =
		dm_station_feed_read_find(feed, p->station, p->cursor, p->limit);
	bool first = s == NULL;
	if (first) {
		s = dm_station_feed_read_open(feed, p->station, p->cursor, p->limit);
		if (s == NULL) {
			dm_req_problem(p->r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
			dm_api_feed_end(p);
			return;
		}
	}
	p->querying = true;
	p->share = s;
	p->share_next = s->readers;
	s->readers = p;
	if (!first) {
		p->dirty = s->stale;
		return;
	}
	/* Attached before sending: a pool that fails the query at once calls
	 * back from inside dm_req_pg_query. */
	if (dm_req_pg_query(p->r, "SELECT head, n, doc FROM station_feed_read($1, $2, $3)", 3,
			    params, DM_REQ_PG_WRITE, dm_api_feed_read_done) != 0) {
		dm_station_feed_read_close(feed, s); /* done never runs; p was answered 503 */
		p->querying = false;
		p->share = NULL;
		p->share_next = NULL;
		dm_api_feed_end(p);
	}
}

static void
dm_api_feed_wake_cb(void *arg, enum dm_station_feed_wake why, int64_t head)
{
	struct dm_api_feed_poll *p = arg;
	switch (why) {
	case DM_STATION_FEED_CHANGED:
		if (head == p->cursor) /* a check that found nothing new */
			return;
		dm_station_feed_read_stale(p->r->d->feed, p->station);
		if (p->querying)
			p->dirty = true;
		else
			dm_api_feed_read(p);
		return;
	case DM_STATION_FEED_GONE:
		p->waiter = NULL;
		dm_req_problem(p->r, DM_PROBLEM_CLIENT_CLOSED, "the client went away", NULL);
		dm_api_feed_end(p);
		return;
	case DM_STATION_FEED_CLOSING:
		p->waiter = NULL;
		p->expired = true;
		if (p->querying)
			return; /* its page answers */
		dm_api_feed_reply_empty(p);
		dm_api_feed_end(p);
		return;
	}
}

static bool
dm_api_feed_gone_cb(void *arg)
{
	struct dm_api_feed_poll *p = arg;
	return dm_req_answered(p->r) || dm_req_client_gone(p->r);
}

static void
dm_api_feed_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_api_feed_poll *p = arg;
	(void)fd;
	(void)what;
	p->expired = true;
	if (p->querying)
		return; /* its page answers, empty or not */
	dm_api_feed_reply_empty(p);
	dm_api_feed_end(p);
}

/* cursor, wait and limit into p; -1 after answering 422 naming each bad one. */
static int
dm_api_feed_params(struct dm_req *r, struct dm_api_feed_poll *p)
{
	const char *cursor = dm_req_query(r, "cursor"), *wait = dm_req_query(r, "wait"),
		   *limit = dm_req_query(r, "limit");
	int64_t v;
	json_t *errors = json_array();
	char bad[64] = "";
	p->cursor = 0;
	p->wait_s = 0;
	p->limit = DM_API_FEED_LIMIT_DEFAULT;
	if (cursor != NULL && !dm_api_feed_parse_uint(cursor, 18, &p->cursor)) {
		dm_field_errors_add(errors, "cursor",
				    "must be a non-negative integer (a change's seq)");
		strcat(bad, " cursor");
	}
	if (wait != NULL) {
		if (dm_api_feed_parse_uint(wait, 3, &v) && v <= DM_API_FEED_WAIT_MAX_S) {
			p->wait_s = (int)v;
		} else {
			dm_field_errors_add(errors, "wait", "must be whole seconds from 0 to 60");
			strcat(bad, " wait");
		}
	}
	if (limit != NULL) {
		if (dm_api_feed_parse_uint(limit, 4, &v) && v >= 1 && v <= DM_API_FEED_LIMIT_MAX) {
			p->limit = (int)v;
		} else {
			dm_field_errors_add(errors, "limit", "must be an integer from 1 to 500");
			strcat(bad, " limit");
		}
	}
	if (json_array_size(errors) == 0) {
		json_decref(errors);
		return 0;
	}
	char detail[96];
	snprintf(detail, sizeof detail, "invalid query parameters:%s", bad);
	dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail, json_pack("{s:o}", "errors", errors));
	return -1;
}

static void
dm_api_feed_get(struct dm_req *r)
{
	struct dm_api_feed_poll *p = calloc(1, sizeof *p);
	if (p == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	if (dm_api_feed_params(r, p) != 0) {
		free(p);
		return;
	}
	if (strlen(r->params[0]) >= sizeof p->station) {
		free(p);
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such station", NULL);
		return;
	}
	snprintf(p->station, sizeof p->station, "%s", r->params[0]);
	p->r = r;
	dm_req_ref(r, "feed_poll");
	r->handler_ctx = p;
	if (p->wait_s > 0) {
		/* The wait is the point: the request's deadline starts after it. */
		dm_req_extend_deadline(r, p->wait_s * 1000L + r->cfg->cfg->request_timeout_ms);
		struct timeval tv = {p->wait_s, 0};
		p->timer = evtimer_new(r->d->base, dm_api_feed_expire_cb, p);
		/* Joined before the first read: a change committed during it wakes
		 * the poll (dirty), it is not lost between the read and the wait. */
		p->waiter = p->timer != NULL ? dm_station_feed_join(r->d->feed, p->station,
								    dm_api_feed_wake_cb,
								    dm_api_feed_gone_cb, p)
					     : NULL;
		if (p->waiter == NULL || evtimer_add(p->timer, &tv) != 0) {
			dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
			dm_api_feed_end(p);
			return;
		}
	}
	dm_api_feed_read(p);
}

static const struct dm_route dm_api_feed_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}/feed",
	 .handler = dm_api_feed_get,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(STATION),
	 .scope_param = 1},
};

const struct dm_route_table dm_api_feed_table = {
	dm_api_feed_routes, sizeof dm_api_feed_routes / sizeof dm_api_feed_routes[0]};
