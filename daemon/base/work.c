/* The worker pool. It owns the threads, the job queue (a mutex and a
 * condition variable) and the completion path back to the loop: finished
 * jobs go on a done list and the worker writes to an eventfd that the loop
 * watches, so done callbacks always run on the loop thread. */
#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/base/log.h"
#include "daemon/base/work.h"

struct dm_work_job {
	struct dm_work_job *next;
	dm_work_run_fn *run;
	dm_work_done_fn *done;
	void *job;
};

struct dm_work {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct dm_work_job *todo_head, *todo_tail;
	struct dm_work_job *done_head, *done_tail;
	bool stopping;
	atomic_int pending; /* read without the lock by dm_work_pending */
	int nthreads;
	pthread_t *threads;
	int efd;
	struct event *ev;
};

static void
dm_work_push(struct dm_work_job **head, struct dm_work_job **tail, struct dm_work_job *j)
{
	j->next = NULL;
	if (*tail != NULL)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static struct dm_work_job *
dm_work_pop(struct dm_work_job **head, struct dm_work_job **tail)
{
	struct dm_work_job *j = *head;
	if (j != NULL) {
		*head = j->next;
		if (*head == NULL)
			*tail = NULL;
	}
	return j;
}

static void *
dm_work_thread(void *arg)
{
	struct dm_work *w = arg;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->todo_head == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		struct dm_work_job *j = dm_work_pop(&w->todo_head, &w->todo_tail);
		pthread_mutex_unlock(&w->mu);
		if (j == NULL)
			return NULL; /* stopping, queue empty */
		j->run(j->job);
		pthread_mutex_lock(&w->mu);
		dm_work_push(&w->done_head, &w->done_tail, j);
		pthread_mutex_unlock(&w->mu);
		uint64_t one = 1;
		ssize_t n = write(w->efd, &one, sizeof one);
		(void)n; /* the counter cannot overflow in practice; a lost wake-up is retried below */
	}
}

/* Loop side: run the done callbacks of finished jobs. */
static void
dm_work_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_work *w = arg;
	uint64_t n;
	(void)what;
	ssize_t r = read(fd, &n, sizeof n);
	(void)r;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		struct dm_work_job *j = dm_work_pop(&w->done_head, &w->done_tail);
		if (j != NULL)
			w->pending--;
		pthread_mutex_unlock(&w->mu);
		if (j == NULL)
			return;
		j->done(j->job);
		free(j);
	}
}

struct dm_work *
dm_work_new(struct event_base *base, int nthreads)
{
	struct dm_work *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->threads = calloc((size_t)nthreads, sizeof *w->threads);
	if (w->efd < 0 || w->threads == NULL)
		goto fail;
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, dm_work_ready_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) != 0)
		goto fail;
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, dm_work_thread, w) != 0)
			goto fail;
		w->nthreads++;
	}
	return w;
fail:
	dm_work_free(w);
	return NULL;
}

int
dm_work_submit(struct dm_work *w, dm_work_run_fn *run, dm_work_done_fn *done, void *job)
{
	struct dm_work_job *j = malloc(sizeof *j);
	if (j == NULL)
		return -1;
	j->run = run;
	j->done = done;
	j->job = job;
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {
		pthread_mutex_unlock(&w->mu);
		free(j);
		return -1;
	}
	dm_work_push(&w->todo_head, &w->todo_tail, j);
	w->pending++;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int
dm_work_pending(const struct dm_work *w)
{
	return atomic_load(&w->pending);
}

void
dm_work_free(struct dm_work *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	/* Jobs never started still get their done callback (to free them),
	 * with run skipped; finished jobs get theirs as usual. */
	struct dm_work_job *j;
	while ((j = dm_work_pop(&w->todo_head, &w->todo_tail)) != NULL)
		dm_work_push(&w->done_head, &w->done_tail, j);
	while ((j = dm_work_pop(&w->done_head, &w->done_tail)) != NULL) {
		j->done(j->job);
		free(j);
	}
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->efd >= 0)
		close(w->efd);
	free(w->threads);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
