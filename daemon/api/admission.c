/* Admission of requests (see admission.h). It owns the choice of who a
 * request is counted against and which route class it falls in; the
 * counting itself is svc/rate_limit.c's. */
#include <stdio.h>
#include <time.h>

#include "daemon/api/admission.h"
#include "daemon/base/daemon.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"
#include "daemon/io/problem.h"
#include "daemon/svc/rate_limit.h"

/* The class of r and its limit from r's config snapshot. */
static enum dm_rate_class
dm_admission_class(const struct dm_req *r, int *limit_per_s)
{
	const struct cfg *cfg = r->cfg->cfg;
	if (r->route->flags & DM_ROUTE_EXPENSIVE) {
		*limit_per_s = cfg->rate_plan_per_s;
		return DM_RATE_PLAN;
	}
	if (r->method[0] == 'G' || r->method[0] == 'H') {
		*limit_per_s = cfg->rate_read_per_s;
		return DM_RATE_READ;
	}
	*limit_per_s = cfg->rate_write_per_s;
	return DM_RATE_WRITE;
}

bool
dm_admission_check(struct dm_req *r)
{
	int limit_per_s, retry_after_s = 1;
	if (r->route->flags & DM_ROUTE_UNLIMITED)
		return true;
	enum dm_rate_class cls = dm_admission_class(r, &limit_per_s);
	char who[64];
	snprintf(who, sizeof who, "ip:%s", dm_req_peer(r));
	if (dm_rate_limit_allow(r->d->rate_limit, cls, who, limit_per_s, (int64_t)time(NULL),
				&retry_after_s))
		return true;
	char detail[128];
	snprintf(detail, sizeof detail, "over %d requests per second for this kind of request",
		 limit_per_s);
	dm_req_problem(r, DM_PROBLEM_RATE_LIMITED, detail, NULL);
	return false;
}
