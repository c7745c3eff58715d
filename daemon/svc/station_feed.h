/* The station feed's wake-ups: which long polls wait on which station, and
 * when to wake them. One dedicated PostgreSQL connection (not from the
 * pool) LISTENs on channel station_feed, whose payload is a station id
 * (station_feed_add notifies at commit); a periodic check reads the heads of
 * every station with waiters through the pool, as the safety net for a
 * notification lost while the listener was down. A waiting poll holds no
 * PostgreSQL connection: only this one listener and, when woken, one pooled
 * query to read its page. Loop thread only. */
#ifndef DM_STATION_FEED_H
#define DM_STATION_FEED_H

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdint.h>

struct dm_daemon;
struct dm_station_feed;
struct dm_station_feed_waiter;

/* Every this often the check reads the heads of the stations with waiters
 * and sweeps out waiters whose client has gone. */
#define DM_STATION_FEED_CHECK_MS 2000
#define DM_STATION_FEED_ID_MAX 128 /* a station id's bytes, NUL included */

enum dm_station_feed_wake {
	DM_STATION_FEED_CHANGED, /* the station's feed may have moved: read it (the
				  * waiter stays registered) */
	DM_STATION_FEED_GONE,    /* the waiter's gone_fn said so: it has been removed */
	DM_STATION_FEED_CLOSING, /* draining or shutting down: it has been removed */
};

/* A waiter's wake-up. head is the station's last number when a check read
 * it, or -1 when a notification woke it (number unknown). After GONE or
 * CLOSING the waiter is freed: never pass it to dm_station_feed_leave. The
 * callback may call dm_station_feed_leave on its own waiter (not another). */
typedef void dm_station_feed_wake_fn(void *arg, enum dm_station_feed_wake why, int64_t head);

/* Whether the waiter's client has gone (asked at each check). */
typedef bool dm_station_feed_gone_fn(void *arg);

/* The wake-up service of d: starts the listener in the background (it
 * reconnects with [postgres] reconnect_min_ms..reconnect_max_ms backoff)
 * and the periodic check. NULL on OOM. */
struct dm_station_feed *dm_station_feed_new(struct dm_daemon *d);

/* Register a waiter on station (copied; at most DM_STATION_FEED_ID_MAX - 1
 * bytes) until dm_station_feed_leave or a GONE/CLOSING wake. arg is
 * borrowed. Returns NULL on OOM or a station id too long. */
struct dm_station_feed_waiter *dm_station_feed_join(struct dm_station_feed *f, const char *station,
						    dm_station_feed_wake_fn *wake,
						    dm_station_feed_gone_fn *gone, void *arg);

/* Remove and free w (registered, not yet woken GONE or CLOSING). */
void dm_station_feed_leave(struct dm_station_feed *f, struct dm_station_feed_waiter *w);

/* The number of CHANGED walks begun so far: a wake-up delivered in walk n
 * reports a change that may be missing from a read sent before walk n
 * began (epoch < n), and is in every read sent after. */
uint64_t dm_station_feed_epoch(const struct dm_station_feed *f);

/* Wake every waiter CLOSING (SIGTERM: answer the long polls now). */
void dm_station_feed_drain(struct dm_station_feed *f);

/* One page read in flight for GET /v1/stations/{id}/feed (api/feed.c),
 * shared by every poll that wants the same page (station, cursor, limit).
 * The reads in flight are kept by the feed service, next to the waiters
 * they answer, so that they have one owner (no file-static list). */
struct dm_station_feed_read {
	struct dm_station_feed_read *next; /* the service's list */
	const char *station; /* borrowed: the opener keeps it until the close */
	int64_t cursor;
	int limit;
	uint64_t epoch;      /* dm_station_feed_epoch when opened */
	bool stale;          /* a wake-up of its station came after it was opened */
	void *readers;       /* the opener's (api/feed.c: its polls) */
};

/* The read in flight of that page, or NULL. */
struct dm_station_feed_read *dm_station_feed_read_find(struct dm_station_feed *f,
						       const char *station, int64_t cursor,
						       int limit);

/* A new read in flight of that page (station borrowed), at the current
 * epoch. NULL on OOM. */
struct dm_station_feed_read *dm_station_feed_read_open(struct dm_station_feed *f,
						       const char *station, int64_t cursor,
						       int limit);

/* Take rd out of the reads in flight and free it. */
void dm_station_feed_read_close(struct dm_station_feed *f, struct dm_station_feed_read *rd);

/* A waiter of station was woken: the reads of that station opened before
 * this wake-up's walk may miss the change (stale). */
void dm_station_feed_read_stale(struct dm_station_feed *f, const char *station);

/* Append the feed's gauges and counters in Prometheus text format. */
void dm_station_feed_metrics_render(const struct dm_station_feed *f, struct evbuffer *out);

/* Wake the remaining waiters CLOSING, close the listener and free f. Call
 * after the pool is freed (a check in flight calls back into f). NULL is a
 * no-op. */
void dm_station_feed_free(struct dm_station_feed *f);

#endif
