/* Couriers' live positions (POST /v1/couriers/me/locations, docs/api.md and
 * docs/architecture.md "Live positions"). Each batch of pings costs one
 * Redis round trip: a Lua script (SCRIPT LOAD once, EVALSHA, EVAL again on
 * NOSCRIPT) keeps the newest ping by device time in the hash
 * dispatchd:courier:{id}:pos (t = device ms, lon, lat, acc, seen = server
 * ms) and in the geo set dispatchd:couriers:live; an older ping never
 * replaces a newer one. PostgreSQL gets the pings without a query per
 * request: they wait in this service's buffer, flushed once a second in one
 * statement (courier_positions_flush: courier_positions when newer by
 * device time, and the sampled trail, one point per courier per 30 s of
 * device time), and in the same round trip the ETAs of started routes move
 * with the new positions (courier_eta_refresh: eta_changed events beyond
 * [dispatch] eta_change_threshold_s). Redis down: the pings still reach
 * PostgreSQL.
 *
 * One per daemon (struct dm_daemon's pings), loop thread only. */
#ifndef DM_COURIER_PINGS_H
#define DM_COURIER_PINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dm_daemon;
struct dm_courier_pings;

#define DM_COURIER_PINGS_BATCH_MAX 100 /* pings per request */
#define DM_COURIER_PINGS_ID_MAX 64     /* courier id bytes, with the NUL */
#define DM_COURIER_PINGS_TRAIL_S 30    /* trail: one point per courier per this */

/* One ping as the handheld sent it. */
struct dm_courier_ping {
	int64_t t_ms;      /* device time, Unix milliseconds */
	double lon, lat;   /* WGS84 degrees */
	double acc_m;      /* accuracy radius, metres (>= 0) */
	bool has_speed, has_heading;
	double speed_mps;  /* when has_speed */
	double heading_deg; /* when has_heading: 0..360 */
};

/* Completion of dm_courier_pings_record: previous_t_ms is the device time of
 * the live position before this batch (-1: none), or live is false when
 * Redis did not answer (down, timeout: the pings still reach PostgreSQL). */
typedef void dm_courier_pings_done_fn(bool live, int64_t previous_t_ms, void *arg);

/* The service on d (its flush timer starts at once). NULL when out of memory. */
struct dm_courier_pings *dm_courier_pings_new(struct dm_daemon *d);

/* The daemon drains (SIGTERM): flush the buffered pings now rather than at
 * the next tick, and again while more come in. Returns true while a flush
 * is in flight (the drain waits for it); false once nothing is buffered or
 * a drain flush failed (PostgreSQL down: what is left is logged at free).
 * NULL is a no-op (false). Call at each drain step. */
bool dm_courier_pings_drain(struct dm_courier_pings *cp);

/* Stop the timer and free the buffer (pings not flushed yet are lost: what
 * came after the drain's last flush, or all when PostgreSQL was down; the
 * live positions are in Redis). NULL is a no-op. Call after the PostgreSQL
 * pool is freed (no flush is then in flight). */
void dm_courier_pings_free(struct dm_courier_pings *cp);

/* Record courier's batch of n (1..DM_COURIER_PINGS_BATCH_MAX) pings received
 * at now_ms: buffered for PostgreSQL at once, and the newest sent to Redis.
 * done is called exactly once (at once when Redis is down). */
void dm_courier_pings_record(struct dm_daemon *d, const char *courier,
			     const struct dm_courier_ping *pings, size_t n, int64_t now_ms,
			     dm_courier_pings_done_fn *done, void *arg);

#endif
