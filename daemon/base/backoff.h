/* Capped exponential backoff for reconnecting to a backend (PostgreSQL
 * connections, the Redis link): min, doubling, at most max. */
#ifndef DM_BACKOFF_H
#define DM_BACKOFF_H

#include <sys/time.h>

struct dm_backoff {
	int cur_ms; /* the last delay given; 0 after a success */
};

/* The next delay: min_ms after a success (or the first failure), then
 * doubling up to max_ms. Remembers it in b. */
int dm_backoff_next_ms(struct dm_backoff *b, int min_ms, int max_ms);

/* Forget the failures: the next delay starts again at min_ms. */
void dm_backoff_reset(struct dm_backoff *b);

/* ms milliseconds as a struct timeval (for libevent timers). */
struct timeval dm_backoff_tv(int ms);

#endif
