/* Station capacity counters in Redis (see counters.h for the contract). Owns
 * the Lua scripts, the rebuild/reconcile timer and the rebuild lock shared
 * by all daemons on the same Redis. Keys:
 *   dispatchd:cap:st:<station> hash counter key ("20261122-S0900") -> booked
 *   dispatchd:cap:ready       set once the hashes mirror PostgreSQL
 *   dispatchd:cap:rebuilding  the lock of the daemon rebuilding them (10 s) */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/io/rds.h"
#include "daemon/svc/counters.h"
#include "warehouse/civil.h"

#define DM_COUNTERS_PREFIX "dispatchd:cap:st:"
#define DM_COUNTERS_READY "dispatchd:cap:ready"
#define DM_COUNTERS_LOCK "dispatchd:cap:rebuilding"
#define DM_COUNTERS_TICK_MS 500
#define DM_COUNTERS_RECONCILE_S 30
#define DM_COUNTERS_KEY_MAX (sizeof DM_COUNTERS_PREFIX + DM_AREAS_ID_MAX)

/* Counts of a station, or nil while not ready. */
static const char dm_counters_read_lua[] =
	"if redis.call('EXISTS', KEYS[2]) == 0 then return false end "
	"return redis.call('HGETALL', KEYS[1])";

/* All counters below capacity? Then count one more on each. -1: not ready,
 * 0: counted, k: the k-th counter (1-based) is full. */
static const char dm_counters_gate_lua[] =
	"if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end "
	"for i = 1, #ARGV, 2 do "
	"  if tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') >= tonumber(ARGV[i + 1]) "
	"  then return (i + 1) / 2 end "
	"end "
	"for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end "
	"return 0";

static const char dm_counters_release_lua[] =
	"if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end "
	"for i = 1, #ARGV do "
	"  if tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') > 0 then "
	"    redis.call('HINCRBY', KEYS[1], ARGV[i], -1) end "
	"end return 0";

/* KEYS = ready marker, lock, then one hash per station; ARGV = token, then per
 * station: n, then n field/value pairs. Rewrites every hash whole from
 * PostgreSQL's counts and marks them ready; only while holding the lock.
 * A booking in flight (counted by the gate, not yet committed) is erased by
 * it: a count briefly below PostgreSQL's is harmless (PostgreSQL refuses
 * the overflow and the order moves on), whereas a count left above it
 * would hide free places for good, so the counts are always replaced. */
static const char dm_counters_rebuild_lua[] =
	"if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end "
	"local a = 2 "
	"for k = 3, #KEYS do "
	"  redis.call('DEL', KEYS[k]) "
	"  local n = tonumber(ARGV[a]) a = a + 1 "
	"  for i = 1, n do redis.call('HSET', KEYS[k], ARGV[a], ARGV[a + 1]) a = a + 2 end "
	"end "
	"redis.call('SET', KEYS[1], '1') redis.call('DEL', KEYS[2]) return 1";

struct dm_counters {
	struct event *tick;
	double last_reconcile_s;
	bool busy;       /* a check or rebuild is in flight */
	bool after_loss; /* this rebuild follows a loss of the counts in Redis */
	char token[48];
	struct dm_counters_counts counts; /* the last read's result, borrowed by its done */
};

static void
dm_counters_key(char *buf, size_t cap, const char *station)
{
	snprintf(buf, cap, DM_COUNTERS_PREFIX "%s", station);
}

/* ---- read ---- */

struct dm_counters_read_op {
	struct dm_counters *st;
	dm_counters_read_fn *done;
	void *arg;
};

static void
dm_counters_read_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_counters_read_op *op = arg;
	(void)error;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		op->done(NULL, op->arg); /* also at shutdown, when st may be gone */
		free(op);
		return;
	}
	/* Loop thread only, and done runs before the next reply: one buffer
	 * owned by the service serves every read. */
	struct dm_counters_counts *out = &op->st->counts;
	out->n = 0;
	out->ready = reply->type == REDIS_REPLY_ARRAY;
	for (size_t i = 0; out->ready && i + 1 < reply->elements; i += 2) {
		const redisReply *f = reply->element[i], *v = reply->element[i + 1];
		struct wh_capacity_count *c = &out->counts[out->n];
		struct wh_err err;
		if (out->n == DM_COUNTERS_MAX_COUNTS || f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING ||
		    wh_capacity_key_parse(f->str, f->len, &c->ref, &err) != WH_OK)
			continue;
		long booked = strtol(v->str, NULL, 10);
		c->booked = booked > 0 ? (uint32_t)booked : 0;
		out->n++;
	}
	op->done(out, op->arg);
	free(op);
}

