/* dispatch-feed-bench: the station feed's figures for `make bench`
 * (scripts/bench_feed.sh). It keeps --polls long polls waiting at once on a
 * running dispatchd (GET /v1/stations/{id}/feed?wait=60, one connection
 * each, spread over --stations stations, each poll asking again with its
 * next cursor as soon as it is answered, as a station's client does) while
 * it commits --changes changes at --rate per second through
 * station_feed_add on its own PostgreSQL connection. It prints
 *   feed_wakeup_p99_ms   commit -> answer: from just before the commit is
 *                        sent to the answer carrying the change, over every
 *                        (poll, change); includes the commit itself
 *   feed_pg_connections  the most backends named dispatchd* seen in
 *                        pg_stat_activity during the run (the pool and the
 *                        feed's listener: waiting polls must add none)
 * and the counts that say the run was valid (every poll ends at its
 * station's head, no answer other than 200, no gap). Its own program: it
 * links libevent, libpq and jansson; dispatch-bench stays core-only. The
 * token (admin, or station holding every bench station) is read from the
 * environment variable named by --token-env (BENCH_ADMIN_TOKEN). */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#define BENCH_FEED_ID_LEN 32

struct bench_feed;

/* One long poll: its connection, station and cursor. */
struct bench_feed_poll {
	struct bench_feed *b;
	struct evhttp_connection *conn;
	int station;
	int64_t cursor;
	bool waiting; /* a request is out */
};

struct bench_feed {
	struct event_base *base;
	PGconn *pg;
	char host[128];
	int port;
	const char *token;
	int npolls, nstations, nchanges;
	double rate;
	struct bench_feed_poll *polls;
	int64_t *heads;     /* per station: the last seq committed */
	int64_t *base_seq;  /* per station: its head before the run */
	double **commit_s;  /* per station: commit start time of seq base+1+i */
	int sent;           /* changes committed */
	double *samples;    /* wake-up latencies, ms */
	size_t nsamples, cap;
	long answers, errors, gaps;
	int pg_max;
	struct event *tick;
	double done_by_s;   /* give up waiting for the last answers then */
	bool stopping;
};

static double
bench_feed_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_feed_station_id(int i, char out[BENCH_FEED_ID_LEN])
{
	snprintf(out, BENCH_FEED_ID_LEN, "bench-st-%04d", i);
}

static void bench_feed_send(struct bench_feed_poll *p);

static void
bench_feed_sample(struct bench_feed *b, double ms)
{
	if (b->nsamples == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		double *s = realloc(b->samples, cap * sizeof *s);
		if (s == NULL)
			return;
		b->samples = s;
		b->cap = cap;
	}
	b->samples[b->nsamples++] = ms;
}

/* One answer: take its changes (in order, no gap), sample each, ask again. */
static void
bench_feed_answer(struct bench_feed_poll *p, struct evhttp_request *req)
{
	struct bench_feed *b = p->b;
	double now = bench_feed_now_s();
	if (req == NULL || evhttp_request_get_response_code(req) != 200) {
		b->errors++;
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	json_t *doc = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, NULL);
	json_t *changes = json_object_get(doc, "changes");
	if (!json_is_array(changes)) {
		b->errors++;
		json_decref(doc);
		return;
	}
	b->answers++;
	size_t i;
	json_t *c;
	json_array_foreach(changes, i, c) {
		int64_t seq = json_integer_value(json_object_get(c, "seq"));
		if (seq != p->cursor + 1)
			b->gaps++;
		p->cursor = seq;
		int64_t k = seq - b->base_seq[p->station] - 1;
		if (k >= 0 && k < b->nchanges && b->commit_s[p->station][k] > 0)
			bench_feed_sample(b, (now - b->commit_s[p->station][k]) * 1e3);
	}
	json_decref(doc);
}

static void
bench_feed_done_cb(struct evhttp_request *req, void *arg)
{
	struct bench_feed_poll *p = arg;
	p->waiting = false;
	bench_feed_answer(p, req);
	if (!p->b->stopping)
		bench_feed_send(p);
}

static void
bench_feed_send(struct bench_feed_poll *p)
{
	struct bench_feed *b = p->b;
	char id[BENCH_FEED_ID_LEN], uri[160], auth[512];
	struct evhttp_request *req = evhttp_request_new(bench_feed_done_cb, p);
	if (req == NULL) {
		b->errors++;
		return;
	}
	bench_feed_station_id(p->station, id);
	snprintf(uri, sizeof uri, "/v1/stations/%s/feed?cursor=%" PRId64 "&wait=60&limit=500", id,
		 p->cursor);
	snprintf(auth, sizeof auth, "Bearer %s", b->token);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", b->host);
	evhttp_add_header(h, "Authorization", auth);
	if (evhttp_make_request(p->conn, req, EVHTTP_REQ_GET, uri) != 0) {
		b->errors++;
		return;
	}
	p->waiting = true;
}

