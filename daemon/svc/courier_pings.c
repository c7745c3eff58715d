/* Couriers' live positions (see courier_pings.h for the contract). Owns the
 * Lua script and its SHA, the buffer of pings waiting for PostgreSQL and the
 * once-a-second flush timer (which also refreshes the ETAs of started
 * routes from the new positions: courier_eta_refresh). Keys:
 *   dispatchd:courier:<id>:pos  hash t (device ms), lon, lat, acc, seen
 *                               (server ms); expires a day after the last ping
 *   dispatchd:couriers:live     geo set of the couriers' live positions
 * The buffer is an open-addressing table keyed by (courier, 30 s bucket of
 * device time): each entry keeps the first ping of its bucket that arrived
 * (the trail sample) and the newest by device time (the position). */
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/reload.h"
#include "daemon/base/hash.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/io/rds.h"
#include "daemon/svc/courier_pings.h"

#define DM_COURIER_PINGS_LIVE_KEY "dispatchd:couriers:live"
#define DM_COURIER_PINGS_FLUSH_US 1000000
#define DM_COURIER_PINGS_TABLE_MIN 1024
#define DM_COURIER_PINGS_TABLE_MAX (1u << 18) /* entries (~50 MB); beyond, pings are dropped */

/* KEYS = the courier's hash, the geo set; ARGV = t, lon, lat, acc, seen,
 * courier id. Keeps the newest ping by device time; returns the device time
 * of the live position before (-1: none). GEO takes latitudes up to 85.05. */
static const char dm_courier_pings_lua[] =
	"local prev = tonumber(redis.call('HGET', KEYS[1], 't') or '-1') "
	"if tonumber(ARGV[1]) > prev then "
	"  redis.call('HSET', KEYS[1], 't', ARGV[1], 'lon', ARGV[2], 'lat', ARGV[3], "
	"             'acc', ARGV[4], 'seen', ARGV[5]) "
	"  if math.abs(tonumber(ARGV[3])) <= 85.05 then "
	"    redis.call('GEOADD', KEYS[2], ARGV[2], ARGV[3], ARGV[6]) "
	"  end "
	"else redis.call('HSET', KEYS[1], 'seen', ARGV[5]) end "
	"redis.call('EXPIRE', KEYS[1], 86400) "
	"return prev";

struct dm_courier_pings_entry {
	char courier[DM_COURIER_PINGS_ID_MAX]; /* "" for a free slot */
	int64_t bucket;
	struct dm_courier_ping first;  /* the trail sample */
	struct dm_courier_ping newest; /* the newest by device time */
};

struct dm_courier_pings_table {
	struct dm_courier_pings_entry *slots;
	size_t cap, n; /* cap: a power of two */
};

struct dm_courier_pings {
	struct dm_daemon *d;
	struct event *tick;
	struct dm_courier_pings_table buf;      /* waiting for the next flush */
	struct dm_courier_pings_table inflight; /* sent, not answered yet */
	bool flushing;
	bool draining;      /* the daemon stops: flush what is buffered at once */
	bool drain_failed;  /* a drain flush failed: the rest is left to the log */
	char sha[48];       /* the script's SHA1, "" until SCRIPT LOAD answered */
	bool loading;       /* a SCRIPT LOAD is in flight */
	long dropped_total; /* pings dropped because the buffer was full */
};

/* ---- the buffer ---- */

