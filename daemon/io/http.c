/* The HTTP layer. It owns the evhttp server, route matching over the resource
 * tables it is given, struct dm_req lifetimes, request deadlines, the
 * access log and the mapping of replies to metrics. It does not know what
 * any resource means: daemon/api/<resource>.c files do, and main.c hands
 * their tables in (struct dm_daemon route_tables).
 *
 * Bodies larger than the server-wide max_body_bytes are refused by libevent
 * itself from their Content-Length before they are read (413, connection
 * closed): reading them only to answer from a handler would defeat the limit.
 * A route's own smaller body_limit answers 413 from dm_http_serve. Every
 * answer libevent makes itself (that 413, a malformed request line, headers
 * over max_header_bytes) goes through evhttp_send_error, which this file
 * replaces so that it too is problem+json (see evhttp_send_error below). */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/io/http.h"
#include "daemon/base/log.h"
#include "daemon/base/metrics.h"
#include "daemon/io/pg.h"
#include "daemon/io/query_parse.h"
#include "daemon/io/route_match.h"
#include "daemon/base/reload.h"
#include "daemon/base/sd.h"

_Static_assert(DM_HTTP_MAX_PATH_PARAMS == DM_ROUTE_MATCH_MAX_PARAMS &&
		       sizeof((struct dm_req *)0)->params[0] == DM_ROUTE_MATCH_PARAM_LEN,
	       "struct dm_req params are what dm_route_match fills");

#define DM_HTTP_ALL_METHODS                                                                        \
	(EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |                     \
	 EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |          \
	 EVHTTP_REQ_PATCH)

static const char *
dm_http_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "OTHER";
}

static const char *
dm_http_status_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	}
	return status < 400 ? "OK" : "Error";
}

/* Find r's route. Returns it, or NULL with *allowed set to the methods the
 * path does accept (0 when the path is unknown). */
static const struct dm_route *
dm_http_route(struct dm_req *r, const char *path, enum evhttp_cmd_type method, int *allowed)
{
	*allowed = 0;
	for (size_t t = 0; t < r->d->nroute_tables; t++) {
		const struct dm_route_table *tab = r->d->route_tables[t];
		for (size_t i = 0; i < tab->count; i++) {
			const struct dm_route *route = &tab->routes[i];
			if (!dm_route_match(route->pattern, path, r->params, &r->nparams))
				continue;
			if (route->methods & (int)method)
				return route;
			*allowed |= route->methods;
		}
	}
	return NULL;
}

void
dm_req_ref(struct dm_req *r, const char *who)
{
	r->refs++;
	dm_log_debug("http", "%s ref by %s -> %d", r->id, who, r->refs);
}

void
dm_req_unref(struct dm_req *r, const char *who)
{
	r->refs--;
	dm_log_debug("http", "%s unref by %s -> %d", r->id, who, r->refs);
	if (r->refs > 0)
		return;
	if (r->deadline != NULL)
		event_free(r->deadline);
	evhttp_clear_headers(&r->query);
	dm_cfg_snap_unref(r->cfg);
	if (r->principal != NULL && r->principal_release != NULL)
		r->principal_release(r->principal);
	free(r);
}

bool
dm_req_answered(const struct dm_req *r)
{
	return r->answered;
}

bool
dm_req_client_gone(struct dm_req *r)
{
	if (r->cancelled)
		return true;
	if (r->req == NULL)
		return false;
	/* libevent 2.1 stops reading a connection while its request is being
	 * served, so a client's close is seen only when the answer is written:
	 * peek at the socket instead (0 bytes readable = orderly close). */
	struct evhttp_connection *evcon = evhttp_request_get_connection(r->req);
	struct bufferevent *bev = evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	char c;
	if (fd >= 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		r->cancelled = true;
	return r->cancelled;
}

void
dm_req_extend_deadline(struct dm_req *r, long ms)
{
	if (r->answered || r->deadline == NULL)
		return;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(r->deadline, &tv); /* re-adding a pending timer moves it */
}

const char *
dm_req_peer(struct dm_req *r)
{
	char *addr = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *evcon =
		r->req != NULL ? evhttp_request_get_connection(r->req) : NULL;
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &addr, &port);
	return addr != NULL ? addr : "";
}

