/* The group committer (see order_committer.h). It owns the job queue, the
 * batches in flight and the flush event; it knows nothing of HTTP or of
 * what an order contains: jobs bring their JSON entry and get their
 * element of the result back.
 *
 * Flushing happens from an event made active when work arrives, not
 * inline, so every request read in the same loop iteration joins the same
 * batch. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/base/daemon.h"
#include "daemon/svc/order_committer.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/base/reload.h"

struct dm_order_committer {
	struct dm_daemon *d;
	struct event *flush;
	struct dm_order_committer_jobq queue;  /* waiting for a batch */
	struct dm_order_committer_jobq active; /* queued or in a batch: the keys in flight */
	int inflight;                 /* batches sent */
	bool closing;                 /* being freed: new jobs fail at once */
};

struct dm_order_committer_batch {
	struct dm_order_committer *ic;
	struct dm_order_committer_jobq jobs;
	size_t njobs;
};

static void dm_order_committer_flush_cb(evutil_socket_t fd, short what, void *arg);
static void dm_order_committer_finish(struct dm_order_committer *ic,
				      struct dm_order_committer_job *job,
				      enum dm_order_committer_status status, const json_t *result);

struct dm_order_committer *
dm_order_committer_new(struct dm_daemon *d)
{
	struct dm_order_committer *ic = calloc(1, sizeof *ic);
	if (ic == NULL)
		return NULL;
	ic->d = d;
	TAILQ_INIT(&ic->queue);
	TAILQ_INIT(&ic->active);
	ic->flush = event_new(d->base, -1, 0, dm_order_committer_flush_cb, ic);
	if (ic->flush == NULL) {
		free(ic);
		return NULL;
	}
	return ic;
}

void
dm_order_committer_free(struct dm_order_committer *ic)
{
	struct dm_order_committer_job *job;
	if (ic == NULL)
		return;
	ic->closing = true;
	while ((job = TAILQ_FIRST(&ic->queue)) != NULL) {
		TAILQ_REMOVE(&ic->queue, job, link);
		dm_order_committer_finish(ic, job, DM_ORDER_COMMITTER_UNAVAILABLE, NULL);
	}
	event_free(ic->flush);
	free(ic);
}

/* Batches allowed in flight: leave one pool connection to other queries. */
static int
dm_order_committer_limit(const struct dm_order_committer *ic)
{
	int pool = ic->d->cfg->cfg->pg_pool_size - 1;
	return pool < 1 ? 1 : pool < DM_ORDER_COMMITTER_INFLIGHT ? pool : DM_ORDER_COMMITTER_INFLIGHT;
}

static void
dm_order_committer_kick(struct dm_order_committer *ic)
{
	if (!TAILQ_EMPTY(&ic->queue) && ic->inflight < dm_order_committer_limit(ic) &&
	    !event_pending(ic->flush, EV_TIMEOUT, NULL))
		event_active(ic->flush, EV_TIMEOUT, 0);
}

/* Finish job: leave the active set, call back, then let the jobs parked
 * behind it run (they will find its key and replay). */
static void
dm_order_committer_finish(struct dm_order_committer *ic, struct dm_order_committer_job *job,
			  enum dm_order_committer_status status, const json_t *result)
{
	struct dm_order_committer_jobq parked;
	struct dm_order_committer_job *p;
	TAILQ_REMOVE(&ic->active, job, active);
	TAILQ_INIT(&parked);
	TAILQ_CONCAT(&parked, &job->parked, link);
	job->done(job, status, result);
	while ((p = TAILQ_FIRST(&parked)) != NULL) {
		TAILQ_REMOVE(&parked, p, link);
		dm_order_committer_submit(ic->d, p);
	}
}

void
dm_order_committer_submit(struct dm_daemon *d, struct dm_order_committer_job *job)
{
	struct dm_order_committer *ic = d->committer;
	if (ic == NULL || ic->closing) {
		job->done(job, DM_ORDER_COMMITTER_UNAVAILABLE, NULL);
		return;
	}
	TAILQ_INIT(&job->parked);
	struct dm_order_committer_job *a;
	TAILQ_FOREACH(a, &ic->active, active)
	{
		if (strcmp(a->key, job->key) == 0) {
			TAILQ_INSERT_TAIL(&a->parked, job, link);
			return;
		}
	}
	TAILQ_INSERT_TAIL(&ic->active, job, active);
	if (job->solo)
		TAILQ_INSERT_HEAD(&ic->queue, job, link);
	else
		TAILQ_INSERT_TAIL(&ic->queue, job, link);
	dm_order_committer_kick(ic);
}

