/* The metrics registry: one series per (route, method, status), each a
 * request counter and a latency histogram. Route names are the static
 * patterns of the routing table, so the label set stays bounded. Used from
 * the loop thread only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/metrics.h"

static const double dm_metrics_bounds_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					     0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define DM_METRICS_NBOUNDS (sizeof dm_metrics_bounds_s / sizeof dm_metrics_bounds_s[0])
#define DM_METRICS_MAX_SERIES 512

struct dm_metrics_series {
	const char *route;
	const char *method;
	int status;
	unsigned long count;
	double sum_s;
	unsigned long buckets[DM_METRICS_NBOUNDS]; /* non-cumulative */
};

struct dm_metrics {
	size_t n;
	struct dm_metrics_series series[DM_METRICS_MAX_SERIES];
};

struct dm_metrics *
dm_metrics_new(void)
{
	return calloc(1, sizeof(struct dm_metrics));
}

void
dm_metrics_free(struct dm_metrics *m)
{
	free(m);
}

static struct dm_metrics_series *
dm_metrics_find(struct dm_metrics *m, const char *route, const char *method, int status)
{
	for (size_t i = 0; i < m->n; i++) {
		struct dm_metrics_series *s = &m->series[i];
		if (s->status == status && strcmp(s->route, route) == 0 &&
		    strcmp(s->method, method) == 0)
			return s;
	}
	if (m->n == DM_METRICS_MAX_SERIES)
		return NULL;
	struct dm_metrics_series *s = &m->series[m->n++];
	s->route = route;
	s->method = method;
	s->status = status;
	return s;
}

void
dm_metrics_observe(struct dm_metrics *m, const char *route, const char *method, int status,
		   double seconds)
{
	struct dm_metrics_series *s = dm_metrics_find(m, route, method, status);
	if (s == NULL)
		return;
	s->count++;
	s->sum_s += seconds;
	for (size_t b = 0; b < DM_METRICS_NBOUNDS; b++) {
		if (seconds <= dm_metrics_bounds_s[b]) {
			s->buckets[b]++;
			break;
		}
	}
}

void
dm_metrics_render(const struct dm_metrics *m, struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP dispatchd_http_requests_total HTTP requests answered.\n"
				 "# TYPE dispatchd_http_requests_total counter\n");
	for (size_t i = 0; i < m->n; i++) {
		const struct dm_metrics_series *s = &m->series[i];
		evbuffer_add_printf(out,
				    "dispatchd_http_requests_total{route=\"%s\",method=\"%s\","
				    "status=\"%d\"} %lu\n",
				    s->route, s->method, s->status, s->count);
	}
	evbuffer_add_printf(out,
			    "# HELP dispatchd_http_request_duration_seconds Time from request "
			    "read to reply queued.\n"
			    "# TYPE dispatchd_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->n; i++) {
		const struct dm_metrics_series *s = &m->series[i];
		unsigned long cum = 0;
		char labels[256];
		snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",status=\"%d\"", s->route,
			 s->method, s->status);
		for (size_t b = 0; b < DM_METRICS_NBOUNDS; b++) {
			cum += s->buckets[b];
			evbuffer_add_printf(out,
					    "dispatchd_http_request_duration_seconds_bucket{%s,"
					    "le=\"%g\"} %lu\n",
					    labels, dm_metrics_bounds_s[b], cum);
		}
		evbuffer_add_printf(out,
				    "dispatchd_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} "
				    "%lu\n"
				    "dispatchd_http_request_duration_seconds_sum{%s} %.6f\n"
				    "dispatchd_http_request_duration_seconds_count{%s} %lu\n",
				    labels, s->count, labels, s->sum_s, labels, s->count);
	}
}