const char *
dm_req_query(struct dm_req *r, const char *name)
{
	return evhttp_find_header(&r->query, name);
}

size_t
dm_req_query_all(struct dm_req *r, const char *name, const char **out, size_t cap)
{
	size_t n = 0;
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, &r->query, next)
	{
		if (strcmp(kv->key, name) != 0)
			continue;
		if (n < cap)
			out[n] = kv->value;
		n++;
	}
	return n;
}

int
dm_req_query_latlon(struct dm_req *r, double *lat, double *lon, json_t *errors)
{
	return dm_query_parse_latlon(dm_req_query(r, "lat"), dm_req_query(r, "lon"), lat, lon,
				     errors);
}

const char *
dm_req_header(struct dm_req *r, const char *name)
{
	if (r->req == NULL)
		return NULL;
	return evhttp_find_header(evhttp_request_get_input_headers(r->req), name);
}

static void
dm_http_closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct dm_req *r = arg;
	(void)evcon;
	r->cancelled = true;
	dm_log_debug("http", "%s client went away before the answer", r->id);
}

static void
dm_http_sent_cb(struct evhttp_request *req, void *arg)
{
	struct dm_daemon *d = arg;
	(void)req;
	d->writing--;
}

void
dm_req_reply(struct dm_req *r, int status, const char *content_type, const char *body,
	     size_t len)
{
	if (r->answered)
		return;
	r->answered = true;
	struct evhttp_request *req = r->req;
	r->req = NULL;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "X-Request-Id", r->id);
	evhttp_add_header(out, "Cache-Control", "no-store");
	if (r->d->draining)
		evhttp_add_header(out, "Connection", "close");
	struct evbuffer *buf = evbuffer_new();
	if (buf != NULL)
		evbuffer_add(buf, body, len);
	/* Count replies until libevent has written them out, so a drain does
	 * not close connections with answers still in their buffers. A
	 * detached request (client gone) is freed by evhttp_send_reply itself. */
	if (evcon != NULL) {
		r->d->writing++;
		evhttp_request_set_on_complete_cb(req, dm_http_sent_cb, r->d);
	}
	char uri[201] = ""; /* req may be gone after the send */
	if (r->audit[0] != '\0')
		snprintf(uri, sizeof uri, "%s", evhttp_request_get_uri(req));
	evhttp_send_reply(req, status, dm_http_status_title(status), buf);
	if (buf != NULL)
		evbuffer_free(buf);
	double secs = dm_clock_mono_s() - r->start_s;
	const char *route = r->route != NULL ? r->route->pattern : "unmatched";
	dm_metrics_observe(r->d->metrics, route, r->method, status, secs);
	/* 503 means a backend is down, which pg.c/rds.c already logged once. */
	if (r->audit[0] != '\0')
		dm_log_info("audit", "%s %s %s -> %d %s", r->id, r->method, uri, status, r->audit);
	else if (status >= 500 && status != 503)
		dm_log_warning("http", "%s %s %s -> %d in %.1f ms", r->id, r->method, route, status,
			       secs * 1e3);
	else
		dm_log_debug("http", "%s %s %s -> %d in %.1f ms", r->id, r->method, route, status,
			     secs * 1e3);
	if (r->deadline != NULL)
		evtimer_del(r->deadline);
	r->d->inflight--;
	dm_req_unref(r, "answer");
}

void
dm_req_reply_json(struct dm_req *r, int status, json_t *body)
{
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(body);
	if (text == NULL) {
		static const char oom[] = "{\"title\":\"Service Unavailable\",\"status\":503}";
		dm_req_reply(r, 503, "application/problem+json", oom, sizeof oom - 1);
		return;
	}
	dm_req_reply(r, status, "application/json", text, strlen(text));
	free(text);
}

void
dm_req_reply_pg_doc(struct dm_req *r, const struct dm_pg_reply *reply, const char *not_found)
{
	if (!reply->ok)
		dm_req_problem(r, DM_PROBLEM_BACKEND_UNAVAILABLE, "postgresql query failed", NULL);
	else if (PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 0))
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, not_found, NULL);
	else
		dm_req_reply(r, 200, "application/json", PQgetvalue(reply->res, 0, 0),
			     (size_t)PQgetlength(reply->res, 0, 0));
}