static void
dm_order_committer_done_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_order_committer_batch *b = arg;
	struct dm_order_committer *ic = b->ic;
	struct dm_order_committer_job *job;
	json_t *results = NULL;
	ic->inflight--;
	if (reply->ok && PQntuples(reply->res) == 1)
		results = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (results != NULL && json_array_size(results) == b->njobs) {
		for (size_t i = 0; (job = TAILQ_FIRST(&b->jobs)) != NULL; i++) {
			TAILQ_REMOVE(&b->jobs, job, link);
			dm_order_committer_finish(ic, job, DM_ORDER_COMMITTER_OK,
						  json_array_get(results, i));
		}
	} else if (!reply->ok && !reply->unavailable && b->njobs > 1) {
		/* Something in the batch broke the transaction: nothing was kept.
		 * Run each order alone so only the culprit fails. */
		dm_log_warning("pg", "a batch of %zu orders failed (%s); retrying one by one",
			       b->njobs, reply->error);
		while ((job = TAILQ_LAST(&b->jobs, dm_order_committer_jobq)) != NULL) {
			TAILQ_REMOVE(&b->jobs, job, link);
			job->solo = true;
			TAILQ_INSERT_HEAD(&ic->queue, job, link);
		}
	} else {
		enum dm_order_committer_status status = reply->unavailable
			? DM_ORDER_COMMITTER_UNAVAILABLE
			: DM_ORDER_COMMITTER_FAILED;
		if (status == DM_ORDER_COMMITTER_FAILED)
			dm_log_error("pg", "committing an order failed: %s",
				     reply->ok ? "unexpected result" : reply->error);
		while ((job = TAILQ_FIRST(&b->jobs)) != NULL) {
			TAILQ_REMOVE(&b->jobs, job, link);
			dm_order_committer_finish(ic, job, status, NULL);
		}
	}
	json_decref(results);
	free(b);
	dm_order_committer_kick(ic);
}

/* Take the next batch off the queue and send it. */
static void
dm_order_committer_send(struct dm_order_committer *ic)
{
	struct dm_order_committer_batch *b = calloc(1, sizeof *b);
	struct dm_order_committer_job *job;
	size_t len = 2;
	char *param = NULL;
	if (b == NULL)
		goto fail;
	b->ic = ic;
	TAILQ_INIT(&b->jobs);
	while ((job = TAILQ_FIRST(&ic->queue)) != NULL && b->njobs < DM_ORDER_COMMITTER_BATCH_MAX) {
		if (b->njobs > 0 && job->solo)
			break;
		TAILQ_REMOVE(&ic->queue, job, link);
		TAILQ_INSERT_TAIL(&b->jobs, job, link);
		b->njobs++;
		len += strlen(job->entry) + 1;
		if (job->solo)
			break;
	}
	param = malloc(len + 1);
	if (param == NULL)
		goto fail;
	char *p = param;
	*p++ = '[';
	TAILQ_FOREACH(job, &b->jobs, link)
	{
		size_t n = strlen(job->entry);
		if (p != param + 1)
			*p++ = ',';
		memcpy(p, job->entry, n);
		p += n;
	}
	*p++ = ']';
	*p = '\0';
	const char *params[] = {param};
	if (dm_pg_query(ic->d->pg, "SELECT intake_commit($1::jsonb)", 1, params,
			dm_order_committer_done_cb, b) != 0)
		goto fail;
	ic->inflight++;
	free(param);
	return;
fail:
	free(param);
	if (b == NULL) {
		/* Out of memory: fail the head of the queue so it cannot spin. */
		job = TAILQ_FIRST(&ic->queue);
		TAILQ_REMOVE(&ic->queue, job, link);
		dm_order_committer_finish(ic, job, DM_ORDER_COMMITTER_UNAVAILABLE, NULL);
		return;
	}
	while ((job = TAILQ_FIRST(&b->jobs)) != NULL) {
		TAILQ_REMOVE(&b->jobs, job, link);
		dm_order_committer_finish(ic, job, DM_ORDER_COMMITTER_UNAVAILABLE, NULL);
	}
	free(b);
}

static void
dm_order_committer_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_order_committer *ic = arg;
	(void)fd;
	(void)what;
	while (!TAILQ_EMPTY(&ic->queue) && ic->inflight < dm_order_committer_limit(ic))
		dm_order_committer_send(ic);
}