/* Backends of the daemon(s): the pool and the feed's listener. */
static void
bench_feed_count_backends(struct bench_feed *b)
{
	PGresult *res = PQexec(b->pg, "SELECT count(*) FROM pg_stat_activity "
				      "WHERE application_name LIKE 'dispatchd%'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		int n = atoi(PQgetvalue(res, 0, 0));
		if (n > b->pg_max)
			b->pg_max = n;
	}
	PQclear(res);
}

static bool
bench_feed_all_caught_up(const struct bench_feed *b)
{
	for (int i = 0; i < b->npolls; i++)
		if (b->polls[i].cursor != b->heads[b->polls[i].station])
			return false;
	return true;
}

/* The change timer: commit the next change (stations in turn), count the
 * backends now and then; after the last change, wait for the answers. */
static void
bench_feed_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench_feed *b = arg;
	(void)fd;
	(void)what;
	if (b->sent < b->nchanges) {
		int st = b->sent % b->nstations;
		char id[BENCH_FEED_ID_LEN];
		bench_feed_station_id(st, id);
		const char *params[] = {id};
		int64_t k = b->heads[st] - b->base_seq[st];
		double t0 = bench_feed_now_s();
		PGresult *res = PQexecParams(b->pg, "SELECT station_feed_add($1, 'bench.change', '{}')",
					     1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK) {
			b->heads[st] = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			if (k >= 0 && k < b->nchanges)
				b->commit_s[st][k] = t0;
		} else {
			fprintf(stderr, "feed-bench: station_feed_add: %s", PQerrorMessage(b->pg));
			b->errors++;
		}
		PQclear(res);
		if (++b->sent % 10 == 0)
			bench_feed_count_backends(b);
		if (b->sent == b->nchanges)
			b->done_by_s = bench_feed_now_s() + 10;
		return;
	}
	if (bench_feed_all_caught_up(b) || bench_feed_now_s() > b->done_by_s) {
		bench_feed_count_backends(b);
		event_base_loopbreak(b->base);
	}
}

static int
bench_feed_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
bench_feed_usage(FILE *out)
{
	fprintf(out, "usage: dispatch-feed-bench --url http://HOST:PORT --dsn DSN [--polls N]\n"
		     "         [--stations N] [--changes N] [--rate PER_S] [--token-env NAME]\n"
		     "  defaults: 1000 polls over 100 stations, 400 changes at 100/s,\n"
		     "  the token in $BENCH_ADMIN_TOKEN\n");
}

/* The polls' starting cursors: each station's head now. */
static int
bench_feed_read_heads(struct bench_feed *b)
{
	for (int i = 0; i < b->nstations; i++) {
		char id[BENCH_FEED_ID_LEN];
		bench_feed_station_id(i, id);
		const char *params[] = {id};
		PGresult *res = PQexecParams(b->pg, "SELECT coalesce((SELECT seq FROM "
						    "station_feed_heads WHERE station_id = $1), 0)",
					     1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			fprintf(stderr, "feed-bench: %s", PQerrorMessage(b->pg));
			PQclear(res);
			return -1;
		}
		b->heads[i] = b->base_seq[i] = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		b->commit_s[i] = calloc((size_t)b->nchanges, sizeof(double));
		if (b->commit_s[i] == NULL)
			return -1;
	}
	return 0;
}

