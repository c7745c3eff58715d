/* The one way a handler runs a PostgreSQL query for a request: it holds a
 * reference on the request for the query's lifetime, answers 503
 * backend-unavailable itself when the pool refuses the query, and decides
 * once whether the result still matters when the request was answered
 * meanwhile (deadline) or its client went away. */
#ifndef DM_REQ_PG_H
#define DM_REQ_PG_H

struct dm_req;
struct dm_pg_reply;

/* What to do with a result that arrives after the request was answered or
 * its client left. */
enum dm_req_pg_mode {
	DM_REQ_PG_READ,  /* a read: done is skipped (a departed client's request is
			  * answered 499 for the books, nothing is sent) */
	DM_REQ_PG_WRITE, /* a write: done always runs, so caches learn what was
			  * committed; it replies only if !dm_req_answered(r) */
};

/* Called with the query's result (borrowed until return). The reference the
 * query held is dropped after done returns. */
typedef void dm_req_pg_done_fn(struct dm_req *r, const struct dm_pg_reply *reply);

/* Send sql with text params for r. Returns 0 (done will run exactly once),
 * or -1 when it could not be sent: r has then been answered 503 (or 503
 * out-of-memory) and done never runs. Loop thread only. */
int dm_req_pg_query(struct dm_req *r, const char *sql, int nparams, const char *const *params,
		    enum dm_req_pg_mode mode, dm_req_pg_done_fn *done);

#endif
