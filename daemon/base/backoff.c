/* Reconnect and retry delays (see backoff.h). Owns no state beyond the
 * caller's struct dm_backoff; used by io/pg.c, io/rds.c and
 * svc/webhook_sender.c. */
#include "daemon/base/backoff.h"

int
dm_backoff_next_ms(struct dm_backoff *b, int min_ms, int max_ms)
{
	if (b->cur_ms <= 0)
		b->cur_ms = min_ms;
	else
		b->cur_ms = b->cur_ms > max_ms / 2 ? max_ms : b->cur_ms * 2;
	if (b->cur_ms > max_ms)
		b->cur_ms = max_ms;
	return b->cur_ms;
}

void
dm_backoff_reset(struct dm_backoff *b)
{
	b->cur_ms = 0;
}

struct timeval
dm_backoff_tv(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	return tv;
}

int64_t
dm_backoff_jitter_ms(int attempt, int64_t min_ms, int64_t max_ms, uint32_t rnd)
{
	int64_t d = min_ms > 0 ? min_ms : 1;
	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	int64_t half = d / 2;
	return half + (int64_t)((double)(d - half) * ((double)rnd / 4294967296.0));
}
