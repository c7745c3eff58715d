/* The worker pool: a fixed set of threads for CPU-heavy jobs (building
 * geography indexes, planning routes) so the event loop never blocks.
 * A job's run function executes on a worker and may call only core
 * (routing/, warehouse/) functions; its done function then executes on the
 * loop thread, where it may touch daemon state. */
#ifndef DM_WORK_H
#define DM_WORK_H

struct event_base;
struct dm_work;

/* Runs on a worker thread. Must not touch libevent, libpq or hiredis objects. */
typedef void dm_work_run_fn(void *job);

/* Runs on the loop thread after run returned; owns job from then on. */
typedef void dm_work_done_fn(void *job);

/* A pool of nthreads workers reporting to base; NULL on failure. */
struct dm_work *dm_work_new(struct event_base *base, int nthreads);

/* Queue job (borrowed until done runs). Returns 0, or -1 if the pool is
 * shutting down or out of memory (run and done are then never called). */
int dm_work_submit(struct dm_work *w, dm_work_run_fn *run, dm_work_done_fn *done, void *job);

/* Jobs queued or running, for metrics. */
int dm_work_pending(const struct dm_work *w);

/* Let running jobs finish, join the threads, then call done for every job
 * (queued ones without having run: done must cope, e.g. by checking a
 * result flag its run sets) and free the pool. NULL is a no-op. */
void dm_work_free(struct dm_work *w);

#endif