void
dm_req_problem(struct dm_req *r, enum dm_problem kind, const char *detail, json_t *extra)
{
	dm_req_problem_after(r, kind, dm_problem_retry_after_s(kind), detail, extra);
}

void
dm_req_problem_after(struct dm_req *r, enum dm_problem kind, int retry_s, const char *detail,
		     json_t *extra)
{
	int status = dm_problem_status(kind);
	json_t *p = json_pack("{s:s,s:s,s:i,s:s}", "type", dm_problem_type(kind), "title",
			      dm_problem_title(kind), "status", status, "detail", detail);
	if (p != NULL && r->req != NULL)
		json_object_set_new(p, "instance", json_string(evhttp_request_get_uri(r->req)));
	if (p != NULL && extra != NULL)
		json_object_update(p, extra);
	json_decref(extra);
	char *text = p != NULL ? json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(p);
	if (text == NULL) {
		static const char oom[] = "{\"title\":\"Service Unavailable\",\"status\":503}";
		dm_req_reply(r, 503, "application/problem+json", oom, sizeof oom - 1);
		return;
	}
	if (retry_s > 0 && r->req != NULL) {
		char v[16];
		snprintf(v, sizeof v, "%d", retry_s);
		evhttp_add_header(evhttp_request_get_output_headers(r->req), "Retry-After", v);
	}
	dm_req_reply(r, status, "application/problem+json", text, strlen(text));
	free(text);
}

json_t *
dm_req_body_json(struct dm_req *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	char detail[300];
	const char *data = (const char *)evbuffer_pullup(in, -1);
	json_t *v = json_loadb(data != NULL ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		snprintf(detail, sizeof detail, "malformed JSON at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		dm_req_problem(r, DM_PROBLEM_MALFORMED_REQUEST, detail, NULL);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		dm_req_problem(r, DM_PROBLEM_MALFORMED_REQUEST, "the body must be a JSON object", NULL);
		return NULL;
	}
	return v;
}

/* libevent 2.1's own error answers in problem+json. libevent answers some
 * requests without calling us: a request line or headers it cannot parse or
 * that exceed max_header_bytes (400), a body whose Content-Length exceeds
 * max_body_bytes (413), each through evhttp_send_error, whose page is HTML.
 * libevent 2.1 has no hook for that page (2.2's evhttp_set_errorcb is one),
 * but it calls evhttp_send_error through the dynamic symbol table, so this
 * definition in the executable takes its place, for libevent's calls and ours.
 * tests/integration/test_bad_input.py checks the answers; if a libevent
 * build ever binds the call internally they turn HTML again and it fails.
 * What evhttp_send_error promises: an answer with status error (mapped to
 * the problem kind's own status), Connection: close, and the request freed
 * once written; with no memory, the connection is dropped unanswered. */
void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	(void)reason; /* libevent's reason phrase; the detail is ours (no escaping needed) */
	enum dm_problem kind = DM_PROBLEM_MALFORMED_REQUEST;
	const char *detail = "the request line or headers are malformed, or the headers are "
			     "larger than server.max_header_bytes";
	if (error == 413) {
		kind = DM_PROBLEM_BODY_TOO_LARGE;
		detail = "the body is larger than server.max_body_bytes";
	} else if (error == 404) {
		kind = DM_PROBLEM_NOT_FOUND;
		detail = "no such resource";
	} else if (error == 501) {
		detail = "the request method is not one this server knows"; /* a 4xx: the client's */
	} else if (error == 503) {
		kind = DM_PROBLEM_OUT_OF_MEMORY;
		detail = "out of memory";
	} else if (error >= 500) {
		kind = DM_PROBLEM_INTERNAL;
		detail = "the HTTP server failed";
	}
	struct evbuffer *buf = evbuffer_new();
	if (buf == NULL) {
		evhttp_connection_free(evhttp_request_get_connection(req));
		return;
	}
	int status = dm_problem_status(kind);
	evbuffer_add_printf(buf, "{\"type\":\"%s\",\"title\":\"%s\",\"status\":%d,\"detail\":\"%s\"}",
			    dm_problem_type(kind), dm_problem_title(kind), status, detail);
	/* As libevent's own page does: a request line that did not parse left
	 * no version, and the answer needs one. */
	if (req->major == 0) {
		req->major = 1;
		req->minor = 1;
	}
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	evhttp_clear_headers(out);
	evhttp_add_header(out, "Content-Type", "application/problem+json");
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "Connection", "close");
	evhttp_send_reply(req, status, dm_http_status_title(status), buf);
	evbuffer_free(buf);
}

