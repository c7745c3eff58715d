/* What the daemon's schedulers (svc/wave_scheduler.c, svc/service_scheduler.c)
 * share: a periodic tick on the loop at [dispatch] scheduler_interval_ms
 * (0: automatic planning off, the timer idles at one second) and this
 * daemon's name in claims ("host:pid:random"). */
#ifndef DM_SCHED_TIMER_H
#define DM_SCHED_TIMER_H

#include <event2/event.h>

struct dm_daemon;

#define DM_SCHED_TIMER_IDLE_MS 1000 /* the tick while automatic planning is off */
#define DM_SCHED_TIMER_ID_MAX 64

struct dm_sched_timer {
	struct dm_daemon *d;
	struct event *ev;
	char id[DM_SCHED_TIMER_ID_MAX]; /* this daemon in claims */
};

/* Make t's id and its timer calling cb(arg), armed for its first tick after
 * one interval. Returns 0, or -1 when out of memory. Loop thread only. */
int dm_sched_timer_init(struct dm_sched_timer *t, struct dm_daemon *d, event_callback_fn cb,
			void *arg);

/* Arm the next tick (call at each tick). */
void dm_sched_timer_arm(struct dm_sched_timer *t);

/* Free the timer (no tick after this). */
void dm_sched_timer_stop(struct dm_sched_timer *t);

#endif
