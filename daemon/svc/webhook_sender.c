/* The webhook sender (see webhook_sender.h). It owns the claim timer, the
 * evdns_base its HTTP connections resolve names with, and the deliveries in
 * flight (a list, so that free can reach every one). It does not own the
 * outbox's rules (what is due, when a delivery is dead): those are the SQL
 * functions webhook_claim and webhook_report.
 *
 * https:// receivers get an OpenSSL bufferevent under the evhttp
 * connection: TLS 1.2 or later, the certificate verified against
 * [webhooks] ca_file (or the system's CAs) and matched to the URL's host
 * name or IP address (one SSL_CTX per sender, made at start).
 *
 * A delivery's life: claimed (a row with a lease) -> SENDING (one evhttp
 * connection and request, and a deadline timer) -> the request's callback
 * or the deadline records the outcome and activates the delivery's timer
 * -> the timer frees the connection (never inside the connection's own
 * callback) and sends the report -> the report's answer frees the delivery. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/base/backoff.h"
#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/pg.h"
#include "daemon/svc/webhook_sender.h"

/* A claim's lease beyond the delivery's own deadline: time to report. */
#define DM_WEBHOOK_SENDER_LEASE_EXTRA_S 30
/* Bytes of a failure reason kept (the column keeps 300). */
#define DM_WEBHOOK_SENDER_ERROR_MAX 200

enum dm_webhook_sender_state {
	DM_WEBHOOK_SENDER_SENDING,   /* the request is out */
	DM_WEBHOOK_SENDER_FINISHED,  /* an outcome is known; the timer will report it */
	DM_WEBHOOK_SENDER_REPORTING, /* webhook_report is in flight */
};

struct dm_webhook_sender_delivery {
	struct dm_webhook_sender *s;
	struct dm_webhook_sender_delivery *prev, *next;
	enum dm_webhook_sender_state state;
	char id[24];    /* webhook_outbox.id, decimal */
	char lease[40]; /* the claim's uuid */
	char event[64];
	int attempts;   /* before this one */
	struct evhttp_connection *conn;
	struct bufferevent *bev; /* https: the TLS bufferevent, owned by conn */
	struct event *timer; /* the deadline, then the step after the outcome */
	int status;     /* HTTP status of the answer; 0: none came */
	char error[DM_WEBHOOK_SENDER_ERROR_MAX];
};

struct dm_webhook_sender {
	struct dm_daemon *d;
	struct event *tick;
	struct evdns_base *dns;
	SSL_CTX *tls;  /* for https:// receivers */
	int poll_ms;
	bool claiming;
	struct dm_webhook_sender_delivery *head;
	struct dm_webhook_sender_stats stats;
};

void
dm_webhook_sender_sign(const char *secret, int64_t t_s, const char *body, size_t len, char *out,
		       size_t cap)
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char ts[24], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	int n = snprintf(ts, sizeof ts, "%lld", (long long)t_s);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
	snprintf(out, cap, "t=%s,v1=%s", ts, hex);
	sodium_memzero(&st, sizeof st);
}

static const struct cfg *
dm_webhook_sender_cfg(const struct dm_webhook_sender *s)
{
	return s->d->cfg->cfg;
}

static void
dm_webhook_sender_unlink(struct dm_webhook_sender_delivery *dl)
{
	struct dm_webhook_sender *s = dl->s;
	if (dl->prev != NULL)
		dl->prev->next = dl->next;
	else
		s->head = dl->next;
	if (dl->next != NULL)
		dl->next->prev = dl->prev;
	s->stats.inflight--;
}

/* Free dl (unlinked first). Never from the connection's own callback. */
static void
dm_webhook_sender_delivery_free(struct dm_webhook_sender_delivery *dl)
{
	dm_webhook_sender_unlink(dl);
	if (dl->conn != NULL)
		evhttp_connection_free(dl->conn);
	if (dl->timer != NULL)
		event_free(dl->timer);
	free(dl);
}

static void
dm_webhook_sender_report_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_webhook_sender_delivery *dl = arg;
	if (!reply->ok)
		dm_log_warning("webhook", "delivery %s: recording the attempt failed (%s); it is "
					  "sent again when its lease lapses",
			       dl->id, reply->error);
	else if (PQntuples(reply->res) != 1 || PQgetisnull(reply->res, 0, 0))
		dm_log_warning("webhook", "delivery %s: its lease lapsed before the outcome was "
					  "recorded",
			       dl->id);
	else if (strcmp(PQgetvalue(reply->res, 0, 0), "dead") == 0) {
		dl->s->stats.dead_total++;
		dm_log_warning("webhook", "delivery %s (%s) is dead after %d attempts: %s", dl->id,
			       dl->event, dl->attempts + 1, dl->error);
	}
	dm_webhook_sender_delivery_free(dl);
}

