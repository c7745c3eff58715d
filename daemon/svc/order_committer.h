/* Group commit of orders. Planned orders queue here as jobs; the committer
 * sends them to PostgreSQL in batches, each batch ONE call of the
 * intake_commit(jsonb) function (data/sql/intake_commit.sql), which is
 * one transaction and one WAL flush for the whole batch. At most
 * DM_ORDER_COMMITTER_INFLIGHT batches are in flight (and never more than the
 * PostgreSQL pool size minus one, so other queries still get a connection); whatever arrives
 * meanwhile forms the next batch, so an idle daemon commits each order at
 * once and a busy one packs up to DM_ORDER_COMMITTER_BATCH_MAX per commit.
 *
 * Jobs with the same idempotency key never run concurrently: a later one
 * waits for the earlier to finish (then replays its answer). A batch that
 * fails as a whole (not a lost link) is retried one job per batch, so one
 * bad order cannot fail the others.
 *
 * One committer per daemon (struct dm_daemon's committer), made by
 * dm_order_committer_new at startup and freed at shutdown, on the loop thread. */
#ifndef DM_ORDER_COMMITTER_H
#define DM_ORDER_COMMITTER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/queue.h>

struct dm_daemon;
struct dm_order_committer;
struct dm_order_committer_job;

#define DM_ORDER_COMMITTER_BATCH_MAX 128
#define DM_ORDER_COMMITTER_INFLIGHT 3

/* How a job went. */
enum dm_order_committer_status {
	DM_ORDER_COMMITTER_OK = 0,      /* result is this order's element of the function's result */
	DM_ORDER_COMMITTER_UNAVAILABLE, /* PostgreSQL unreachable, the link died or the daemon is
					 * stopping: the outcome is unknown (the client retries
					 * with its key) */
	DM_ORDER_COMMITTER_FAILED       /* the order's transaction failed (logged) */
};

/* Completion of a job: result (borrowed for the call) only with
 * DM_ORDER_COMMITTER_OK, else NULL. The callback may free the job or submit
 * it again. */
typedef void dm_order_committer_job_done_fn(struct dm_order_committer_job *job,
					    enum dm_order_committer_status status,
					    const json_t *result);

TAILQ_HEAD(dm_order_committer_jobq, dm_order_committer_job);

/* One order waiting for (or in) a batch. Embedded in its owner's request
 * state; the owner fills the public part and keeps it alive until done. */
struct dm_order_committer_job {
	const char *key;     /* borrowed: the Idempotency-Key */
	const char *entry;   /* borrowed: this order's batch element (JSON text) */
	dm_order_committer_job_done_fn *done;
	void *arg;
	/* private to svc/order_committer.c */
	TAILQ_ENTRY(dm_order_committer_job) link;
	TAILQ_ENTRY(dm_order_committer_job) active;
	struct dm_order_committer_jobq parked; /* same key, waiting for this one */
	bool solo;
};

/* A committer sending through d->pg (read at each batch) on d->base. NULL
 * when out of memory. */
struct dm_order_committer *dm_order_committer_new(struct dm_daemon *d);

/* Fail the jobs still queued (DM_ORDER_COMMITTER_UNAVAILABLE) and free ic.
 * Call after the PostgreSQL pool is freed (no batch is then in flight).
 * NULL is a no-op. */
void dm_order_committer_free(struct dm_order_committer *ic);

/* Queue job for the next batch (or behind a job with the same key). Never
 * fails at once: problems come back through job->done. */
void dm_order_committer_submit(struct dm_daemon *d, struct dm_order_committer_job *job);

#endif
