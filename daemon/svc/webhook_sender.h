/* The webhook sender: each daemon runs one. A timer claims due deliveries
 * from the PostgreSQL outbox (data/sql/webhook_claim.sql: FOR UPDATE SKIP
 * LOCKED with a lease, so several daemons never send one row at once),
 * POSTs each with libevent's HTTP client (asynchronous DNS through an
 * evdns_base, https:// over OpenSSL bufferevents with the certificate
 * verified, a per-delivery deadline, at most [webhooks] concurrency at
 * once), signs the body with the subscription's secret (HMAC-SHA256 over
 * "<timestamp>.<body>", header Dispatch-Signature), and records the outcome
 * (data/sql/webhook_report.sql): a 2xx is delivered, anything else is
 * retried with jittered exponential backoff until [webhooks] retry_window_s
 * after the event, then dead. Due times use dm_clock_now (the [testing]
 * clock), so tests move time; the signature's timestamp is the real time,
 * which receivers compare with their own clock. Loop thread only. */
#ifndef DM_WEBHOOK_SENDER_H
#define DM_WEBHOOK_SENDER_H

#include <stddef.h>
#include <stdint.h>

struct dm_daemon;
struct dm_webhook_sender;
struct evbuffer;

/* Longest URL a subscription may have (bytes). */
#define DM_WEBHOOK_SENDER_URL_MAX 2048

/* Counters for /metrics and tests. */
struct dm_webhook_sender_stats {
	int inflight;              /* deliveries being sent now */
	uint64_t claimed_total;    /* rows claimed from the outbox */
	uint64_t delivered_total;  /* attempts answered 2xx */
	uint64_t failed_total;     /* attempts that failed (status, connection, timeout) */
	uint64_t dead_total;       /* deliveries this daemon marked dead */
};

/* Start d's sender: its first look at the outbox is one poll interval
 * away. NULL (after logging why) when out of memory, the timer cannot be
 * created, or the CA certificates ([webhooks] ca_file) cannot be read. */
struct dm_webhook_sender *dm_webhook_sender_new(struct dm_daemon *d);

/* Take the reloadable [webhooks] settings of d's current config (the poll
 * interval; the rest is read per claim). */
void dm_webhook_sender_configure(struct dm_webhook_sender *s);

/* Stop and free: deliveries in flight are abandoned (their leases lapse and
 * another attempt follows). Call after dm_pg_free, whose failing callbacks
 * still reach the sender. NULL is a no-op. */
void dm_webhook_sender_free(struct dm_webhook_sender *s);

/* Copy the counters into out. */
void dm_webhook_sender_stats_get(const struct dm_webhook_sender *s,
				 struct dm_webhook_sender_stats *out);

/* Append the sender's Prometheus series to out:
 * dispatchd_webhook_deliveries_inflight, dispatchd_webhook_claimed_total,
 * dispatchd_webhook_attempts_total{result="delivered"|"failed"},
 * dispatchd_webhook_dead_total. */
void dm_webhook_sender_metrics_render(const struct dm_webhook_sender *s, struct evbuffer *out);

/* The signature header value "t=<t_s>,v1=<hex>" of body (len bytes) under
 * secret, into out (cap bytes, at least 80). Pure; any thread. */
void dm_webhook_sender_sign(const char *secret, int64_t t_s, const char *body, size_t len,
			    char *out, size_t cap);

#endif