static void
dm_http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_req *r = arg;
	(void)fd;
	(void)what;
	dm_req_problem(r, DM_PROBLEM_BACKEND_TIMEOUT, "timed out waiting for a backend", NULL);
}

/* Why the query string qs, parsed into query, is not text every handler
 * can take as it is (a parameter decoding to a NUL byte, which a C string
 * would cut short, or to bytes that are not UTF-8, which PostgreSQL refuses
 * as a query parameter), or NULL when it is. */
static const char *
dm_http_query_text(const char *qs, const struct evkeyvalq *query)
{
	for (const char *p = strchr(qs, '%'); p != NULL; p = strchr(p + 1, '%'))
		if (p[1] == '0' && p[2] == '0')
			return "a query parameter decodes to a NUL byte";
	const struct evkeyval *kv;
	TAILQ_FOREACH(kv, query, next)
	{
		if (!dm_route_match_utf8(kv->key, strlen(kv->key)) ||
		    !dm_route_match_utf8(kv->value, strlen(kv->value)))
			return "a query parameter is not UTF-8 text";
	}
	return NULL;
}

/* One request on either listener: the public one serves every route, the
 * operators' one only DM_ROUTE_OPERATOR routes. */
static void
dm_http_serve(struct dm_daemon *d, struct evhttp_request *req, bool operator_listener)
{
	struct dm_req *r = calloc(1, sizeof *r);
	enum evhttp_cmd_type method = evhttp_request_get_command(req);
	if (r == NULL) {
		evhttp_send_error(req, 503, "out of memory");
		return;
	}
	r->d = d;
	r->req = req;
	r->refs = 1;
	r->operator_listener = operator_listener;
	r->start_s = dm_clock_mono_s();
	r->method = dm_http_method_name(method);
	r->cfg = dm_cfg_snap_ref(d->cfg);
	TAILQ_INIT(&r->query);
	d->inflight++;
	const char *rid = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
	if (rid != NULL && strlen(rid) < sizeof r->id && strspn(rid, "abcdefghijklmnopqrstuvwxyz"
								     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
								     "0123456789-_.") ==
								  strlen(rid))
		snprintf(r->id, sizeof r->id, "%s", rid);
	else
		snprintf(r->id, sizeof r->id, "r%" PRIx64, ++d->request_seq);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, dm_http_closed_cb, r);
	r->deadline = evtimer_new(d->base, dm_http_deadline_cb, r);
	if (r->deadline == NULL) {
		dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
		return;
	}
	struct timeval tv = {r->cfg->cfg->request_timeout_ms / 1000,
			     (r->cfg->cfg->request_timeout_ms % 1000) * 1000};
	evtimer_add(r->deadline, &tv);

	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || path[0] != '/') {
		dm_req_problem(r, DM_PROBLEM_MALFORMED_REQUEST, "the request target must be an absolute path", NULL);
		return;
	}
	const char *qs = evhttp_uri_get_query(uri);
	if (qs != NULL && evhttp_parse_query_str(qs, &r->query) != 0) {
		dm_req_problem(r, DM_PROBLEM_MALFORMED_REQUEST, "malformed query string", NULL);
		return;
	}
	const char *why = qs != NULL ? dm_http_query_text(qs, &r->query) : NULL;
	if (why != NULL) {
		dm_req_problem(r, DM_PROBLEM_MALFORMED_REQUEST, why, NULL);
		return;
	}
	int allowed;
	r->route = dm_http_route(r, path, method, &allowed);
	if (operator_listener && r->route != NULL && !(r->route->flags & DM_ROUTE_OPERATOR)) {
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "not served on the operators' listener", NULL);
		return;
	}
	if (r->route == NULL) {
		if (allowed == 0) {
			dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such resource", NULL);
			return;
		}
		char allow[96] = "";
		for (int m = 1; m & DM_HTTP_ALL_METHODS; m <<= 1) {
			if (!(allowed & m))
				continue;
			if (allow[0] != '\0')
				strcat(allow, ", ");
			strcat(allow, dm_http_method_name((enum evhttp_cmd_type)m));
		}
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		char detail[160];
		snprintf(detail, sizeof detail, "method %s is not allowed here; allowed: %s",
			 r->method, allow);
		dm_req_problem(r, DM_PROBLEM_METHOD_NOT_ALLOWED, detail, NULL);
		return;
	}
	long limit = r->route->body_limit == DM_ROUTE_NO_BODY ? 0
		     : r->route->body_limit > 0	   ? r->route->body_limit
						   : r->cfg->cfg->max_body_bytes;
	size_t blen = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	if ((long)blen > limit) {
		char detail[128];
		snprintf(detail, sizeof detail, "the body is %zu bytes; this resource takes at most %ld",
			 blen, limit);
		dm_req_problem(r, DM_PROBLEM_BODY_TOO_LARGE, detail, NULL);
		return;
	}
	if (d->draining) {
		dm_req_problem(r, DM_PROBLEM_DRAINING, "shutting down", NULL);
		return;
	}
	if (d->admit != NULL && !d->admit(r))
		return;
	r->route->handler(r);
}