static int
bench_feed_run(struct bench_feed *b)
{
	if (bench_feed_read_heads(b) != 0)
		return 1;
	for (int i = 0; i < b->npolls; i++) {
		struct bench_feed_poll *p = &b->polls[i];
		p->b = b;
		p->station = i % b->nstations;
		p->cursor = b->heads[p->station];
		p->conn = evhttp_connection_base_new(b->base, NULL, b->host, (ev_uint16_t)b->port);
		if (p->conn == NULL)
			return 1;
		evhttp_connection_set_timeout(p->conn, 120);
		bench_feed_send(p);
	}
	/* Let every poll reach the daemon and wait before the first change. */
	struct timeval settle = {1, 0};
	event_base_loopexit(b->base, &settle);
	event_base_dispatch(b->base);
	bench_feed_count_backends(b);
	b->tick = event_new(b->base, -1, EV_PERSIST, bench_feed_tick_cb, b);
	double every_s = 1.0 / b->rate;
	struct timeval tv = {(long)every_s, (long)((every_s - (long)every_s) * 1e6)};
	if (b->tick == NULL || event_add(b->tick, &tv) != 0)
		return 1;
	event_base_dispatch(b->base);
	b->stopping = true;

	long missed = 0;
	for (int i = 0; i < b->npolls; i++)
		if (b->polls[i].cursor != b->heads[b->polls[i].station])
			missed++;
	qsort(b->samples, b->nsamples, sizeof *b->samples, bench_feed_cmp);
	double p50 = b->nsamples ? b->samples[b->nsamples / 2] : 0;
	double p99 = b->nsamples ? b->samples[(size_t)((double)(b->nsamples - 1) * 0.99)] : 0;
	printf("# %d polls over %d stations, %d changes at %.0f/s\n", b->npolls, b->nstations,
	       b->nchanges, b->rate);
	printf("feed_polls=%d\nfeed_stations=%d\nfeed_changes=%d\n", b->npolls, b->nstations,
	       b->sent);
	printf("feed_answers=%ld\nfeed_wakeups=%zu\n", b->answers, b->nsamples);
	printf("feed_errors=%ld\nfeed_gaps=%ld\nfeed_missed=%ld\n", b->errors, b->gaps, missed);
	printf("feed_wakeup_p50_ms=%.2f\n", p50);
	printf("feed_pg_connections=%d\n", b->pg_max);
	printf("feed_wakeup_p99_ms=%.2f\n", p99);
	return b->errors == 0 && b->gaps == 0 && missed == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},     {"dsn", required_argument, NULL, 'd'},
		{"polls", required_argument, NULL, 'p'},   {"stations", required_argument, NULL, 's'},
		{"changes", required_argument, NULL, 'c'}, {"rate", required_argument, NULL, 'r'},
		{"token-env", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench_feed b = {.npolls = 1000, .nstations = 100, .nchanges = 400, .rate = 100};
	const char *url = NULL, *dsn = NULL, *token_env = "BENCH_ADMIN_TOKEN";
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'u': url = optarg; break;
		case 'd': dsn = optarg; break;
		case 'p': b.npolls = atoi(optarg); break;
		case 's': b.nstations = atoi(optarg); break;
		case 'c': b.nchanges = atoi(optarg); break;
		case 'r': b.rate = atof(optarg); break;
		case 't': token_env = optarg; break;
		case 'h': bench_feed_usage(stdout); return 0;
		default: bench_feed_usage(stderr); return 2;
		}
	}
	if (url == NULL || dsn == NULL || optind != argc || b.npolls < 1 || b.nstations < 1 ||
	    b.nstations > 9999 || b.nchanges < 1 || b.rate <= 0 ||
	    sscanf(url, "http://%127[^:]:%d", b.host, &b.port) != 2) {
		bench_feed_usage(stderr);
		return 2;
	}
	b.token = getenv(token_env);
	if (b.token == NULL || b.token[0] == '\0' || strlen(b.token) > 400) {
		fprintf(stderr, "feed-bench: no token in $%s\n", token_env);
		return 2;
	}
	b.pg = PQconnectdb(dsn);
	if (PQstatus(b.pg) != CONNECTION_OK) {
		fprintf(stderr, "feed-bench: %s", PQerrorMessage(b.pg));
		PQfinish(b.pg);
		return 1;
	}
	b.base = event_base_new();
	b.polls = calloc((size_t)b.npolls, sizeof *b.polls);
	b.heads = calloc((size_t)b.nstations, sizeof *b.heads);
	b.base_seq = calloc((size_t)b.nstations, sizeof *b.base_seq);
	b.commit_s = calloc((size_t)b.nstations, sizeof *b.commit_s);
	int rc = 1;
	if (b.base != NULL && b.polls != NULL && b.heads != NULL && b.base_seq != NULL &&
	    b.commit_s != NULL)
		rc = bench_feed_run(&b);
	for (int i = 0; b.polls != NULL && i < b.npolls; i++)
		if (b.polls[i].conn != NULL)
			evhttp_connection_free(b.polls[i].conn);
	for (int i = 0; b.commit_s != NULL && i < b.nstations; i++)
		free(b.commit_s[i]);
	if (b.tick != NULL)
		event_free(b.tick);
	if (b.base != NULL)
		event_base_free(b.base);
	free(b.polls);
	free(b.heads);
	free(b.base_seq);
	free(b.commit_s);
	free(b.samples);
	PQfinish(b.pg);
	return rc;
}
