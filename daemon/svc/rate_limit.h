/* Rate limits per caller and route class, holding across daemon instances.
 *
 * Each caller (a token id, or the client address of an anonymous request)
 * may make at most N requests of a class per wall-clock second. The count
 * is kept locally and pushed to Redis every DM_RATE_LIMIT_SYNC_MS
 * (INCRBY on a key per caller, class and second, shared by every daemon),
 * whose answer tells this daemon what the others counted. So the limit
 * holds across instances without a Redis round trip per request (it can
 * overshoot by what the other instances admit within one sync interval),
 * and while Redis is down each daemon still enforces it alone. */
#ifndef DM_RATE_LIMIT_H
#define DM_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct dm_daemon;
struct dm_rate_limit;

#define DM_RATE_LIMIT_SYNC_MS 100
#define DM_RATE_LIMIT_MAX_CALLERS 65536 /* tracked at once; beyond, requests pass (logged) */

/* Route classes, each with its own per-second limit in [rate_limit]. */
enum dm_rate_class {
	DM_RATE_PUBLIC, /* requests without a token, per client address */
	DM_RATE_READ,   /* GET/HEAD with a token */
	DM_RATE_WRITE,  /* other methods with a token */
	DM_RATE_PLAN,   /* route planning (expensive) */
	DM_RATE_NCLASSES
};

/* A limiter for d, syncing through d->rds. Starts its sync timer on d->base.
 * NULL on OOM. Free it after d->rds (pending syncs complete into it). */
struct dm_rate_limit *dm_rate_limit_new(struct dm_daemon *d);

/* Count one request of caller who (copied; at most 63 bytes used) in cls
 * against limit_per_s (0 = unlimited), in the wall-clock second now_s.
 * True when it may proceed; false when over the limit, with *retry_after_s
 * set to the seconds until the next window. Loop thread only. */
bool dm_rate_limit_allow(struct dm_rate_limit *rl, enum dm_rate_class cls, const char *who,
			 int limit_per_s, int64_t now_s, int *retry_after_s);

/* Requests refused so far (for /metrics). */
uint64_t dm_rate_limit_refused_total(const struct dm_rate_limit *rl);

/* Stop the timer and free. NULL is a no-op. */
void dm_rate_limit_free(struct dm_rate_limit *rl);

#endif
