/* Request-scoped PostgreSQL queries (see req_pg.h). It owns the small record
 * tying one query to its request; the pool (pg.c) owns the query itself and
 * the request layer (http.c) owns the request. */
#include <stdlib.h>

#include "daemon/base/daemon.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/problem.h"
#include "daemon/io/req_pg.h"

struct dm_req_pg_op {
	struct dm_req *r; /* one reference held until the result is handled */
	enum dm_req_pg_mode mode;
	dm_req_pg_done_fn *done;
};

static void
dm_req_pg_done_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_req_pg_op *op = arg;
	struct dm_req *r = op->r;
	if (op->mode == DM_REQ_PG_WRITE || !dm_req_answered(r)) {
		if (op->mode == DM_REQ_PG_READ && dm_req_client_gone(r))
			dm_req_problem(r, DM_PROBLEM_CLIENT_CLOSED, "the client went away", NULL);
		else
			op->done(r, reply);
	}
	free(op);
	dm_req_unref(r, "pg_query");
}

int
dm_req_pg_query(struct dm_req *r, const char *sql, int nparams, const char *const *params,
		enum dm_req_pg_mode mode, dm_req_pg_done_fn *done)
{
	struct dm_req_pg_op *op = malloc(sizeof *op);
	if (op == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return -1;
	}
	*op = (struct dm_req_pg_op){.r = r, .mode = mode, .done = done};
	dm_req_ref(r, "pg_query");
	if (dm_pg_query(r->d->pg, sql, nparams, params, dm_req_pg_done_cb, op) != 0) {
		free(op);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql unavailable", NULL);
		dm_req_unref(r, "pg_query");
		return -1;
	}
	return 0;
}
