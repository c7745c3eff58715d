/* Rate limiting (see rate_limit.h). It owns the table of callers seen in
 * the current second and the sync timer; Redis keys
 * "dsp:rl:{class}:{caller}:{second}" expire after 3 s, so losing them (or
 * all of Redis) only forgets at most the current second's counts. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/daemon.h"
#include "daemon/base/hash.h"
#include "daemon/base/log.h"
#include "daemon/io/rds.h"
#include "daemon/svc/rate_limit.h"

#define DM_RATE_LIMIT_WHO_MAX 64
#define DM_RATE_LIMIT_BUCKETS 4096 /* power of two */

struct dm_rate_limit_entry {
	struct dm_rate_limit_entry *next;
	enum dm_rate_class cls;
	int64_t window_s;   /* the second counted */
	uint32_t global;    /* what Redis last said every daemon counted (ours included) */
	uint32_t pending;   /* admitted here and not yet pushed */
	uint32_t inflight;  /* pushed, reply not back */
	char who[DM_RATE_LIMIT_WHO_MAX];
};

struct dm_rate_limit {
	struct dm_daemon *d;
	struct event *tick;
	struct dm_rate_limit_entry *buckets[DM_RATE_LIMIT_BUCKETS];
	size_t nentries;
	uint64_t refused_total;
	int64_t warned_full_s; /* the second the table-full warning was last logged */
};

/* One push to Redis: the entry is looked up again on the reply (it may
 * have been dropped meanwhile). */
struct dm_rate_limit_push {
	struct dm_rate_limit *rl;
	enum dm_rate_class cls;
	int64_t window_s;
	uint32_t n;
	char who[DM_RATE_LIMIT_WHO_MAX];
};

static const char dm_rate_limit_lua[] =
	"local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
	"if v == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], 3) end return v";

static struct dm_rate_limit_entry **
dm_rate_limit_slot(struct dm_rate_limit *rl, enum dm_rate_class cls, const char *who)
{
	struct dm_rate_limit_entry **p =
		&rl->buckets[dm_hash_str(who, (uint64_t)cls) & (DM_RATE_LIMIT_BUCKETS - 1)];
	while (*p != NULL && ((*p)->cls != cls || strcmp((*p)->who, who) != 0))
		p = &(*p)->next;
	return p;
}

bool
dm_rate_limit_allow(struct dm_rate_limit *rl, enum dm_rate_class cls, const char *who,
		    int limit_per_s, int64_t now_s, int *retry_after_s)
{
	char key[DM_RATE_LIMIT_WHO_MAX];
	if (rl == NULL || limit_per_s <= 0)
		return true;
	snprintf(key, sizeof key, "%s", who);
	struct dm_rate_limit_entry **p = dm_rate_limit_slot(rl, cls, key);
	struct dm_rate_limit_entry *e = *p;
	if (e == NULL) {
		if (rl->nentries >= DM_RATE_LIMIT_MAX_CALLERS || (e = calloc(1, sizeof *e)) == NULL) {
			/* Once a minute at most: a flood must not flood the journal. */
			if (now_s - rl->warned_full_s >= 60) {
				dm_log_warning("http", "rate limit table full (%d callers): not limiting "
						       "new callers this second",
					       DM_RATE_LIMIT_MAX_CALLERS);
				rl->warned_full_s = now_s;
			}
			return true;
		}
		e->cls = cls;
		e->window_s = now_s;
		memcpy(e->who, key, sizeof e->who);
		*p = e;
		rl->nentries++;
	}
	if (e->window_s != now_s) {
		e->window_s = now_s;
		e->global = e->pending = e->inflight = 0;
	}
	if ((uint64_t)e->global + e->pending + e->inflight + 1 > (uint64_t)limit_per_s) {
		rl->refused_total++;
		*retry_after_s = 1;
		return false;
	}
	e->pending++;
	return true;
}

static void
dm_rate_limit_pushed_cb(const redisReply *reply, const char *error, void *arg)
{
	struct dm_rate_limit_push *op = arg;
	(void)error;
	struct dm_rate_limit_entry *e = *dm_rate_limit_slot(op->rl, op->cls, op->who);
	if (e != NULL && e->window_s == op->window_s) {
		e->inflight -= op->n < e->inflight ? op->n : e->inflight;
		if (reply != NULL && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0) {
			uint32_t v = reply->integer > UINT32_MAX ? UINT32_MAX : (uint32_t)reply->integer;
			if (v > e->global)
				e->global = v;
		} else {
			/* Redis down or failing: keep counting here alone. */
			e->global += op->n;
		}
	}
	free(op);
}

static void
dm_rate_limit_push(struct dm_rate_limit *rl, struct dm_rate_limit_entry *e)
{
	struct dm_rate_limit_push *op = malloc(sizeof *op);
	char key[160], n[16];
	if (op == NULL)
		return;
	*op = (struct dm_rate_limit_push){.rl = rl, .cls = e->cls, .window_s = e->window_s,
					  .n = e->pending};
	memcpy(op->who, e->who, sizeof op->who);
	snprintf(key, sizeof key, "dsp:rl:%d:%s:%lld", (int)e->cls, e->who, (long long)e->window_s);
	snprintf(n, sizeof n, "%u", e->pending);
	const char *argv[] = {"EVAL", dm_rate_limit_lua, "1", key, n};
	if (dm_rds_command(rl->d->rds, 5, argv, NULL, dm_rate_limit_pushed_cb, op) != 0) {
		/* Redis down: what was admitted here stays counted here. */
		e->global += e->pending;
		e->pending = 0;
		free(op);
		return;
	}
	e->inflight += e->pending;
	e->pending = 0;
}

/* Every sync interval: push pending counts, drop callers of past seconds. */
static void
dm_rate_limit_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_rate_limit *rl = arg;
	(void)fd;
	(void)what;
	int64_t now_s = (int64_t)time(NULL);
	for (size_t b = 0; b < DM_RATE_LIMIT_BUCKETS; b++) {
		struct dm_rate_limit_entry **p = &rl->buckets[b];
		while (*p != NULL) {
			struct dm_rate_limit_entry *e = *p;
			if (e->window_s < now_s - 1 && e->inflight == 0) {
				*p = e->next;
				free(e);
				rl->nentries--;
				continue;
			}
			if (e->pending > 0 && e->window_s >= now_s - 1)
				dm_rate_limit_push(rl, e);
			p = &e->next;
		}
	}
}

struct dm_rate_limit *
dm_rate_limit_new(struct dm_daemon *d)
{
	struct dm_rate_limit *rl = calloc(1, sizeof *rl);
	if (rl == NULL)
		return NULL;
	rl->d = d;
	rl->tick = event_new(d->base, -1, EV_PERSIST, dm_rate_limit_tick_cb, rl);
	struct timeval tv = {0, DM_RATE_LIMIT_SYNC_MS * 1000};
	if (rl->tick == NULL || event_add(rl->tick, &tv) != 0) {
		dm_rate_limit_free(rl);
		return NULL;
	}
	return rl;
}

uint64_t
dm_rate_limit_refused_total(const struct dm_rate_limit *rl)
{
	return rl != NULL ? rl->refused_total : 0;
}

void
dm_rate_limit_free(struct dm_rate_limit *rl)
{
	if (rl == NULL)
		return;
	if (rl->tick != NULL)
		event_free(rl->tick);
	for (size_t b = 0; b < DM_RATE_LIMIT_BUCKETS; b++) {
		struct dm_rate_limit_entry *e = rl->buckets[b];
		while (e != NULL) {
			struct dm_rate_limit_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(rl);
}
