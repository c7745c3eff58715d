/* Owns the HTTP answer of handheld events (stops and visits): one mapping
 * of the event functions' {"r": ...} results, so couriers and engineers
 * see the same problem types for the same outcomes. */
#include "daemon/api/handheld_answer.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "daemon/base/log.h"

void
dm_api_handheld_answer(struct dm_req *r, const struct dm_pg_reply *reply,
		       const struct dm_api_handheld_answer *how)
{
	if (dm_req_answered(r))
		return;
	if (!reply->ok || PQntuples(reply->res) != 1 || PQnfields(reply->res) != 5 ||
	    PQgetisnull(reply->res, 0, 0)) {
		if (reply->ok || !reply->unavailable)
			dm_log_error("pg", "%s %s event failed: %s", r->id, how->thing,
				     reply->ok ? "unexpected result" : reply->error);
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
		return;
	}
	const char *what = PQgetvalue(reply->res, 0, 0);
	const char *cur = PQgetvalue(reply->res, 0, 2);
	char detail[160];
	if (strcmp(what, "ok") == 0 && !PQgetisnull(reply->res, 0, 1)) {
		dm_req_reply(r, 200, "application/json", PQgetvalue(reply->res, 0, 1),
			     (size_t)PQgetlength(reply->res, 0, 1));
	} else if (strcmp(what, "illegal") == 0) {
		snprintf(detail, sizeof detail, "the %s is %s", how->thing, cur);
		dm_req_problem(r, DM_PROBLEM_ILLEGAL_TRANSITION, detail,
			       json_pack("{s:s}", "current_status", cur));
	} else if (strcmp(what, "invalid") == 0) {
		const char *field = PQgetvalue(reply->res, 0, 3);
		const char *message = PQgetvalue(reply->res, 0, 4);
		snprintf(detail, sizeof detail, "invalid %s", field);
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, detail,
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", field, "message",
					 message));
	} else if (strcmp(what, "not_found") == 0) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, how->not_found, NULL);
	} else if (strcmp(what, "mismatch") == 0) {
		snprintf(detail, sizeof detail, "the Idempotency-Key was used for another %s event",
			 how->thing);
		dm_req_problem(r, DM_PROBLEM_IDEMPOTENCY_KEY_REUSED, detail, NULL);
	} else {
		dm_log_error("pg", "%s %s event: unexpected answer %s", r->id, how->thing, what);
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "unexpected result", NULL);
	}
}