static void
dm_http_request_cb(struct evhttp_request *req, void *arg)
{
	dm_http_serve(arg, req, false);
}

static void
dm_http_operator_request_cb(struct evhttp_request *req, void *arg)
{
	dm_http_serve(arg, req, true);
}

void
dm_http_configure(struct dm_daemon *d)
{
	const struct cfg *cfg = d->cfg->cfg;
	evhttp_set_max_body_size(d->http, (ev_ssize_t)cfg->max_body_bytes);
	evhttp_set_max_headers_size(d->http, (ev_ssize_t)cfg->max_header_bytes);
	evhttp_set_timeout(d->http, 60);
	if (d->admin_http != NULL) {
		evhttp_set_max_body_size(d->admin_http, 4096);
		evhttp_set_max_headers_size(d->admin_http, (ev_ssize_t)cfg->max_header_bytes);
		evhttp_set_timeout(d->admin_http, 60);
	}
}

static int dm_http_bound_port(struct evhttp_bound_socket *bound);

/* How long a listener pauses after accept() failed for want of a file
 * descriptor (or memory): libevent would otherwise call accept() again at
 * once, for as long as the socket stays readable, and log each failure. */
#define DM_HTTP_ACCEPT_PAUSE_MS 100

static void
dm_http_listener_resume(struct evhttp_bound_socket *b, void *arg)
{
	(void)arg;
	struct evconnlistener *lev = evhttp_bound_socket_get_listener(b);
	if (lev != NULL)
		evconnlistener_enable(lev);
}

/* The pause is over: every listener still bound to this server (a drain
 * removes them from it, so none is touched after it was freed). */
static void
dm_http_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	evhttp_foreach_bound_socket(arg, dm_http_listener_resume, NULL);
}

/* accept() failed with an error libevent does not retry (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM). arg is the listener's struct evhttp (libevent's own
 * callback argument). The clients wait in the kernel's backlog while the
 * listener pauses; one warning per pause, so at most ten a second. */
static void
dm_http_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, DM_HTTP_ACCEPT_PAUSE_MS * 1000};
	evconnlistener_disable(lev);
	if (event_base_once(evconnlistener_get_base(lev), -1, EV_TIMEOUT, dm_http_accept_resume_cb,
			    arg, &tv) != 0) {
		evconnlistener_enable(lev); /* no timer: keep serving rather than stop */
		return;
	}
	dm_log_warning("http", "accept() failed: %s; pausing the listener %d ms",
		       evutil_socket_error_to_string(err), DM_HTTP_ACCEPT_PAUSE_MS);
}

