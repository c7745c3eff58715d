/* Prometheus metrics: HTTP request counters and latency histograms per
 * route and status, rendered in the text exposition format. Gauges of
 * dependency state are rendered by the caller (they are read, not stored). */
#ifndef DM_METRICS_H
#define DM_METRICS_H

#include <event2/buffer.h>

struct dm_metrics;

/* An empty registry; NULL on OOM. */
struct dm_metrics *dm_metrics_new(void);

/* Count one request on route (a static route name) with status and latency. */
void dm_metrics_observe(struct dm_metrics *m, const char *route, const char *method, int status,
			double seconds);

/* Append the counters and histograms in Prometheus text format to out. */
void dm_metrics_render(const struct dm_metrics *m, struct evbuffer *out);

/* Free the registry; NULL is a no-op. */
void dm_metrics_free(struct dm_metrics *m);

#endif