int
dm_counters_read(struct dm_daemon *d, const char *station, dm_counters_read_fn *done, void *arg)
{
	char key[DM_COUNTERS_KEY_MAX];
	if (d->slots == NULL)
		return -1; /* not started yet: the caller goes on without counts */
	struct dm_counters_read_op *op = malloc(sizeof *op);
	if (op == NULL)
		return -1;
	op->st = d->slots;
	op->done = done;
	op->arg = arg;
	dm_counters_key(key, sizeof key, station);
	const char *argv[] = {"EVAL", dm_counters_read_lua, "2", key, DM_COUNTERS_READY};
	if (dm_rds_command(d->rds, 5, argv, NULL, dm_counters_read_cb, op) != 0) {
		free(op);
		return -1;
	}
	return 0;
}

/* ---- gate and release ---- */

struct dm_counters_gate_op {
	dm_counters_gate_fn *done;
	void *arg;
};

static void
dm_counters_gate_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_counters_gate_op *op = arg;
	(void)error;
	if (reply == NULL)
		op->done(DM_COUNTERS_GATE_UNKNOWN, 0, op->arg);
	else if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0)
		op->done(DM_COUNTERS_GATE_SKIPPED, 0, op->arg);
	else if (reply->integer == 0)
		op->done(DM_COUNTERS_GATE_OK, 0, op->arg);
	else
		op->done(DM_COUNTERS_GATE_FULL, (size_t)reply->integer - 1, op->arg);
	free(op);
}

/* Build EVAL argv for a script over one station's counters; with caps, each
 * field is followed by its capacity. Returns argc; strings live in bufs. */
static int
dm_counters_argv(const char *script, const char *station, const struct wh_capacity_counter *counters,
	      size_t n, bool caps, const char **argv, char (*bufs)[WH_CAPACITY_KEY_LEN],
	      char *key, size_t keycap)
{
	int argc = 0;
	dm_counters_key(key, keycap, station);
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = "2";
	argv[argc++] = key;
	argv[argc++] = DM_COUNTERS_READY;
	for (size_t i = 0; i < n; i++) {
		wh_capacity_key(&counters[i].ref, bufs[2 * i], WH_CAPACITY_KEY_LEN);
		argv[argc++] = bufs[2 * i];
		if (caps) {
			snprintf(bufs[2 * i + 1], WH_CAPACITY_KEY_LEN, "%u", counters[i].capacity);
			argv[argc++] = bufs[2 * i + 1];
		}
	}
	return argc;
}

#define DM_COUNTERS_MAX_GATE 4

void
dm_counters_gate(struct dm_daemon *d, const char *station,
	      const struct wh_capacity_counter *counters, size_t n, dm_counters_gate_fn *done,
	      void *arg)
{
	char bufs[2 * DM_COUNTERS_MAX_GATE][WH_CAPACITY_KEY_LEN], key[DM_COUNTERS_KEY_MAX];
	const char *argv[5 + 2 * DM_COUNTERS_MAX_GATE];
	struct dm_counters_gate_op *op = n <= DM_COUNTERS_MAX_GATE ? malloc(sizeof *op) : NULL;
	if (op == NULL) {
		done(DM_COUNTERS_GATE_SKIPPED, 0, arg);
		return;
	}
	op->done = done;
	op->arg = arg;
	int argc = dm_counters_argv(dm_counters_gate_lua, station, counters, n, true, argv, bufs, key,
				 sizeof key);
	if (dm_rds_command(d->rds, argc, argv, NULL, dm_counters_gate_cb, op) != 0) {
		free(op);
		done(DM_COUNTERS_GATE_SKIPPED, 0, arg);
	}
}

static void
dm_counters_ignore_cb(const redisReply *reply, const char *error, void *arg)
{
	(void)arg;
	if (reply == NULL)
		dm_log_debug("redis", "capacity release not applied: %s (the reconcile will fix it)",
			     error);
}