/* Pause b's listener when accept() fails (dm_http_accept_error_cb). */
static void
dm_http_on_accept_error(struct evhttp_bound_socket *b)
{
	struct evconnlistener *lev = evhttp_bound_socket_get_listener(b);
	if (lev != NULL)
		evconnlistener_set_error_cb(lev, dm_http_accept_error_cb);
}

/* The operators' listener (server.admin_listen_address), when configured. */
static int
dm_http_start_operator(struct dm_daemon *d)
{
	const struct cfg *cfg = d->cfg->cfg;
	if (cfg->admin_listen_address[0] == '\0')
		return 0;
	d->admin_http = evhttp_new(d->base);
	if (d->admin_http == NULL)
		return -1;
	/* Every method reaches dm_http_serve, which answers 404 or 405 in
	 * problem+json (libevent would answer 501 itself). */
	evhttp_set_allowed_methods(d->admin_http, DM_HTTP_ALL_METHODS);
	evhttp_set_gencb(d->admin_http, dm_http_operator_request_cb, d);
	d->admin_listener = evhttp_bind_socket_with_handle(d->admin_http, cfg->admin_listen_address,
							   (ev_uint16_t)cfg->admin_listen_port);
	if (d->admin_listener == NULL) {
		dm_log_error("http", "cannot listen on %s:%d (admin_listen)",
			     cfg->admin_listen_address, cfg->admin_listen_port);
		return -1;
	}
	dm_http_on_accept_error(d->admin_listener);
	dm_log_info("http", "operators' listener on %s:%d", cfg->admin_listen_address,
		    dm_http_bound_port(d->admin_listener));
	return 0;
}

static int
dm_http_bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = evhttp_bound_socket_get_fd(bound);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int
dm_http_start(struct dm_daemon *d)
{
	const struct cfg *cfg = d->cfg->cfg;
	d->http = evhttp_new(d->base);
	if (d->http == NULL) {
		dm_log_error("http", "cannot create the HTTP server");
		return -1;
	}
	evhttp_set_allowed_methods(d->http, DM_HTTP_ALL_METHODS);
	evhttp_set_gencb(d->http, dm_http_request_cb, d);
	if (dm_http_start_operator(d) != 0)
		return -1;
	dm_http_configure(d);
	int nfds = dm_sd_listen_fds();
	if (nfds > 0) {
		dm_log_warning("http", "socket activation: %d fd(s) from systemd; listen_address "
				       "and listen_port are ignored",
			       nfds);
		for (int i = 0; i < nfds && i < DM_DAEMON_MAX_LISTENERS; i++) {
			evutil_make_socket_nonblocking(dm_sd_listen_fd(i));
			struct evhttp_bound_socket *b =
				evhttp_accept_socket_with_handle(d->http, dm_sd_listen_fd(i));
			if (b == NULL) {
				dm_log_error("http", "cannot accept on fd %d", dm_sd_listen_fd(i));
				return -1;
			}
			d->listen_port = dm_http_bound_port(b);
			dm_http_on_accept_error(b);
			if (d->nlisteners < DM_DAEMON_MAX_LISTENERS)
				d->listeners[d->nlisteners++] = b;
		}
		return 0;
	}
	struct evhttp_bound_socket *b =
		evhttp_bind_socket_with_handle(d->http, cfg->listen_address, (ev_uint16_t)cfg->listen_port);
	if (b == NULL) {
		dm_log_error("http", "cannot listen on %s:%d", cfg->listen_address, cfg->listen_port);
		return -1;
	}
	d->listen_port = dm_http_bound_port(b);
	dm_http_on_accept_error(b);
	d->listeners[d->nlisteners++] = b;
	dm_log_info("http", "listening on %s:%d", cfg->listen_address, d->listen_port);
	return 0;
}

void
dm_http_stop_accepting(struct dm_daemon *d)
{
	for (int i = 0; i < d->nlisteners; i++)
		evhttp_del_accept_socket(d->http, d->listeners[i]);
	d->nlisteners = 0;
	if (d->admin_listener != NULL)
		evhttp_del_accept_socket(d->admin_http, d->admin_listener);
	d->admin_listener = NULL;
}
