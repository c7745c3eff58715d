/* The pickup expiry tick (see pickup_expiry.h): a timer on the loop and one
 * pickup_expire query at a time, a batch of at most
 * DM_PICKUP_EXPIRY_BATCH parcels; a full batch ticks again at once (a short
 * one may have skipped parcels locked elsewhere: the next interval takes
 * them). Nothing here blocks. */
#include <event2/event.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/cfg.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/pg.h"
#include "daemon/svc/pickup_expiry.h"

#define DM_PICKUP_EXPIRY_BATCH 100
#define DM_PICKUP_EXPIRY_IDLE_MS 1000 /* the tick while expiry is off */

struct dm_pickup_expiry {
	struct dm_daemon *d;
	struct event *ev;
	bool querying;
	bool closing;
};

static void
dm_pickup_expiry_arm(struct dm_pickup_expiry *x, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	(void)event_add(x->ev, &tv);
}

static void
dm_pickup_expiry_maybe_free(struct dm_pickup_expiry *x)
{
	if (x->closing && !x->querying)
		free(x);
}

static void
dm_pickup_expiry_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_pickup_expiry *x = arg;
	x->querying = false;
	if (!reply->ok && !reply->unavailable)
		dm_log_error("pg", "expiring pickup parcels failed: %s", reply->error);
	long n = reply->ok && PQntuples(reply->res) == 1
			 ? strtol(PQgetvalue(reply->res, 0, 0), NULL, 10)
			 : 0;
	if (n > 0)
		dm_log_info("pickup", "%ld parcel(s) past their hold deadline sent back", n);
	if (n >= DM_PICKUP_EXPIRY_BATCH && !x->closing)
		dm_pickup_expiry_arm(x, 0); /* more are due */
	dm_pickup_expiry_maybe_free(x);
}

static void
dm_pickup_expiry_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_pickup_expiry *x = arg;
	const struct cfg *cfg = x->d->cfg->cfg;
	int64_t now;
	int32_t offset;
	char at[32], limit[16];
	(void)fd;
	(void)what;
	long ms = cfg->pickup_expiry_interval_ms;
	dm_pickup_expiry_arm(x, ms > 0 ? ms : DM_PICKUP_EXPIRY_IDLE_MS);
	if (ms <= 0 || x->querying || x->closing || x->d->draining || x->d->pg == NULL ||
	    !dm_pg_up(x->d->pg))
		return;
	dm_clock_now(&now, &offset);
	snprintf(at, sizeof at, "%" PRId64, now);
	snprintf(limit, sizeof limit, "%d", DM_PICKUP_EXPIRY_BATCH);
	const char *params[] = {at, cfg->pickup_return_to_warehouse ? "t" : "f", limit};
	if (dm_pg_query(x->d->pg, "SELECT pickup_expire(to_timestamp($1), $2::boolean, $3::int)",
			3, params, dm_pickup_expiry_done, x) == 0)
		x->querying = true;
}

struct dm_pickup_expiry *
dm_pickup_expiry_new(struct dm_daemon *d)
{
	struct dm_pickup_expiry *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	x->d = d;
	x->ev = event_new(d->base, -1, 0, dm_pickup_expiry_tick_cb, x);
	if (x->ev == NULL) {
		free(x);
		return NULL;
	}
	long ms = d->cfg->cfg->pickup_expiry_interval_ms;
	dm_pickup_expiry_arm(x, ms > 0 ? ms : DM_PICKUP_EXPIRY_IDLE_MS);
	return x;
}

void
dm_pickup_expiry_free(struct dm_pickup_expiry *x)
{
	if (x == NULL)
		return;
	event_free(x->ev);
	x->ev = NULL;
	x->closing = true;
	dm_pickup_expiry_maybe_free(x);
}
