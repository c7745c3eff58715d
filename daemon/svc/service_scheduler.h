/* The service scheduler (issue 12): plans each station's engineers' day D
 * automatically at [services] plan_at local time of D - 1 (on the daemon's
 * clock), once across every daemon: a claim per (station, day) in
 * service_auto_plans (data/sql/service_auto_claim.sql) with a fencing
 * epoch, the plan itself through svc/service_planner.c, stored under that
 * epoch (service_plan_store refuses a claim taken over, and marks the day
 * done). A timer on the loop ([dispatch] scheduler_interval_ms, 0: off),
 * at most [dispatch] scheduler_max_plans plans at once; a claim not done
 * after [dispatch] scheduler_stale_s is taken over by any daemon. The
 * sibling of svc/wave_scheduler.c, with the same settings. */
#ifndef DM_SERVICE_SCHEDULER_H
#define DM_SERVICE_SCHEDULER_H

struct dm_daemon;
struct dm_service_scheduler;

/* Start the timer (its first tick after one interval). NULL when out of
 * memory. Loop thread only. */
struct dm_service_scheduler *dm_service_scheduler_new(struct dm_daemon *d);

/* Stop the timer and free the scheduler once its plans in flight have
 * called back (call after the worker and PostgreSQL pools are freed). NULL
 * is a no-op. */
void dm_service_scheduler_free(struct dm_service_scheduler *s);

#endif