void
dm_counters_release(struct dm_daemon *d, const char *station,
		 const struct wh_capacity_counter *counters, size_t n)
{
	char bufs[2 * DM_COUNTERS_MAX_GATE][WH_CAPACITY_KEY_LEN], key[DM_COUNTERS_KEY_MAX];
	const char *argv[5 + 2 * DM_COUNTERS_MAX_GATE];
	if (n > DM_COUNTERS_MAX_GATE)
		return;
	int argc = dm_counters_argv(dm_counters_release_lua, station, counters, n, false, argv, bufs,
				 key, sizeof key);
	(void)dm_rds_command(d->rds, argc, argv, NULL, dm_counters_ignore_cb, NULL);
}

/* ---- rebuild and reconcile ---- */

static void
dm_counters_rebuild_done_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_daemon *d = arg;
	struct dm_counters *st = d->slots;
	if (st == NULL)
		return;
	st->busy = false;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
		dm_log_warning("redis", "capacity rebuild failed: %s",
			       reply != NULL ? reply->str : error);
	else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
		dm_log_info("redis", "capacity counters rebuilt from postgresql");
		/* Bookings committed while the rebuild read PostgreSQL are not in
		 * it: reconcile once more, soon. */
		if (st->after_loss)
			st->last_reconcile_s = dm_clock_mono_s() - DM_COUNTERS_RECONCILE_S + 2;
		st->after_loss = false;
	}
}

/* First row (rows sorted by station, C collation) whose station is >= id. */
static int
dm_counters_rows_find(const PGresult *res, int rows, const char *id)
{
	int lo = 0, hi = rows;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (strcmp(PQgetvalue(res, mid, 0), id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The stations to rewrite: every station of the areas, then any station
 * only PostgreSQL still counts for. Returns how many were put in out. */
static size_t
dm_counters_stations(const struct dm_areas_snap *geo, const PGresult *res, int rows, const char **out)
{
	size_t n = 0;
	struct dm_areas_place place;
	for (size_t i = 0; i < dm_areas_station_count(geo); i++)
		out[n++] = dm_areas_station_id(geo, i);
	for (int r = 0; r < rows; r++) {
		const char *id = PQgetvalue(res, r, 0);
		if (r > 0 && strcmp(id, PQgetvalue(res, r - 1, 0)) == 0)
			continue;
		if (dm_areas_station(geo, id, &place) != DM_AREAS_OK)
			out[n++] = id;
	}
	return n;
}

/* PostgreSQL's counts are in: write them to Redis in one script. */
static void
dm_counters_rows_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_daemon *d = arg;
	struct dm_counters *st = d->slots;
	if (st == NULL)
		return;
	st->busy = false;
	if (!reply->ok) {
		if (strcmp(reply->sqlstate, "42P01") == 0)
			dm_log_debug("pg", "no capacity_counters table yet: run dispatchctl migrate");
		else
			dm_log_warning("pg", "cannot read capacity counters: %s", reply->error);
		return;
	}
	const PGresult *res = reply->res;
	int rows = PQntuples(res);
	struct dm_areas_snap *geo = dm_areas_current(d);
	size_t maxst = dm_areas_station_count(geo) + (size_t)rows;
	/* argv: EVAL script numkeys marker lock station-keys... token (n pairs...)... */
	size_t maxargv = 6 + 2 * maxst + 2 * (size_t)rows;
	const char **stations = calloc(maxst + 1, sizeof *stations);
	const char **argv = calloc(maxargv, sizeof *argv);
	char (*keys)[DM_COUNTERS_KEY_MAX] = calloc(maxst + 1, sizeof *keys);
	char (*counts)[16] = calloc(maxst + 1, sizeof *counts);
	char nkeys[16];
	int argc = 0;
	if (stations == NULL || argv == NULL || keys == NULL || counts == NULL)
		goto out;
	size_t nst = dm_counters_stations(geo, res, rows, stations);
	snprintf(nkeys, sizeof nkeys, "%zu", nst + 2);
	argv[argc++] = "EVAL";
	argv[argc++] = dm_counters_rebuild_lua;
	argv[argc++] = nkeys;
	argv[argc++] = DM_COUNTERS_READY;
	argv[argc++] = DM_COUNTERS_LOCK;
	for (size_t i = 0; i < nst; i++) {
		dm_counters_key(keys[i], sizeof keys[i], stations[i]);
		argv[argc++] = keys[i];
	}
	argv[argc++] = st->token;
	for (size_t i = 0; i < nst; i++) {
		int r0 = dm_counters_rows_find(res, rows, stations[i]), r = r0;
		size_t count_at = (size_t)argc++;
		for (; r < rows && strcmp(PQgetvalue(res, r, 0), stations[i]) == 0; r++) {
			argv[argc++] = PQgetvalue(res, r, 1);
			argv[argc++] = PQgetvalue(res, r, 2);
		}
		snprintf(counts[i], sizeof counts[i], "%d", r - r0);
		argv[count_at] = counts[i];
	}
	st->busy = true;
	if (dm_rds_command(d->rds, argc, argv, NULL, dm_counters_rebuild_done_cb, d) != 0)
		st->busy = false;
out:
	dm_areas_unref(geo);
	free(stations);
	free(argv);
	free(keys);
	free(counts);
}

/* We hold the lock (or not): read PostgreSQL's counts from yesterday on. */
static void
dm_counters_lock_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_daemon *d = arg;
	struct dm_counters *st = d->slots;
	(void)error;
	if (st == NULL)
		return;
	if (reply == NULL || reply->type != REDIS_REPLY_STATUS) { /* another daemon rebuilds */
		st->busy = false;
		return;
	}
	int64_t utc_s;
	int32_t off_s;
	char from[16];
	int64_t y;
	int m, dd;
	dm_clock_now(&utc_s, &off_s);
	wh_civil_ymd_from_days(wh_civil_from_utc(utc_s, off_s) / 86400 - 1, &y, &m, &dd);
	snprintf(from, sizeof from, "%04lld%02d%02d", (long long)y, m, dd);
	const char *params[] = {from};
	if (dm_pg_query(d->pg,
			"SELECT station_id, counter_key, booked FROM capacity_counters "
			"WHERE counter_key >= $1 ORDER BY station_id COLLATE \"C\", counter_key",
			1, params, dm_counters_rows_cb, d) != 0)
		st->busy = false;
}

static void
dm_counters_rebuild(struct dm_daemon *d)
{
	struct dm_counters *st = d->slots;
	const char *argv[] = {"SET", DM_COUNTERS_LOCK, st->token, "NX", "PX", "10000"};
	st->busy = true;
	st->last_reconcile_s = dm_clock_mono_s();
	if (dm_rds_command(d->rds, 6, argv, NULL, dm_counters_lock_cb, d) != 0)
		st->busy = false;
}

static void
dm_counters_ready_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_daemon *d = arg;
	struct dm_counters *st = d->slots;
	(void)error;
	if (st == NULL)
		return;
	st->busy = false;
	bool ready = reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
	if (reply != NULL && !ready) {
		dm_log_info("redis", "capacity counters missing in redis; rebuilding from postgresql");
		st->after_loss = true;
		dm_counters_rebuild(d);
	} else if (ready && dm_clock_mono_s() - st->last_reconcile_s > DM_COUNTERS_RECONCILE_S) {
		dm_counters_rebuild(d);
	}
}