/* The outcome is known (or the deadline passed): free the connection and
 * record the attempt. */
static void
dm_webhook_sender_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_webhook_sender_delivery *dl = arg;
	struct dm_webhook_sender *s = dl->s;
	const struct cfg *cfg = dm_webhook_sender_cfg(s);
	(void)fd;
	(void)what;
	if (dl->state == DM_WEBHOOK_SENDER_SENDING) {
		snprintf(dl->error, sizeof dl->error, "no answer within %d ms",
			 cfg->webhooks_timeout_ms);
		dl->status = 0;
	}
	if (dl->conn != NULL) {
		evhttp_connection_free(dl->conn);
		dl->conn = NULL;
	}
	bool ok = dl->status >= 200 && dl->status < 300;
	if (ok)
		s->stats.delivered_total++;
	else
		s->stats.failed_total++;
	dm_log_debug("webhook", "delivery %s attempt %d: %d %s", dl->id, dl->attempts + 1,
		     dl->status, ok ? "ok" : dl->error);
	int64_t now_s;
	int32_t off_s;
	dm_clock_now(&now_s, &off_s);
	int64_t delay_ms = dm_backoff_jitter_ms(dl->attempts + 1, cfg->webhooks_retry_min_ms,
						(int64_t)cfg->webhooks_retry_max_s * 1000,
						randombytes_random());
	char now[24], status[16], delay[32], window[16];
	snprintf(now, sizeof now, "%lld", (long long)now_s);
	snprintf(status, sizeof status, "%d", dl->status);
	snprintf(delay, sizeof delay, "%.3f", (double)delay_ms / 1000.0);
	snprintf(window, sizeof window, "%d", cfg->webhooks_retry_window_s);
	const char *params[] = {dl->id, dl->lease, ok ? "true" : "false",
				dl->status > 0 ? status : NULL, dl->error, now, delay, window};
	dl->state = DM_WEBHOOK_SENDER_REPORTING;
	if (dm_pg_query(s->d->pg,
			"SELECT webhook_report($1::bigint, $2::uuid, $3::boolean, $4::integer, $5, "
			"to_timestamp($6::double precision), $7::double precision, $8::integer)",
			8, params, dm_webhook_sender_report_done, dl) != 0) {
		dm_log_warning("webhook", "delivery %s: PostgreSQL unavailable to record the "
					  "attempt; it is sent again when its lease lapses",
			       dl->id);
		dm_webhook_sender_delivery_free(dl);
	}
}

static void
dm_webhook_sender_finish(struct dm_webhook_sender_delivery *dl)
{
	if (dl->state != DM_WEBHOOK_SENDER_SENDING)
		return;
	dl->state = DM_WEBHOOK_SENDER_FINISHED;
	event_del(dl->timer);
	event_active(dl->timer, EV_TIMEOUT, 1);
}

static void
dm_webhook_sender_error_cb(enum evhttp_request_error err, void *arg)
{
	struct dm_webhook_sender_delivery *dl = arg;
	const char *why = "failed";
	switch (err) {
	case EVREQ_HTTP_TIMEOUT: why = "timed out"; break;
	case EVREQ_HTTP_EOF: why = "connection closed before an answer"; break;
	case EVREQ_HTTP_INVALID_HEADER: why = "invalid answer header"; break;
	case EVREQ_HTTP_BUFFER_ERROR: why = "connection failed"; break;
	case EVREQ_HTTP_DATA_TOO_LONG: why = "answer too long"; break;
	default: break;
	}
	unsigned long tls = dl->bev != NULL ? bufferevent_get_openssl_error(dl->bev) : 0;
	if (tls != 0) {
		const char *reason = ERR_reason_error_string(tls);
		snprintf(dl->error, sizeof dl->error, "tls: %s", reason != NULL ? reason : "failed");
		return;
	}
	snprintf(dl->error, sizeof dl->error, "%s", why);
}

