/* The schedulers' timer and claim id (see sched_timer.h), moved here from
 * svc/wave_scheduler.c when svc/service_scheduler.c came to need the same. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config/cfg.h"
#include "daemon/base/daemon.h"
#include "daemon/base/reload.h"
#include "daemon/svc/sched_timer.h"

int
dm_sched_timer_init(struct dm_sched_timer *t, struct dm_daemon *d, event_callback_fn cb,
		    void *arg)
{
	unsigned char rnd[4];
	char host[32] = "host";
	t->d = d;
	(void)gethostname(host, sizeof host - 1);
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		memset(rnd, 0, sizeof rnd);
	snprintf(t->id, sizeof t->id, "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), rnd[0],
		 rnd[1], rnd[2], rnd[3]);
	t->ev = event_new(d->base, -1, 0, cb, arg);
	if (t->ev == NULL)
		return -1;
	dm_sched_timer_arm(t);
	return 0;
}

void
dm_sched_timer_arm(struct dm_sched_timer *t)
{
	int ms = t->d->cfg->cfg->dispatch_scheduler_interval_ms;
	if (ms <= 0)
		ms = DM_SCHED_TIMER_IDLE_MS;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	(void)event_add(t->ev, &tv);
}

void
dm_sched_timer_stop(struct dm_sched_timer *t)
{
	if (t->ev != NULL)
		event_free(t->ev);
	t->ev = NULL;
}