static void
dm_counters_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_daemon *d = arg;
	struct dm_counters *st = d->slots;
	(void)fd;
	(void)what;
	if (st->busy || !dm_rds_up(d->rds) || !dm_pg_up(d->pg))
		return;
	const char *argv[] = {"EXISTS", DM_COUNTERS_READY};
	st->busy = true;
	if (dm_rds_command(d->rds, 2, argv, NULL, dm_counters_ready_cb, d) != 0)
		st->busy = false;
}

int
dm_counters_start(struct dm_daemon *d)
{
	struct dm_counters *st = calloc(1, sizeof *st);
	if (st == NULL)
		return -1;
	snprintf(st->token, sizeof st->token, "%d-%llx", (int)getpid(),
		 (unsigned long long)(dm_clock_mono_s() * 1e6));
	st->last_reconcile_s = dm_clock_mono_s();
	st->tick = event_new(d->base, -1, EV_PERSIST, dm_counters_tick_cb, d);
	struct timeval tv = {0, DM_COUNTERS_TICK_MS * 1000};
	if (st->tick == NULL || event_add(st->tick, &tv) != 0) {
		if (st->tick != NULL)
			event_free(st->tick);
		free(st);
		return -1;
	}
	d->slots = st;
	return 0;
}

void
dm_counters_stop(struct dm_daemon *d)
{
	struct dm_counters *st = d->slots;
	if (st == NULL)
		return;
	d->slots = NULL;
	event_free(st->tick);
	free(st);
}
