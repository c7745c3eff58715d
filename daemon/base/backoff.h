/* Capped exponential backoff for reconnecting to a backend (PostgreSQL
 * connections, the Redis link): min, doubling, at most max; and the same
 * with jitter for retrying one job (a webhook delivery) from its attempt
 * count, so that many failing jobs do not retry in lockstep. */
#ifndef DM_BACKOFF_H
#define DM_BACKOFF_H

#include <stdint.h>
#include <sys/time.h>

struct dm_backoff {
	int cur_ms; /* the last delay given; 0 after a success */
};

/* The next delay: min_ms after a success (or the first failure), then
 * doubling up to max_ms. Remembers it in b. */
int dm_backoff_next_ms(struct dm_backoff *b, int min_ms, int max_ms);

/* Forget the failures: the next delay starts again at min_ms. */
void dm_backoff_reset(struct dm_backoff *b);

/* The delay before retry number attempt (1: the first retry) of a job:
 * min_ms doubled per earlier attempt, at most max_ms, then spread by rnd
 * (uniform over 0..UINT32_MAX, from the caller's CSPRNG) into [d/2, d]
 * ("equal jitter"). Pure. */
int64_t dm_backoff_jitter_ms(int attempt, int64_t min_ms, int64_t max_ms, uint32_t rnd);

/* ms milliseconds as a struct timeval (for libevent timers). */
struct timeval dm_backoff_tv(int ms);

#endif