static int
dm_courier_pings_table_grow(struct dm_courier_pings_table *t)
{
	size_t cap = t->cap == 0 ? DM_COURIER_PINGS_TABLE_MIN : t->cap * 2;
	struct dm_courier_pings_entry *slots = calloc(cap, sizeof *slots);
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		const struct dm_courier_pings_entry *e = &t->slots[i];
		if (e->courier[0] == '\0')
			continue;
		size_t j = (size_t)(dm_hash_str(e->courier, (uint64_t)e->bucket)) & (cap - 1);
		while (slots[j].courier[0] != '\0')
			j = (j + 1) & (cap - 1);
		slots[j] = *e;
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

static void
dm_courier_pings_table_clear(struct dm_courier_pings_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

static int64_t
dm_courier_pings_bucket(int64_t t_ms)
{
	int64_t s = t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000);
	int64_t b = DM_COURIER_PINGS_TRAIL_S;
	return s >= 0 ? s / b : -((-s + b - 1) / b);
}

/* Add one ping of courier to the table; false when it is full. */
static bool
dm_courier_pings_table_add(struct dm_courier_pings_table *t, const char *courier,
			   const struct dm_courier_ping *p)
{
	int64_t bucket = dm_courier_pings_bucket(p->t_ms);
	if ((t->n + 1) * 4 > t->cap * 3) {
		if (t->cap >= DM_COURIER_PINGS_TABLE_MAX || dm_courier_pings_table_grow(t) != 0)
			return false;
	}
	size_t j = (size_t)dm_hash_str(courier, (uint64_t)bucket) & (t->cap - 1);
	while (t->slots[j].courier[0] != '\0') {
		struct dm_courier_pings_entry *e = &t->slots[j];
		if (e->bucket == bucket && strcmp(e->courier, courier) == 0) {
			if (p->t_ms > e->newest.t_ms)
				e->newest = *p;
			return true;
		}
		j = (j + 1) & (t->cap - 1);
	}
	struct dm_courier_pings_entry *e = &t->slots[j];
	snprintf(e->courier, sizeof e->courier, "%s", courier);
	e->bucket = bucket;
	e->first = *p;
	e->newest = *p;
	t->n++;
	return true;
}

/* ---- the flush ---- */

struct dm_courier_pings_text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void
dm_courier_pings_append(struct dm_courier_pings_text *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
dm_courier_pings_append(struct dm_courier_pings_text *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (b->oom)
			return;
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int k = vsnprintf(b->s != NULL ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)k < room) {
			b->len += (size_t)k;
			return;
		}
		size_t cap = b->cap == 0 ? 4096 : b->cap * 2;
		while (cap < b->len + (size_t)k + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (s == NULL) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* One ping as a JSON object's members (after "c"). */
static void
dm_courier_pings_append_ping(struct dm_courier_pings_text *b, const struct dm_courier_ping *p)
{
	dm_courier_pings_append(b, ",\"t\":%" PRId64 ",\"lon\":%.7f,\"lat\":%.7f,\"acc\":%.1f",
				p->t_ms, p->lon, p->lat, p->acc_m);
	if (p->has_speed)
		dm_courier_pings_append(b, ",\"spd\":%.2f", p->speed_mps);
	if (p->has_heading)
		dm_courier_pings_append(b, ",\"hdg\":%.1f", p->heading_deg);
}

static void
dm_courier_pings_flushed_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_courier_pings *cp = arg;
	cp->flushing = false;
	if (!reply->ok) {
		/* Put the pings back: the next flush sends them again (their
		 * upserts are idempotent). */
		dm_log_warning("pings", "position flush failed: %s", reply->error);
		cp->drain_failed = cp->draining;
		for (size_t i = 0; i < cp->inflight.cap; i++) {
			const struct dm_courier_pings_entry *e = &cp->inflight.slots[i];
			if (e->courier[0] == '\0')
				continue;
			if (!dm_courier_pings_table_add(&cp->buf, e->courier, &e->first) ||
			    !dm_courier_pings_table_add(&cp->buf, e->courier, &e->newest))
				cp->dropped_total++;
		}
	}
	dm_courier_pings_table_clear(&cp->inflight);
}

/* Send the buffer to PostgreSQL (one flush at a time). */
static void
dm_courier_pings_flush(struct dm_courier_pings *cp)
{
	struct dm_courier_pings_text pos = {0}, trail = {0};
	if (cp->flushing || cp->buf.n == 0)
		return;
	dm_courier_pings_append(&pos, "[");
	dm_courier_pings_append(&trail, "[");
	bool first = true;
	for (size_t i = 0; i < cp->buf.cap; i++) {
		const struct dm_courier_pings_entry *e = &cp->buf.slots[i];
		if (e->courier[0] == '\0')
			continue;
		dm_courier_pings_append(&pos, "%s{\"c\":\"%s\"", first ? "" : ",", e->courier);
		dm_courier_pings_append_ping(&pos, &e->newest);
		dm_courier_pings_append(&pos, "}");
		dm_courier_pings_append(&trail, "%s{\"c\":\"%s\",\"b\":%" PRId64, first ? "" : ",",
					e->courier, e->bucket);
		dm_courier_pings_append_ping(&trail, &e->first);
		dm_courier_pings_append(&trail, "}");
		first = false;
	}
	dm_courier_pings_append(&pos, "]");
	dm_courier_pings_append(&trail, "]");
	if (pos.oom || trail.oom) {
		dm_log_error("pings", "out of memory building the position flush");
		goto out;
	}
	/* The ETAs follow the positions in the same round trip (the threshold
	 * is read at each flush: a reload applies at the next). */
	int64_t now_ms;
	int32_t offset_s;
	char now[32], threshold[16];
	dm_clock_now_ms(&now_ms, &offset_s);
	snprintf(now, sizeof now, "%" PRId64, now_ms);
	snprintf(threshold, sizeof threshold, "%d",
		 cp->d->cfg->cfg->dispatch_eta_change_threshold_s);
	const char *params[] = {pos.s, trail.s, now, threshold};
	if (dm_pg_query(cp->d->pg,
			"SELECT courier_positions_flush($1::jsonb, $2::jsonb), "
			"courier_eta_refresh($1::jsonb, to_timestamp($3::float8 / 1000), "
			"$4::integer)",
			4, params, dm_courier_pings_flushed_cb, cp) != 0)
		goto out; /* PostgreSQL down: kept for the next tick */
	cp->flushing = true;
	cp->inflight = cp->buf;
	cp->buf = (struct dm_courier_pings_table){0};
out:
	free(pos.s);
	free(trail.s);
}

static void
dm_courier_pings_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dm_courier_pings_flush(arg);
}

bool
dm_courier_pings_drain(struct dm_courier_pings *cp)
{
	if (cp == NULL)
		return false;
	cp->draining = true;
	if (!cp->flushing && cp->buf.n > 0 && !cp->drain_failed) {
		dm_courier_pings_flush(cp);
		if (!cp->flushing)
			cp->drain_failed = true; /* PostgreSQL down: nothing to wait for */
	}
	return cp->flushing;
}

/* ---- Redis ---- */

struct dm_courier_pings_op {
	struct dm_daemon *d;
	dm_courier_pings_done_fn *done;
	void *arg;
	bool retried;
	char key[sizeof "dispatchd:courier::pos" + DM_COURIER_PINGS_ID_MAX];
	char courier[DM_COURIER_PINGS_ID_MAX];
	char t[24], lon[32], lat[32], acc[32], seen[24];
};

static void dm_courier_pings_live_cb(const redisReply *reply, const char *error, void *arg);

/* Send op's script: by SHA when known (and not retrying), else whole. */
static int
dm_courier_pings_send(struct dm_courier_pings_op *op, bool by_sha)
{
	struct dm_courier_pings *cp = op->d->pings;
	const char *argv[] = {by_sha ? "EVALSHA" : "EVAL", by_sha ? cp->sha : dm_courier_pings_lua,
			      "2", op->key, DM_COURIER_PINGS_LIVE_KEY, op->t, op->lon, op->lat,
			      op->acc, op->seen, op->courier};
	return dm_rds_command(op->d->rds, 11, argv, NULL, dm_courier_pings_live_cb, op);
}

static void
dm_courier_pings_live_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_courier_pings_op *op = arg;
	(void)error;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !op->retried &&
	    strncmp(reply->str, "NOSCRIPT", 8) == 0 && op->d->pings != NULL) {
		/* Redis lost its scripts (restart, SCRIPT FLUSH): EVAL loads the
		 * script again under the same SHA. */
		op->retried = true;
		if (dm_courier_pings_send(op, false) == 0)
			return;
		reply = NULL;
	}
	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
		op->done(true, reply->integer, op->arg);
	else {
		if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
			dm_log_warning("pings", "live position script failed: %s", reply->str);
		op->done(false, -1, op->arg);
	}
	free(op);
}

