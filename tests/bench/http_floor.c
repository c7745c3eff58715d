/* dispatch-http-floor: the HTTP floor of `make bench`. A minimal evhttp
 * server on one event loop (as dispatchd runs) that answers every request,
 * whatever its method and path, with 200 and one fixed JSON body. Driven by
 * the same wrk settings as the promise benchmark, it measures what libevent's
 * HTTP server alone does on this machine, so that promise_req_per_s can be
 * read as a fraction of it (promise_vs_http_floor). It owns only its socket
 * and its loop: no config, no logging, no backends; it links libevent only. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BENCH_HTTP_FLOOR_MAX_BODY (1u << 20)

/* The reply: body_len bytes, shared by every request (never copied). */
struct bench_http_floor {
	char *body;
	size_t body_len;
};

static void
bench_http_floor_usage(FILE *out)
{
	fprintf(out, "usage: dispatch-http-floor [--address A] [--port N] [--body-bytes N]\n"
		     "  Answers every request with 200 and a fixed JSON body of N bytes (default\n"
		     "  64, at least 12). Port 0 (the default) lets the kernel choose; the port\n"
		     "  is printed as \"port=N\" once listening. SIGTERM or SIGINT stops it.\n");
}

/* {"floor":"xxx…"} padded to exactly len bytes (len >= 12). */
static char *
bench_http_floor_body_new(size_t len)
{
	static const char head[] = "{\"floor\":\"", tail[] = "\"}";
	char *b = malloc(len);

	if (b == NULL)
		return NULL;
	memcpy(b, head, sizeof head - 1);
	memset(b + sizeof head - 1, 'x', len - (sizeof head - 1) - (sizeof tail - 1));
	memcpy(b + len - (sizeof tail - 1), tail, sizeof tail - 1);
	return b;
}

static void
bench_http_floor_request_cb(struct evhttp_request *req, void *arg)
{
	const struct bench_http_floor *f = arg;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	if (evbuffer_add_reference(out, f->body, f->body_len, NULL, NULL) != 0) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
bench_http_floor_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

static int
bench_http_floor_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

int
main(int argc, char **argv)
{
	const char *address = "127.0.0.1";
	long port = 0, body_bytes = 64;
	struct bench_http_floor f = {0};
	struct event_base *base = NULL;
	struct evhttp *http = NULL;
	struct evhttp_bound_socket *bound;
	struct event *sigterm = NULL, *sigint = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			bench_http_floor_usage(stdout);
			return 0;
		}
		if (v == NULL) {
			bench_http_floor_usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(a, "--address") == 0) {
			address = v;
			continue;
		}
		long n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0') {
			bench_http_floor_usage(stderr);
			return 2;
		}
		if (strcmp(a, "--port") == 0 && n >= 0 && n <= 65535)
			port = n;
		else if (strcmp(a, "--body-bytes") == 0 && n >= 12 &&
			 n <= (long)BENCH_HTTP_FLOOR_MAX_BODY)
			body_bytes = n;
		else {
			bench_http_floor_usage(stderr);
			return 2;
		}
	}

	signal(SIGPIPE, SIG_IGN);
	f.body_len = (size_t)body_bytes;
	if ((f.body = bench_http_floor_body_new(f.body_len)) == NULL ||
	    (base = event_base_new()) == NULL || (http = evhttp_new(base)) == NULL) {
		fprintf(stderr, "dispatch-http-floor: out of memory\n");
		goto fail;
	}
	/* As dispatchd: any method, the same idle timeout. */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						 EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						 EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_timeout(http, 60);
	evhttp_set_gencb(http, bench_http_floor_request_cb, &f);
	bound = evhttp_bind_socket_with_handle(http, address, (ev_uint16_t)port);
	if (bound == NULL) {
		fprintf(stderr, "dispatch-http-floor: cannot listen on %s:%ld\n", address, port);
		goto fail;
	}
	sigterm = evsignal_new(base, SIGTERM, bench_http_floor_signal_cb, base);
	sigint = evsignal_new(base, SIGINT, bench_http_floor_signal_cb, base);
	if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 ||
	    event_add(sigint, NULL) != 0) {
		fprintf(stderr, "dispatch-http-floor: cannot watch signals\n");
		goto fail;
	}
	printf("port=%d\n", bench_http_floor_port(bound));
	fflush(stdout);
	rc = event_base_dispatch(base) == 0 ? 0 : 1;
fail:
	if (sigint != NULL)
		event_free(sigint);
	if (sigterm != NULL)
		event_free(sigterm);
	if (http != NULL)
		evhttp_free(http);
	if (base != NULL)
		event_base_free(base);
	free(f.body);
	return rc;
}
