/* The wave scheduler: plans each station's waves automatically at their
 * planning cut-off ([dispatch] plan_cutoff_minutes before the wave's start,
 * local time, on the daemon's clock), once across every daemon, and runs
 * the replans queued in wave_replans_due. A timer on the loop
 * ([dispatch] scheduler_interval_ms) sends one query per tick; the plans
 * themselves run through svc/wave_planner.c (solve on the worker pool), at
 * most [dispatch] scheduler_max_plans at once. docs/routing.md, "Automatic
 * planning", describes the claims and their fencing. */
#ifndef DM_WAVE_SCHEDULER_H
#define DM_WAVE_SCHEDULER_H

struct dm_daemon;
struct dm_wave_scheduler;

/* Start the scheduler's timer (its first tick after one interval). Returns
 * NULL when out of memory. Loop thread only. */
struct dm_wave_scheduler *dm_wave_scheduler_new(struct dm_daemon *d);

/* Stop the timer and free the scheduler once its plans in flight have called
 * back (call after the worker pool and the PostgreSQL pool are freed, or at
 * least stopped: their failing callbacks still reach it). NULL is a no-op. */
void dm_wave_scheduler_free(struct dm_wave_scheduler *s);

#endif