static void
dm_courier_pings_loaded_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_daemon *d = arg;
	(void)error;
	if (d->pings == NULL)
		return;
	d->pings->loading = false;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING && reply->len < sizeof d->pings->sha)
		snprintf(d->pings->sha, sizeof d->pings->sha, "%s", reply->str);
}

void
dm_courier_pings_record(struct dm_daemon *d, const char *courier,
			const struct dm_courier_ping *pings, size_t n, int64_t now_ms,
			dm_courier_pings_done_fn *done, void *arg)
{
	struct dm_courier_pings *cp = d->pings;
	const struct dm_courier_ping *newest = &pings[0];
	for (size_t i = 0; i < n; i++) {
		if (!dm_courier_pings_table_add(&cp->buf, courier, &pings[i]))
			cp->dropped_total++;
		if (pings[i].t_ms > newest->t_ms)
			newest = &pings[i];
	}
	if (cp->sha[0] == '\0' && !cp->loading) {
		const char *argv[] = {"SCRIPT", "LOAD", dm_courier_pings_lua};
		cp->loading =
			dm_rds_command(d->rds, 3, argv, NULL, dm_courier_pings_loaded_cb, d) == 0;
	}
	struct dm_courier_pings_op *op = calloc(1, sizeof *op);
	if (op == NULL) {
		done(false, -1, arg);
		return;
	}
	op->d = d;
	op->done = done;
	op->arg = arg;
	snprintf(op->key, sizeof op->key, "dispatchd:courier:%s:pos", courier);
	snprintf(op->courier, sizeof op->courier, "%s", courier);
	snprintf(op->t, sizeof op->t, "%" PRId64, newest->t_ms);
	snprintf(op->lon, sizeof op->lon, "%.7f", newest->lon);
	snprintf(op->lat, sizeof op->lat, "%.7f", newest->lat);
	snprintf(op->acc, sizeof op->acc, "%.1f", newest->acc_m);
	snprintf(op->seen, sizeof op->seen, "%" PRId64, now_ms);
	if (dm_courier_pings_send(op, cp->sha[0] != '\0') != 0) {
		free(op);
		done(false, -1, arg); /* Redis down: PostgreSQL still gets them */
	}
}

/* ---- lifetime ---- */

struct dm_courier_pings *
dm_courier_pings_new(struct dm_daemon *d)
{
	struct dm_courier_pings *cp = calloc(1, sizeof *cp);
	if (cp == NULL)
		return NULL;
	cp->d = d;
	cp->tick = event_new(d->base, -1, EV_PERSIST, dm_courier_pings_tick_cb, cp);
	struct timeval tv = {DM_COURIER_PINGS_FLUSH_US / 1000000,
			     DM_COURIER_PINGS_FLUSH_US % 1000000};
	if (cp->tick == NULL || event_add(cp->tick, &tv) != 0) {
		dm_courier_pings_free(cp);
		return NULL;
	}
	return cp;
}

void
dm_courier_pings_free(struct dm_courier_pings *cp)
{
	if (cp == NULL)
		return;
	if (cp->tick != NULL)
		event_free(cp->tick);
	if (cp->buf.n > 0 || cp->dropped_total > 0)
		dm_log_info("pings",
			    "stopping: %zu buffered position samples not flushed, %ld dropped",
			    cp->buf.n, cp->dropped_total);
	dm_courier_pings_table_clear(&cp->buf);
	dm_courier_pings_table_clear(&cp->inflight);
	free(cp);
}