static void
dm_webhook_sender_done_cb(struct evhttp_request *req, void *arg)
{
	struct dm_webhook_sender_delivery *dl = arg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	dl->status = code;
	if (code == 0 && dl->error[0] == '\0')
		snprintf(dl->error, sizeof dl->error, "connection failed");
	else if (code != 0 && (code < 200 || code >= 300))
		snprintf(dl->error, sizeof dl->error, "answered %d", code);
	dm_webhook_sender_finish(dl);
}

/* An evhttp connection to host:port over TLS: the certificate must chain
 * to the sender's CAs and name host (a DNS name, or an IP address in its
 * subjectAltName). NULL when out of memory (dl->bev stays NULL). */
static struct evhttp_connection *
dm_webhook_sender_tls_conn(struct dm_webhook_sender_delivery *dl, const char *host,
			   unsigned short port)
{
	struct dm_webhook_sender *s = dl->s;
	unsigned char addr[16];
	SSL *ssl = SSL_new(s->tls);
	if (ssl == NULL)
		return NULL;
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	bool ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) != 1
	       : (X509_VERIFY_PARAM_set1_host(param, host, 0) != 1 ||
		  SSL_set_tlsext_host_name(ssl, host) != 1)) {
		SSL_free(ssl);
		return NULL;
	}
	/* The bufferevent owns ssl from here, and the connection owns it. */
	struct bufferevent *bev = bufferevent_openssl_socket_new(
		s->d->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Receivers often close without a TLS close_notify after answering. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	struct evhttp_connection *conn =
		evhttp_connection_base_bufferevent_new(s->d->base, s->dns, bev, host, port);
	if (conn == NULL) {
		bufferevent_free(bev);
		return NULL;
	}
	dl->bev = bev;
	return conn;
}

/* Build and send the request of dl. Returns 0, or -1 with dl->error set
 * (the caller reports the failure). */
static int
dm_webhook_sender_send(struct dm_webhook_sender_delivery *dl, const char *url,
		       const char *secret, const char *body, size_t len)
{
	struct dm_webhook_sender *s = dl->s;
	const struct cfg *cfg = dm_webhook_sender_cfg(s);
	struct evhttp_uri *uri = evhttp_uri_parse(url);
	int rc = -1;
	const char *scheme = uri != NULL ? evhttp_uri_get_scheme(uri) : NULL;
	const char *host = uri != NULL ? evhttp_uri_get_host(uri) : NULL;
	bool https = scheme != NULL && strcmp(scheme, "https") == 0;
	if (scheme == NULL || (!https && strcmp(scheme, "http") != 0) || host == NULL ||
	    host[0] == '\0') {
		snprintf(dl->error, sizeof dl->error, "not an http:// or https:// URL");
		goto out;
	}
	int port = evhttp_uri_get_port(uri);
	const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
	char target[DM_WEBHOOK_SENDER_URL_MAX + 2];
	snprintf(target, sizeof target, "%s%s%s", path != NULL && path[0] != '\0' ? path : "/",
		 query != NULL ? "?" : "", query != NULL ? query : "");
	unsigned short p = (unsigned short)(port > 0 ? port : https ? 443 : 80);
	if (https)
		dl->conn = dm_webhook_sender_tls_conn(dl, host, p);
	else
		dl->conn = evhttp_connection_base_new(s->d->base, s->dns, host, p);
	struct evhttp_request *req =
		dl->conn != NULL ? evhttp_request_new(dm_webhook_sender_done_cb, dl) : NULL;
	if (req == NULL) {
		snprintf(dl->error, sizeof dl->error, "out of memory");
		goto out;
	}
	struct timeval tv = dm_backoff_tv(cfg->webhooks_timeout_ms);
	evhttp_connection_set_timeout_tv(dl->conn, &tv);
	evhttp_connection_set_retries(dl->conn, 0);
	evhttp_request_set_error_cb(req, dm_webhook_sender_error_cb);
	char sig[160], host_hdr[300];
	dm_webhook_sender_sign(secret, (int64_t)time(NULL), body, len, sig, sizeof sig);
	if (port > 0)
		snprintf(host_hdr, sizeof host_hdr, "%s:%d", host, port);
	else
		snprintf(host_hdr, sizeof host_hdr, "%s", host);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", host_hdr);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "dispatchd-webhooks/" DISPATCH_VERSION);
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "Dispatch-Event", dl->event);
	evhttp_add_header(h, "Dispatch-Delivery", dl->id);
	evhttp_add_header(h, "Dispatch-Signature", sig);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	/* evhttp_make_request frees req itself when it fails. */
	if (evhttp_make_request(dl->conn, req, EVHTTP_REQ_POST, target) != 0) {
		snprintf(dl->error, sizeof dl->error, "cannot send the request");
		goto out;
	}
	/* The whole attempt's deadline: connect, send and answer (a receiver
	 * dripping bytes resets evhttp's per-read timeout, never this one). */
	struct timeval deadline = dm_backoff_tv(cfg->webhooks_timeout_ms + 500);
	event_add(dl->timer, &deadline);
	rc = 0;
