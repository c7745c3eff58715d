/* The API token resource under /v1/admin/tokens: create (the token is in
 * the 201 answer and nowhere else, ever), list, revoke, and whoami (the
 * principal a bearer token stands for, from this daemon's cache). Token
 * text, hashing and scopes are base/token.c's; the cache is svc/tokens.c's.
 * Who may call these routes is decided by the HTTP layer's role check, not
 * here (issue 10: admin only, whoami any valid token).
 *
 * Audit: every create and revoke is logged at info with the token's id,
 * role and label and the caller's token id; never a token. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/api/access_body.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/tables.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/base/token.h"
#include "daemon/io/http.h"
#include "daemon/io/pg.h"
#include "daemon/io/req_pg.h"
#include "daemon/svc/tokens.h"

#define DM_API_TOKENS_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
/* A token row as its API document (never the hash). */
#define DM_API_TOKENS_DOC                                                                        \
	"json_build_object('id', id, 'role', role, 'scope', to_json(scope), 'label', label, "     \
	"'created_by', created_by, 'created_at', " DM_API_TOKENS_TS("created_at") ", "            \
	"'expires_at', " DM_API_TOKENS_TS("expires_at") ", "                                      \
	"'last_used_at', " DM_API_TOKENS_TS("last_used_at") ", "                                  \
	"'revoked_at', " DM_API_TOKENS_TS("revoked_at") ")"

/* A create waiting for its INSERT: the token text lives here (and in no
 * request field) until the answer is sent, then is wiped (the copies jansson
 * makes for the reply body are freed without wiping: memory hygiene only). A write's done
 * always runs once (req_pg.h), so every entry is removed. */
struct dm_api_tokens_pending {
	struct dm_req *r;
	char token[DM_TOKEN_MAX];
	struct dm_api_tokens_pending *next;
};

static struct dm_api_tokens_pending *dm_api_tokens_pending_list;

static struct dm_api_tokens_pending *
dm_api_tokens_pending_take(struct dm_req *r)
{
	for (struct dm_api_tokens_pending **pp = &dm_api_tokens_pending_list; *pp != NULL;
	     pp = &(*pp)->next) {
		struct dm_api_tokens_pending *p = *pp;
		if (p->r == r) {
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

static void
dm_api_tokens_pending_free(struct dm_api_tokens_pending *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p->token, sizeof p->token);
	free(p);
}

/* The caller's token id for the audit trail, or "anonymous" until the HTTP
 * layer refuses calls without a token. id has DM_TOKEN_ID_MAX bytes. */
static void
dm_api_tokens_caller(struct dm_req *r, char *id)
{
	/* Admission checked the caller's token (real time, before the handler). */
	const struct dm_tokens_principal *p = r->principal;
	snprintf(id, DM_TOKEN_ID_MAX, "%s", p != NULL ? p->id : "anonymous");
}

static void
dm_api_tokens_create_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	struct dm_api_tokens_pending *p = dm_api_tokens_pending_take(r);
	json_t *doc = NULL;
	if (reply->ok && PQntuples(reply->res) == 1)
		doc = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL);
	if (doc != NULL) {
		char caller[DM_TOKEN_ID_MAX];
		dm_api_tokens_caller(r, caller);
		dm_log_info("auth", "%s token %s created (role %s, label \"%.60s\") by %s", r->id,
			    json_string_value(json_object_get(doc, "id")),
			    json_string_value(json_object_get(doc, "role")),
			    json_string_value(json_object_get(doc, "label")), caller);
		dm_tokens_refresh_soon(r->d->tokens);
	}
	if (dm_req_answered(r) || p == NULL) {
		/* The client will never see the token: it is live but unknown to anyone. */
		if (doc != NULL)
			dm_log_warning("auth", "%s token %s was created but its answer was lost; "
					       "revoke it",
				       r->id, json_string_value(json_object_get(doc, "id")));
	} else if (doc == NULL) {
		if (!reply->ok && strcmp(reply->sqlstate, "42P01") == 0)
			dm_req_problem(r, DM_PROBLEM_NOT_READY,
				       "the schema is not migrated: run dispatchctl migrate", NULL);
		else if (!reply->ok && reply->unavailable)
			dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed",
				       NULL);
		else {
			dm_log_error("pg", "%s creating a token failed: %s", r->id,
				     reply->ok ? "unexpected result" : reply->error);
			dm_req_problem(r, DM_PROBLEM_INTERNAL, "creating the token failed", NULL);
		}
	} else {
		json_object_set_new(doc, "token", json_string(p->token));
		dm_req_reply_json(r, 201, doc);
		doc = NULL;
	}
	json_decref(doc);
	dm_api_tokens_pending_free(p);
}

