/* Asynchronous PostgreSQL pool on the event loop: a few libpq connections in
 * non-blocking mode, a FIFO of queries, per-query deadlines, health probes and
 * reconnect with capped exponential backoff. No call here ever blocks. */
#ifndef DM_PG_H
#define DM_PG_H

#include <libpq-fe.h>
#include <stdbool.h>

struct event_base;
struct cfg;
struct dm_pg;

/* What a query produced. Everything is borrowed and valid only while the
 * callback runs. ok is true when the last result was COMMAND_OK or TUPLES_OK;
 * otherwise error (and sqlstate, when the server sent one) say why. */
struct dm_pg_reply {
	bool ok;
	bool unavailable;      /* never reached the server, or the link died: map to 503 */
	const PGresult *res;   /* the last result, NULL when !ok and no result */
	const char *error;     /* "" when ok */
	const char *sqlstate;  /* "" when unknown */
};

/* Completion callback: called exactly once per accepted query, on the loop. */
typedef void dm_pg_done_fn(const struct dm_pg_reply *reply, void *arg);

/* Pool counters for readiness and metrics. */
struct dm_pg_stats {
	int connections_up;
	int connections_total;
	int queued;
	long queries_total;
	long query_errors_total;
	long reconnects_total;
};

/* A pool on base with the [postgres] settings of cfg (dsn, size, timeouts).
 * Connections start at once, in the background. NULL on OOM. */
struct dm_pg *dm_pg_new(struct event_base *base, const struct cfg *cfg);

/* Take the reloadable [postgres] settings (timeouts, backoff) from cfg. */
void dm_pg_configure(struct dm_pg *pg, const struct cfg *cfg);

/* Queue sql with nparams text parameters (copied; NULL means SQL NULL).
 * Returns 0 and later calls done exactly once, or -1 at once (done is never
 * called) when no connection is up or the queue is full. */
/* (pg may be NULL, after shutdown: -1.) */
int dm_pg_query(struct dm_pg *pg, const char *sql, int nparams, const char *const *params,
		dm_pg_done_fn *done, void *arg);

/* True while at least one connection is established. */
bool dm_pg_up(const struct dm_pg *pg);

/* Copy the pool counters into out. */
void dm_pg_stats_get(const struct dm_pg *pg, struct dm_pg_stats *out);

/* Close every connection and fail queued queries (their callbacks run with
 * unavailable set). NULL is a no-op. Not callable from a query callback. */
void dm_pg_free(struct dm_pg *pg);

#endif