out:
	if (uri != NULL) /* libevent 2.1's evhttp_uri_free(NULL) dereferences it */
		evhttp_uri_free(uri);
	return rc;
}

/* One claimed row (i of res) into a delivery on its way. */
static void
dm_webhook_sender_start(struct dm_webhook_sender *s, const PGresult *res, int i)
{
	struct dm_webhook_sender_delivery *dl = calloc(1, sizeof *dl);
	if (dl == NULL) {
		dm_log_error("webhook", "out of memory: delivery %s waits for its lease to lapse",
			     PQgetvalue(res, i, 0));
		return;
	}
	dl->s = s;
	dl->state = DM_WEBHOOK_SENDER_SENDING;
	snprintf(dl->id, sizeof dl->id, "%s", PQgetvalue(res, i, 0));
	snprintf(dl->lease, sizeof dl->lease, "%s", PQgetvalue(res, i, 1));
	snprintf(dl->event, sizeof dl->event, "%s", PQgetvalue(res, i, 4));
	dl->attempts = atoi(PQgetvalue(res, i, 6));
	dl->next = s->head;
	if (s->head != NULL)
		s->head->prev = dl;
	s->head = dl;
	s->stats.inflight++;
	dl->timer = evtimer_new(s->d->base, dm_webhook_sender_step_cb, dl);
	if (dl->timer == NULL) {
		dm_log_error("webhook", "out of memory: delivery %s waits for its lease to lapse",
			     dl->id);
		dm_webhook_sender_delivery_free(dl);
		return;
	}
	if (dm_webhook_sender_send(dl, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
				   PQgetvalue(res, i, 5), (size_t)PQgetlength(res, i, 5)) != 0) {
		dl->status = 0;
		dm_webhook_sender_finish(dl);
	}
}

static void
dm_webhook_sender_claim_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_webhook_sender *s = arg;
	s->claiming = false;
	if (!reply->ok) {
		/* Before migration 025 the function is missing: say so once per
		 * poll at debug only; anything else is worth a warning. */
		if (strcmp(reply->sqlstate, "42883") == 0 || strcmp(reply->sqlstate, "42P01") == 0)
			dm_log_debug("webhook", "outbox not migrated yet: %s", reply->error);
		else if (!reply->unavailable)
			dm_log_warning("webhook", "claiming deliveries failed: %s", reply->error);
		return;
	}
	int n = PQntuples(reply->res);
	s->stats.claimed_total += (uint64_t)n;
	for (int i = 0; i < n; i++)
		dm_webhook_sender_start(s, reply->res, i);
}

static void
dm_webhook_sender_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_webhook_sender *s = arg;
	const struct cfg *cfg = dm_webhook_sender_cfg(s);
	(void)fd;
	(void)what;
	if (s->poll_ms != cfg->webhooks_poll_interval_ms)
		dm_webhook_sender_configure(s);
	int room = cfg->webhooks_concurrency - s->stats.inflight;
	if (s->claiming || room <= 0 || s->d->draining || !dm_pg_up(s->d->pg))
		return;
	int64_t now_s;
	int32_t off_s;
	dm_clock_now(&now_s, &off_s);
	char now[24], limit[16], lease[16];
	snprintf(now, sizeof now, "%lld", (long long)now_s);
	snprintf(limit, sizeof limit, "%d", room);
	snprintf(lease, sizeof lease, "%d",
		 cfg->webhooks_timeout_ms / 1000 + 1 + DM_WEBHOOK_SENDER_LEASE_EXTRA_S);
	const char *params[] = {now, limit, lease};
	if (dm_pg_query(s->d->pg,
			"SELECT id, lease, url, secret, event, body, attempts FROM "
			"webhook_claim(to_timestamp($1::double precision), $2::integer, $3::integer)",
			3, params, dm_webhook_sender_claim_done, s) == 0)
		s->claiming = true;
}

