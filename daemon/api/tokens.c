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

#define DM_API_TOKENS_LABEL_MAX 200

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

/* The scope members of a create body for role into ids (borrowed from
 * body); errors gets one entry per problem. */
static size_t
dm_api_tokens_scope(const json_t *body, enum dm_token_role role, const char **ids, json_t *errors)
{
	static const struct {
		const char *field;
		enum dm_token_role role;
		bool list;
	} fields[] = {
		{"warehouses", DM_TOKEN_WAREHOUSE, true}, {"stations", DM_TOKEN_STATION, true},
		{"courier", DM_TOKEN_COURIER, false},     {"engineer", DM_TOKEN_ENGINEER, false},
		{"pickup_point", DM_TOKEN_PICKUP_POINT, false},
	};
	size_t n = 0;
	for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
		const json_t *v = json_object_get(body, fields[f].field);
		if (v == NULL || json_is_null(v))
			continue;
		if (fields[f].role != role) {
			dm_field_errors_add(errors, fields[f].field, "not a scope of this role");
			continue;
		}
		if (!fields[f].list) {
			if (!dm_token_scope_id_valid(json_string_value(v)))
				dm_field_errors_add(errors, fields[f].field,
						    "must be an id (1 to 63 of A-Z a-z 0-9 _ . : / -)");
			else
				ids[n++] = json_string_value(v);
			continue;
		}
		size_t i;
		const json_t *e;
		if (!json_is_array(v) || json_array_size(v) > DM_TOKEN_SCOPE_MAX) {
			dm_field_errors_add(errors, fields[f].field,
					    "must be an array of 1 to 64 ids");
			continue;
		}
		json_array_foreach(v, i, e) {
			if (!dm_token_scope_id_valid(json_string_value(e))) {
				dm_field_errors_add(errors, fields[f].field,
						    "must be an array of ids (1 to 63 of A-Z a-z 0-9 "
						    "_ . : / -)");
				break;
			}
			ids[n++] = json_string_value(e);
		}
	}
	return n;
}

/* The lifetime member: a duration string ("30d") or whole seconds. Writes
 * the seconds into out ("" for none). */
static void
dm_api_tokens_expires(const json_t *body, char *out, size_t cap, json_t *errors)
{
	const json_t *v = json_object_get(body, "expires_in");
	int64_t s = 0;
	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return;
	if (json_is_integer(v) && json_integer_value(v) >= 1 &&
	    json_integer_value(v) <= DM_TOKEN_DURATION_MAX_S)
		s = json_integer_value(v);
	else if (json_is_string(v) && dm_token_duration_parse(json_string_value(v), &s) == DM_TOKEN_OK)
		;
	else {
		dm_field_errors_add(errors, "expires_in",
				    "must be seconds (an integer) or N followed by s, m, h, d or w, "
				    "at most about ten years");
		return;
	}
	snprintf(out, cap, "%lld", (long long)s);
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

/* Validate a create body into role, scope literal, label and lifetime;
 * answers 422 itself and returns -1 on a bad field. */
static int
dm_api_tokens_create_parse(struct dm_req *r, const json_t *body, enum dm_token_role *role,
			   char *scope, size_t scope_cap, char *expires, size_t expires_cap)
{
	json_t *errors = json_array();
	const char *ids[2 * DM_TOKEN_SCOPE_MAX + 2];
	const char *role_name = json_string_value(json_object_get(body, "role"));
	const json_t *label = json_object_get(body, "label");
	if (dm_token_role_parse(role_name, role) != DM_TOKEN_OK) {
		dm_field_errors_add(errors, "role",
				    "must be one of admin, order_service, warehouse, station, "
				    "courier, engineer, pickup_point");
	} else {
		size_t n = dm_api_tokens_scope(body, *role, ids, errors);
		if (json_array_size(errors) == 0 && dm_token_scope_check(*role, n) != DM_TOKEN_OK)
			dm_field_errors_add(errors, "scope",
					    dm_token_role_scope(*role) == DM_TOKEN_SCOPE_NONE
						    ? "this role takes no scope"
					    : dm_token_role_scope(*role) == DM_TOKEN_SCOPE_ONE
						    ? "this role takes one id (courier, engineer or "
						      "pickup_point)"
						    : "this role takes 1 to 64 ids (warehouses or "
						      "stations)");
		else if (json_array_size(errors) == 0 &&
			 dm_token_scope_pg_array(ids, n, scope, scope_cap) != 0)
			dm_field_errors_add(errors, "scope", "too long");
	}
	if (label != NULL && !json_is_null(label) &&
	    (!json_is_string(label) || json_string_length(label) > DM_API_TOKENS_LABEL_MAX))
		dm_field_errors_add(errors, "label", "must be a string of at most 200 bytes");
	dm_api_tokens_expires(body, expires, expires_cap, errors);
	static const char *const known[] = {"role", "label", "expires_in", "warehouses",
					    "stations", "courier", "engineer", "pickup_point",
					    NULL};
	dm_field_errors_unknown(body, "", known, errors);
	if (json_array_size(errors) > 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid token request",
			       json_pack("{s:o}", "errors", errors));
		return -1;
	}
	json_decref(errors);
	return 0;
}

static void
dm_api_tokens_create(struct dm_req *r)
{
	enum dm_token_role role;
	char scope[DM_TOKEN_SCOPE_ARRAY_MAX], expires[24], id[DM_TOKEN_ID_MAX];
	char caller[DM_TOKEN_ID_MAX], hex[2 * DM_TOKEN_HASH_BYTES + 1];
	unsigned char hash[DM_TOKEN_HASH_BYTES];
	json_t *body = dm_req_body_json(r);
	if (body == NULL)
		return;
	if (dm_api_tokens_create_parse(r, body, &role, scope, sizeof scope, expires,
				       sizeof expires) != 0) {
		json_decref(body);
		return;
	}
	if (!r->cfg->token_key_set) {
		json_decref(body);
		dm_req_problem(r, DM_PROBLEM_NOT_READY, "no [auth] token_key_file is configured",
			       NULL);
		return;
	}
	struct dm_api_tokens_pending *p = calloc(1, sizeof *p);
	if (p == NULL || dm_token_generate(role, p->token) != DM_TOKEN_OK) {
		json_decref(body);
		dm_api_tokens_pending_free(p);
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	dm_token_hash(r->cfg->token_key, p->token, hash);
	dm_token_hash_hex(hash, hex);
	dm_token_id_generate(id);
	dm_api_tokens_caller(r, caller);
	const char *label = json_string_value(json_object_get(body, "label"));
	const char *params[] = {id, hex, dm_token_role_name(role), scope, label != NULL ? label : "",
				caller, expires[0] != '\0' ? expires : NULL};
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
