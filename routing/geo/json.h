/* GeoJSON FeatureCollection reader for polygonal areas, from a buffer.
 *
 * Accepts {"type":"FeatureCollection","features":[...]} where each feature
 * is {"type":"Feature","id":...,"properties":{...},"geometry":{...}} with a
 * Polygon or MultiPolygon geometry. The id is the feature's "id" (string or
 * integer) or else properties.id; properties.name and properties.kind are
 * kept. Rejected, with a message naming the feature index, its id when known
 * and the reason: malformed JSON (line and column), a missing or non-polygon
 * geometry, a position that is not [lon, lat] numbers, NaN or infinite or out
 * of range coordinates (|lon| > 180, |lat| > 90), empty polygons and rings,
 * rings of fewer than 4 positions, unclosed rings, missing or duplicate ids,
 * and anything over the limits. The document is accepted whole or not at all.
 * Threads: any thread, with its own context. */
#ifndef RT_GEO_JSON_H
#define RT_GEO_JSON_H

#include <stddef.h>

#include "routing/common/err.h"
#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"

/* Limits and filters for rt_geo_json_parse. */
struct rt_geo_json_opts {
	size_t max_bytes;	     /* document size; default 64 MiB */
	size_t max_features;	     /* features in the document; default 100000 */
	size_t max_vertices;	     /* positions in the whole document; default 5000000 */
	size_t max_feature_vertices; /* positions in one feature; default 1000000 */
	size_t max_id_len;	     /* bytes of an id; default 64 */
	const char *kind;	     /* keep only features whose properties.kind equals this;
					NULL keeps all (borrowed for the call) */
};

/* Fill `opts` with the defaults above. */
void rt_geo_json_opts_default(struct rt_geo_json_opts *opts);

/* Parse `len` bytes of GeoJSON into a new area set (in document order) built
 * with `ctx`. `opts` may be NULL for the defaults. On success *out is owned by
 * the caller (rt_geo_areas_free). On failure *out is NULL and `err` says why:
 * RT_E_PARSE for bad or oversized input, RT_E_NOMEM, RT_E_GEOS. The geometry
 * is not yet validated: run rt_geo_repair_run next. */
RT_MUST_CHECK enum rt_status rt_geo_json_parse(struct rt_geo_ctx *ctx, const char *buf, size_t len,
					       const struct rt_geo_json_opts *opts,
					       struct rt_geo_areas **out, struct rt_err *err);

/* The areas as a GeoJSON FeatureCollection, one feature per line, each with
 * its id, its properties (as read, or {"name","kind"}) and its current
 * geometry (coordinates to 7 decimals). `members` (may be NULL) is JSON text
 * of extra top-level members, e.g. "\"generator\":{...}", inserted verbatim.
 * *out is malloc'd and NUL-terminated; free() it. */
RT_MUST_CHECK enum rt_status rt_geo_json_write(const struct rt_geo_areas *areas,
					       const char *members, char **out, size_t *len,
					       struct rt_err *err);

#endif