void
dm_webhook_sender_configure(struct dm_webhook_sender *s)
{
	s->poll_ms = dm_webhook_sender_cfg(s)->webhooks_poll_interval_ms;
	struct timeval tv = dm_backoff_tv(s->poll_ms);
	event_del(s->tick);
	event_add(s->tick, &tv);
}

/* The TLS context of https:// deliveries: TLS 1.2 or later, peers
 * verified against [webhooks] ca_file or the system's CAs. Returns 0, or -1
 * after logging why (an unreadable ca_file fails the start). */
static int
dm_webhook_sender_tls_new(struct dm_webhook_sender *s)
{
	const char *ca = dm_webhook_sender_cfg(s)->webhooks_ca_file;
	s->tls = SSL_CTX_new(TLS_client_method());
	if (s->tls == NULL || SSL_CTX_set_min_proto_version(s->tls, TLS1_2_VERSION) != 1) {
		dm_log_error("webhook", "cannot make the TLS context");
		return -1;
	}
	SSL_CTX_set_verify(s->tls, SSL_VERIFY_PEER, NULL);
	if (ca[0] != '\0' ? SSL_CTX_load_verify_locations(s->tls, ca, NULL) != 1
			  : SSL_CTX_set_default_verify_paths(s->tls) != 1) {
		unsigned long e = ERR_get_error();
		dm_log_error("webhook", "cannot load the CA certificates%s%s: %s",
			     ca[0] != '\0' ? " of " : "", ca,
			     ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : "?");
		return -1;
	}
	return 0;
}

struct dm_webhook_sender *
dm_webhook_sender_new(struct dm_daemon *d)
{
	struct dm_webhook_sender *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->d = d;
	/* Names are resolved on the loop (never getaddrinfo's blocking call);
	 * without /etc/resolv.conf only numeric hosts work. */
	s->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (s->dns == NULL) {
		dm_log_warning("webhook", "no name servers (/etc/resolv.conf): webhook URLs must "
					  "name numeric hosts");
		s->dns = evdns_base_new(d->base, 0);
	}
	s->tick = event_new(d->base, -1, EV_PERSIST, dm_webhook_sender_tick_cb, s);
	if (s->dns == NULL || s->tick == NULL || dm_webhook_sender_tls_new(s) != 0) {
		dm_webhook_sender_free(s);
		return NULL;
	}
	dm_webhook_sender_configure(s);
	return s;
}

void
dm_webhook_sender_free(struct dm_webhook_sender *s)
{
	if (s == NULL)
		return;
	while (s->head != NULL)
		dm_webhook_sender_delivery_free(s->head);
	if (s->tick != NULL)
		event_free(s->tick);
	if (s->dns != NULL)
		evdns_base_free(s->dns, 0);
	SSL_CTX_free(s->tls);
	free(s);
}

void
dm_webhook_sender_stats_get(const struct dm_webhook_sender *s,
			    struct dm_webhook_sender_stats *out)
{
	*out = s->stats;
}

void
dm_webhook_sender_metrics_render(const struct dm_webhook_sender *s, struct evbuffer *out)
{
	if (s == NULL)
		return;
	evbuffer_add_printf(
		out,
		"# HELP dispatchd_webhook_deliveries_inflight Webhook deliveries being sent now.\n"
		"# TYPE dispatchd_webhook_deliveries_inflight gauge\n"
		"dispatchd_webhook_deliveries_inflight %d\n"
		"# TYPE dispatchd_webhook_claimed_total counter\n"
		"dispatchd_webhook_claimed_total %llu\n"
		"# HELP dispatchd_webhook_attempts_total Webhook attempts by outcome.\n"
		"# TYPE dispatchd_webhook_attempts_total counter\n"
		"dispatchd_webhook_attempts_total{result=\"delivered\"} %llu\n"
		"dispatchd_webhook_attempts_total{result=\"failed\"} %llu\n"
		"# TYPE dispatchd_webhook_dead_total counter\n"
		"dispatchd_webhook_dead_total %llu\n",
		s->stats.inflight, (unsigned long long)s->stats.claimed_total,
		(unsigned long long)s->stats.delivered_total,
		(unsigned long long)s->stats.failed_total, (unsigned long long)s->stats.dead_total);
}