static void
dm_api_tokens_create(struct dm_req *r)
{
	struct dm_access_body_token t;
	char id[DM_TOKEN_ID_MAX];
	char caller[DM_TOKEN_ID_MAX], hex[2 * DM_TOKEN_HASH_BYTES + 1];
	unsigned char hash[DM_TOKEN_HASH_BYTES];
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	json_t *errors = json_array();
	if (dm_access_body_token(body, &t, errors) != 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid token request",
			       json_pack("{s:o}", "errors", errors));
		json_decref(body);
		return;
	}
	json_decref(errors);
	if (!r->cfg->token_key_set) {
		json_decref(body);
		dm_req_problem(r, DM_PROBLEM_NOT_READY, "no [auth] token_key_file is configured",
			       NULL);
		return;
	}
	struct dm_api_tokens_pending *p = calloc(1, sizeof *p);
	if (p == NULL || dm_token_generate(t.role, p->token) != DM_TOKEN_OK) {
		json_decref(body);
		dm_api_tokens_pending_free(p);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_token_hash(r->cfg->token_key, p->token, hash);
	dm_token_hash_hex(hash, hex);
	dm_token_id_generate(id);
	dm_api_tokens_caller(r, caller);
	const char *params[] = {id,	 hex, dm_token_role_name(t.role), t.scope, t.label,
				caller, t.expires[0] != '\0' ? t.expires : NULL};
	p->r = r;
	p->next = dm_api_tokens_pending_list;
	dm_api_tokens_pending_list = p;
	if (dm_req_pg_query(r,
			    "INSERT INTO api_tokens (id, hash, role, scope, label, created_by, "
			    "expires_at) VALUES ($1, decode($2, 'hex'), $3, $4::text[], $5, $6, now() + "
			    "make_interval(secs => $7::bigint)) RETURNING " DM_API_TOKENS_DOC,
			    7, params, DM_REQ_PG_WRITE, dm_api_tokens_create_done) != 0)
		dm_api_tokens_pending_free(dm_api_tokens_pending_take(r));
	json_decref(body);
}

static void
dm_api_tokens_list_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (!reply->ok && strcmp(reply->sqlstate, "42P01") == 0)
		dm_req_problem(r, DM_PROBLEM_NOT_READY,
			       "the schema is not migrated: run dispatchctl migrate", NULL);
	else
		dm_req_reply_pg_doc(r, reply, "no tokens");
}

static void
dm_api_tokens_list(struct dm_req *r)
{
	(void)dm_req_pg_query(r,
			      "SELECT json_build_object('tokens', coalesce(json_agg(" DM_API_TOKENS_DOC
			      " ORDER BY created_at, id), '[]'::json)) FROM api_tokens",
			      0, NULL, DM_REQ_PG_READ, dm_api_tokens_list_done);
}

static void
dm_api_tokens_revoke_done(struct dm_req *r, const struct dm_pg_reply *reply)
{
	if (reply->ok && PQntuples(reply->res) == 1) {
		char caller[DM_TOKEN_ID_MAX];
		dm_tokens_forget(r->d->tokens, r->params[0]);
		dm_api_tokens_caller(r, caller);
		dm_log_info("auth", "%s token %s revoked by %s", r->id, r->params[0], caller);
	}
	if (dm_req_answered(r))
		return;
	if (!reply->ok && strcmp(reply->sqlstate, "42P01") == 0)
		dm_req_problem(r, DM_PROBLEM_NOT_READY,
			       "the schema is not migrated: run dispatchctl migrate", NULL);
	else
		dm_req_reply_pg_doc(r, reply, "no such token");
}

static void
dm_api_tokens_revoke(struct dm_req *r)
{
	if (!dm_token_id_valid(r->params[0])) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such token", NULL);
		return;
	}
	const char *params[] = {r->params[0]};
	/* Revoking twice keeps the first revoked_at and answers the same document. */
	(void)dm_req_pg_query(r,
			      "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = "
			      "$1 RETURNING " DM_API_TOKENS_DOC,
			      1, params, DM_REQ_PG_WRITE, dm_api_tokens_revoke_done);
}

static void
dm_api_tokens_whoami(struct dm_req *r)
{
	/* Admission (api/admission.c) has checked the token: any role may ask. */
	const struct dm_tokens_principal *p = r->principal;
	if (p == NULL) {
		dm_req_problem(r, DM_PROBLEM_INTERNAL, "no principal after admission", NULL);
		return;
	}
	json_t *scope = json_array();
	for (size_t i = 0; i < p->scope.n; i++)
		json_array_append_new(scope, json_string(p->scope.ids[i]));
	json_t *expires = json_null();
	if (p->expires_s != 0) {
		char ts[32];
		struct tm tm;
		time_t t = (time_t)p->expires_s;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		expires = json_string(ts);
	}
	dm_req_reply_json(r, 200, json_pack("{s:s,s:s,s:o,s:s,s:o}", "id", p->id, "role",
					    dm_token_role_name(p->role), "scope", scope, "label",
					    p->label, "expires_at", expires));
}

static const struct dm_route dm_api_tokens_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/admin/tokens/whoami",
	 .handler = dm_api_tokens_whoami,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLES_ANY},
	{.methods = EVHTTP_REQ_POST,
	 .pattern = "/v1/admin/tokens",
	 .handler = dm_api_tokens_create,
	 .body_limit = 4096,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/admin/tokens",
	 .handler = dm_api_tokens_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN)},
	{.methods = EVHTTP_REQ_DELETE,
	 .pattern = "/v1/admin/tokens/{id}",
	 .handler = dm_api_tokens_revoke,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN)},
};

const struct dm_route_table dm_api_tokens_table = {
	dm_api_tokens_routes, sizeof dm_api_tokens_routes / sizeof dm_api_tokens_routes[0]};
