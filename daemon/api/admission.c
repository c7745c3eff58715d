/* Admission of requests (see admission.h). It owns the order of the checks
 * every matched request passes before its handler: who is calling (the
 * bearer token, checked from memory by svc/tokens.c), whether that role may
 * call the route at all, whether the resource named in the path is in the
 * token's scope, and the caller's rate limit (svc/rate_limit.c). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "daemon/api/admission.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/base/token.h"
#include "daemon/io/http.h"
#include "daemon/io/problem.h"
#include "daemon/svc/rate_limit.h"
#include "daemon/svc/tokens.h"

/* The class of r and its limit from r's config snapshot. */
static enum dm_rate_class
dm_admission_class(const struct dm_req *r, bool anonymous, int *limit_per_s)
{
	const struct cfg *cfg = r->cfg->cfg;
	if (anonymous) {
		*limit_per_s = cfg->rate_public_per_s;
		return DM_RATE_PUBLIC;
	}
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

static void
dm_admission_release(const void *principal)
{
	dm_tokens_principal_unref((struct dm_tokens_principal *)principal);
}

/* Answer 401 (or 503 while tokens cannot be checked yet). */
static void
dm_admission_unauthorized(struct dm_req *r, bool given, enum dm_tokens_status why)
{
	dm_log_debug("auth", "%s refused: %s", r->id, dm_tokens_status_name(why));
	if (why == DM_TOKENS_NO_KEY || why == DM_TOKENS_NOT_LOADED) {
		dm_req_problem(r, DM_PROBLEM_NOT_READY,
			       why == DM_TOKENS_NO_KEY ? "no [auth] token_key_file is configured: no "
							 "token can be checked"
						       : "the token table is not loaded yet: PostgreSQL is "
							 "unreachable, or the schema is not migrated "
							 "(dispatchctl migrate)",
			       NULL);
		return;
	}
	/* RFC 6750 3.1: no error code when no credentials were given. */
	evhttp_add_header(evhttp_request_get_output_headers(r->req), "WWW-Authenticate",
			  given ? "Bearer error=\"invalid_token\"" : "Bearer");
	dm_req_problem(r, DM_PROBLEM_UNAUTHORIZED,
		       "a valid bearer token is required (Authorization: Bearer <token>)", NULL);
}

/* Writes by these roles are audited (logged at info with the token). */
static bool
dm_admission_audited(enum dm_token_role role)
{
	return role == DM_TOKEN_ADMIN || role == DM_TOKEN_WAREHOUSE ||
	       role == DM_TOKEN_STATION;
}

/* Count r against its caller's limit in cls (p's token, or the client
 * address when p is NULL). True when it may go on; else answers 429. */
static bool
dm_admission_limit(struct dm_req *r, enum dm_rate_class cls, int limit_per_s,
		   const struct dm_tokens_principal *p)
{
	int retry_after_s = 1;
	char who[64];
	if (p != NULL)
		snprintf(who, sizeof who, "tok:%s", p->id);
	else
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

/* Authenticate and authorise r. Returns the principal (borrowed by r), or
 * NULL for a public route called without a token, or after answering. */
static bool
dm_admission_authorise(struct dm_req *r, const struct dm_tokens_principal **out)
{
	const struct dm_route *route = r->route;
	const char *header = dm_req_header(r, "Authorization");
	*out = NULL;
	if ((route->roles & DM_ROLES_PUBLIC) && header == NULL)
		return true;
	enum dm_tokens_status why;
	/* Token expiry is real time, whatever [testing] clock says. */
	struct dm_tokens_principal *p =
		dm_tokens_check(r->d->tokens, dm_token_bearer(header), (int64_t)time(NULL), &why);
	if (p == NULL) {
		if (route->roles & DM_ROLES_PUBLIC)
			return true; /* a bad token on a public route: served as anonymous */
		/* Failed attempts count against the client address's public limit:
		 * guessing tokens is throttled like any anonymous traffic. */
		if (!dm_admission_limit(r, DM_RATE_PUBLIC, r->cfg->cfg->rate_public_per_s, NULL))
			return false;
		dm_admission_unauthorized(r, header != NULL, why);
		return false;
	}
	r->principal = p;
	r->principal_release = dm_admission_release;
	if (!(route->roles & DM_ROLES_PUBLIC) && !(route->roles & (1u << p->role))) {
		char detail[128];
		snprintf(detail, sizeof detail, "the role %s may not call %s %s",
			 dm_token_role_name(p->role), r->method, route->pattern);
		dm_req_problem(r, DM_PROBLEM_FORBIDDEN, detail, NULL);
		return false;
	}
	/* Outside the token's scope is as if it did not exist. */
	if (route->scope_param > 0 && route->scope_param <= r->nparams &&
	    dm_token_role_scope(p->role) != DM_TOKEN_SCOPE_NONE &&
	    !dm_token_scope_has(&p->scope, r->params[route->scope_param - 1])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
		return false;
	}
	if (r->method[0] != 'G' && r->method[0] != 'H' && dm_admission_audited(p->role))
		snprintf(r->audit, sizeof r->audit, "by %s (%s) \"%.100s\"", p->id,
			 dm_token_role_name(p->role), p->label);
	*out = p;
	return true;
}

const char *
dm_admission_actor(const struct dm_req *r)
{
	const struct dm_tokens_principal *p = r->principal;
	return p != NULL ? p->id : "anonymous";
}

bool
dm_admission_check(struct dm_req *r)
{
	const struct dm_tokens_principal *p;
	/* The operators' listener serves only health and metrics, to whoever
	 * can reach it (bind it to a private address). */
	if (r->operator_listener)
		return true;
	if (!dm_admission_authorise(r, &p))
		return false;
	if (r->route->flags & DM_ROUTE_UNLIMITED)
		return true;
	int limit_per_s;
	enum dm_rate_class cls = dm_admission_class(r, p == NULL, &limit_per_s);
	return dm_admission_limit(r, cls, limit_per_s, p);
}
