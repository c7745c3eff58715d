/* A streaming JSON writer into an evbuffer, for the hottest responses
 * (GET /v1/promise): no tree, no allocation per value. jansson stays the
 * rule everywhere else; this exists because building a jansson tree cost
 * a third of the promise endpoint's CPU (measured with perf). Commas and
 * string escaping are handled here; nesting depth is bounded. */
#ifndef DM_JSONW_H
#define DM_JSONW_H

#include <event2/buffer.h>
#include <stdbool.h>

#define DM_JSONW_MAX_DEPTH 16

struct dm_jsonw {
	struct evbuffer *buf; /* borrowed */
	int depth;
	bool first[DM_JSONW_MAX_DEPTH]; /* no member written yet at this depth */
};

/* Start writing into buf (borrowed). */
void dm_jsonw_init(struct dm_jsonw *w, struct evbuffer *buf);

/* Open/close an object or array; key is the member name inside an object,
 * NULL inside an array or at the top. */
void dm_jsonw_object(struct dm_jsonw *w, const char *key);
void dm_jsonw_array(struct dm_jsonw *w, const char *key);
void dm_jsonw_end_object(struct dm_jsonw *w);
void dm_jsonw_end_array(struct dm_jsonw *w);

/* Scalars (value may be NULL for dm_jsonw_string: writes null). */
void dm_jsonw_string(struct dm_jsonw *w, const char *key, const char *value);
void dm_jsonw_int(struct dm_jsonw *w, const char *key, long long value);
void dm_jsonw_bool(struct dm_jsonw *w, const char *key, bool value);

#endif
