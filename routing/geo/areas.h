/* A set of named polygonal areas (districts, station service areas,
 * warehouse regions) and the overlap rule that makes them disjoint.
 *
 * Pipeline: rt_geo_json_parse (or rt_geo_areas_add_wkb for stored areas)
 * -> rt_geo_repair_run -> rt_geo_areas_resolve -> rt_geo_index_new.
 *
 * Overlap rule (rt_geo_areas_resolve): areas are ranked by id, compared
 * bytewise (strcmp; use zero-padded ids). An area keeps its repaired geometry
 * minus every lower-ranked area, so where two areas overlap the lower id wins.
 * Parts left smaller than RT_GEO_AREAS_MIN_PART_M2 are dropped as slivers.
 * The overlay is GEOS's snap-rounding one on a RT_GEO_AREAS_GRID grid, so its
 * output is always valid. The result does not depend on the order of the
 * input.
 *
 * Threads: a set belongs to the thread of the context it was built with. */
#ifndef RT_GEO_AREAS_H
#define RT_GEO_AREAS_H

#include <stddef.h>

#include "routing/common/err.h"
#include "routing/geo/ctx.h"

/* Polygon parts smaller than this (m2) are dropped by repair and resolution. */
#define RT_GEO_AREAS_MIN_PART_M2 1.0
/* Overlap resolution snaps the areas it trims to this grid (degrees, ~0.1 mm). */
#define RT_GEO_AREAS_GRID 1e-9

/* Opaque set of areas; owns its strings and geometries. */
struct rt_geo_areas;

/* New empty set using `ctx` (borrowed: it must outlive the set); NULL and `err` on failure. */
struct rt_geo_areas *rt_geo_areas_new(struct rt_geo_ctx *ctx, struct rt_err *err);

/* Free a set and everything it owns (NULL is a no-op). */
void rt_geo_areas_free(struct rt_geo_areas *areas);

/* Number of areas; they are numbered 0..count-1 in insertion (document) order. */
size_t rt_geo_areas_count(const struct rt_geo_areas *areas);

/* Id of area i; the pointer lives as long as the set. */
const char *rt_geo_areas_id(const struct rt_geo_areas *areas, size_t i);

/* properties.name of area i, or NULL; lives as long as the set. */
const char *rt_geo_areas_name(const struct rt_geo_areas *areas, size_t i);

/* properties.kind of area i (e.g. "station"), or NULL; lives as long as the set. */
const char *rt_geo_areas_kind(const struct rt_geo_areas *areas, size_t i);

/* The feature's properties as compact JSON object text, or NULL; lives as long as the set. */
const char *rt_geo_areas_props_json(const struct rt_geo_areas *areas, size_t i);

/* Index of the area with this id, or -1. Linear scan. */
long rt_geo_areas_find(const struct rt_geo_areas *areas, const char *id);

/* Current area of area i in square metres (spherical Earth). */
double rt_geo_areas_area_m2(const struct rt_geo_areas *areas, size_t i);

/* Append an area from OGC WKB (as stored by PostGIS: ST_AsBinary(geom)).
 * Strings are copied; name, kind and props_json may be NULL. Fails with
 * RT_E_PARSE (message names the id) on bad WKB, a non-polygonal or empty
 * geometry, coordinates out of range or not finite; RT_E_INVAL on a
 * duplicate id. The set is unchanged on failure. */
RT_MUST_CHECK enum rt_status rt_geo_areas_add_wkb(struct rt_geo_areas *areas, const char *id,
						  const char *name, const char *kind,
						  const char *props_json, const unsigned char *wkb,
						  size_t len, struct rt_err *err);

/* Area i as 2D little-endian OGC WKB (for PostGIS: ST_GeomFromWKB($1, 4326)).
 * On success *out is a malloc'd buffer the caller frees with free(). */
RT_MUST_CHECK enum rt_status rt_geo_areas_wkb(const struct rt_geo_areas *areas, size_t i,
					      unsigned char **out, size_t *len, struct rt_err *err);

/* Area i as a GeoJSON geometry object (Polygon or MultiPolygon) text.
 * On success *out is a malloc'd NUL-terminated string the caller frees with free(). */
RT_MUST_CHECK enum rt_status rt_geo_areas_geojson(const struct rt_geo_areas *areas, size_t i,
						  char **out, struct rt_err *err);

/* Make the areas disjoint by the overlap rule above (see the file comment).
 * Call after rt_geo_repair_run. Records per-area figures for the repair
 * report. An area may end up empty (wholly covered by lower ids): it is kept,
 * reported, and never matches a lookup. On failure the set is unchanged. */
RT_MUST_CHECK enum rt_status rt_geo_areas_resolve(struct rt_geo_areas *areas, struct rt_err *err);

#endif
