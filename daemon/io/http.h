/* The HTTP layer: evhttp setup, the routing table, the per-request object
 * (struct dm_req) and reply helpers (JSON, problem+json). Handlers live in
 * h_<resource>.c files, each exporting a table of struct dm_route. */
#ifndef DM_HTTP_H
#define DM_HTTP_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/base/token.h"
#include "daemon/io/problem.h"

struct dm_daemon;
struct dm_req;

/* A request handler: parse, call a core, reply (now or from a callback). */
typedef void dm_handler_fn(struct dm_req *r);

#define DM_HTTP_MAX_PATH_PARAMS 4

/* One row of a resource's routing table. */
struct dm_route {
	int methods;           /* bitmask of enum evhttp_cmd_type */
	const char *pattern;   /* "/v1/orders/{id}": {name} matches one path segment */
	dm_handler_fn *handler;
	long body_limit;       /* bytes; 0: the server's max_body_bytes; or DM_ROUTE_NO_BODY */
	unsigned flags;        /* DM_ROUTE_* */
	unsigned roles;        /* who may call it: DM_ROLE(x) bits, DM_ROLES_ANY or DM_ROLES_PUBLIC */
	int scope_param;       /* 1-based path {param} naming the resource a scoped role
				* (warehouse, station, courier, engineer) must hold; 0: none */
};

/* Role bits of struct dm_route roles (enum dm_token_role, base/token.h). */
#define DM_ROLE(name) (1u << DM_TOKEN_##name)
#define DM_ROLES_ANY ((1u << DM_TOKEN_ROLE_COUNT) - 1u) /* any valid token */
#define DM_ROLES_PUBLIC (1u << 31)                     /* no token needed */

/* body_limit of a route that takes no body: a request with any is refused (413). */
#define DM_ROUTE_NO_BODY (-1L)

#define DM_ROUTE_EXPENSIVE 0x1u /* CPU-heavy (planning): its own, lower rate limit */
#define DM_ROUTE_UNLIMITED 0x2u /* answered from memory for probes (health): no rate limit */
#define DM_ROUTE_OPERATOR 0x4u  /* also served on the operators' listener, without a token */

/* Admission of a matched request before its handler: authentication, rate
 * limits. Returns true to run the handler, or false after answering r. */
typedef bool dm_admit_fn(struct dm_req *r);

/* A resource's routes: a static table and its length. */
struct dm_route_table {
	const struct dm_route *routes;
	size_t count;
};

/* One in-flight request. Refcounted: the request itself holds one reference
 * until it is answered; each pending backend operation holds one more. */
struct dm_req {
	struct dm_daemon *d;
	struct evhttp_request *req;    /* NULL once answered */
	const struct dm_route *route;
	const char *method;            /* "GET", ... (static) */
	struct evkeyvalq query;        /* decoded query string */
	char params[DM_HTTP_MAX_PATH_PARAMS][128]; /* path {params}, in pattern order */
	int nparams;
	struct dm_cfg_snap *cfg;       /* the settings this request started with */
	struct event *deadline;
	double start_s;
	char id[32];                   /* X-Request-Id, echoed or generated */
	int refs;
	bool cancelled;                /* the client went away (dm_req_client_gone) */
	bool operator_listener;        /* came in on server.admin_listen_address */
	/* Who is calling, set by the admission hook: an opaque principal
	 * released with principal_release when r is freed (NULL: anonymous). */
	const void *principal;
	void (*principal_release)(const void *principal);
	char audit[160];               /* non-empty: log the answer at info ("audit") with this */
	bool answered;
	/* The handler's own state across callbacks (a long poll's, api/feed.c):
	 * owned by the handler, which clears it before freeing it. NULL: none. */
	void *handler_ctx;
};

/* Start the HTTP server of d on the configured address/port (or on the
 * systemd socket-activated fds). Returns 0, or -1 and logs why. */
int dm_http_start(struct dm_daemon *d);

/* Stop accepting new connections (drain); in-flight requests continue. */
void dm_http_stop_accepting(struct dm_daemon *d);

/* Apply reloadable HTTP limits from the current config. */
void dm_http_configure(struct dm_daemon *d);

/* Take a reference on r for a pending operation. */
void dm_req_ref(struct dm_req *r, const char *who);

/* Drop a reference; the last one frees r. */
void dm_req_unref(struct dm_req *r, const char *who);

/* True once r has been answered (e.g. by its deadline): callbacks then only
 * clean up and unref. */
bool dm_req_answered(const struct dm_req *r);

/* True when r's client has gone away (closed its connection) before the
 * answer: work only it would see can be skipped. Loop thread only. */
bool dm_req_client_gone(struct dm_req *r);

/* Move r's deadline (server.request_timeout_ms from its start) to ms from
 * now: for a handler that waits on purpose, such as a long poll, whose wait
 * must not be cut as a stuck backend. No-op once answered. */
void dm_req_extend_deadline(struct dm_req *r, long ms);

/* A query-string value, or NULL. Borrowed from r. */
const char *dm_req_query(struct dm_req *r, const char *name);

/* Every value of a repeated query parameter (e.g. sku=a&sku=b), in order:
 * up to cap into out (borrowed from r); returns how many there are. */
size_t dm_req_query_all(struct dm_req *r, const char *name, const char **out, size_t cap);

/* The query parameters lat and lon (WGS84 degrees) into *lat and *lon.
 * Returns 0, or -1 after adding one {"field","message"} per bad or missing
 * parameter to errors. */
int dm_req_query_latlon(struct dm_req *r, double *lat, double *lon, json_t *errors);

/* The client's address as text ("127.0.0.1"), or "" when unknown.
 * Borrowed from r's connection, valid while r is not answered. */
const char *dm_req_peer(struct dm_req *r);

/* A request header value, or NULL. Borrowed from r. */
const char *dm_req_header(struct dm_req *r, const char *name);

/* Parse the body as a JSON object. On failure answers 400 problem+json and
 * returns NULL. The caller owns the result (json_decref). */
json_t *dm_req_body_json(struct dm_req *r);

/* Answer with body bytes and a content type; adds metrics and the access
 * log line, and drops the request's own reference. No-op if answered. */
void dm_req_reply(struct dm_req *r, int status, const char *content_type, const char *body,
		  size_t len);

/* Answer with a JSON value (stolen: decref'd here). */
void dm_req_reply_json(struct dm_req *r, int status, json_t *body);

struct dm_pg_reply;

/* Answer a query that returns one JSON document (one row, one column):
 * 200 with it, 404 with not_found when there is no row or it is NULL, 503
 * when the query failed. */
void dm_req_reply_pg_doc(struct dm_req *r, const struct dm_pg_reply *reply,
			 const char *not_found);

/* Answer application/problem+json (RFC 9457): kind gives the status, type
 * and title (problem.c's table), and a Retry-After header where retrying
 * can help; detail is free text for people; extra (stolen, may be NULL)
 * adds extension members such as "errors". No-op if answered. */
void dm_req_problem(struct dm_req *r, enum dm_problem kind, const char *detail, json_t *extra);

/* dm_req_problem with Retry-After retry_s seconds (none when <= 0) instead
 * of the kind's own. */
void dm_req_problem_after(struct dm_req *r, enum dm_problem kind, int retry_s, const char *detail,
			  json_t *extra);

#endif
