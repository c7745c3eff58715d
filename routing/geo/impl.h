/* Private to the routing/geo sources: the layouts and helpers the geo modules share.
 * Nothing outside routing/geo/ includes this header; the public headers keep
 * GEOS types out of their signatures. */
#ifndef RT_GEO_IMPL_H
#define RT_GEO_IMPL_H

#define GEOS_USE_ONLY_R_API
#include <geos_c.h>
#include <stdbool.h>
#include <stddef.h>

#include "routing/common/err.h"
#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"

struct rt_geo_ctx {
	GEOSContextHandle_t h;
	char geos_msg[256]; /* last GEOS error (or notice), NUL terminated */
};

/* What the repair and overlap steps did to one area, for the report. */
struct rt_geo_area_report {
	bool checked;		 /* rt_geo_repair_run has looked at it */
	bool valid_before;	 /* GEOS validity of the parsed geometry */
	char reason[128];	 /* GEOS's reason when invalid */
	bool has_location;	 /* reason came with a location */
	double loc_lon, loc_lat; /* where GEOS found the problem, degrees */
	bool made_valid;	 /* GEOSMakeValid (structure method) was applied */
	int parts_before;	 /* polygons before repair */
	int parts_after;	 /* polygons after repair */
	double area_parsed_m2;	 /* as read (off if self-intersecting) */
	double area_repaired_m2; /* after repair */
	bool resolved;		 /* rt_geo_areas_resolve has run */
	int overlapped_by;	 /* number of lower-id areas it overlapped */
	int slivers_dropped;	 /* polygon parts under the minimum part area dropped */
	double area_resolved_m2; /* after overlap resolution */
};

struct rt_geo_area {
	char *id;	    /* owned, NUL terminated, unique within the set */
	char *name;	    /* owned, may be NULL */
	char *kind;	    /* owned, may be NULL */
	char *props_json;   /* owned compact JSON object text, may be NULL */
	long src_index;	    /* feature index in the source document, -1 if added otherwise */
	GEOSGeometry *geom; /* owned; polygonal: as read, then repaired, then resolved */
	struct rt_geo_area_report rep;
};

struct rt_geo_areas {
	struct rt_geo_ctx *ctx; /* borrowed, outlives the set */
	struct rt_geo_area *v;
	size_t n, cap;
	bool repaired; /* rt_geo_repair_run completed */
	bool resolved; /* rt_geo_areas_resolve completed */
};

/* ctx.c: forget the last GEOS message before a call whose failure we report. */
void rt_geo_ctx_clear(struct rt_geo_ctx *ctx);
/* ctx.c: fill `err` with RT_E_GEOS, `what` and the last GEOS message; returns RT_E_GEOS. */
enum rt_status rt_geo_ctx_fail(struct rt_geo_ctx *ctx, struct rt_err *err, const char *what);

/* areas.c: append an area; takes ownership of `geom` even on failure. Strings are copied. */
enum rt_status rt_geo_areas_push(struct rt_geo_areas *areas, const char *id, const char *name,
				 const char *kind, const char *props_json, long src_index,
				 GEOSGeometry *geom, struct rt_err *err);
/* areas.c: spherical area in m2 of a polygonal geometry (holes subtracted); 0 for others. */
double rt_geo_areas_geom_m2(GEOSContextHandle_t h, const GEOSGeometry *g);

/* repair.c: a new MultiPolygon holding only the polygon parts of `g`
 * (recursing into collections) whose area is at least min_part_m2; NULL on
 * GEOS failure. `dropped` (may be NULL) counts the parts left out. */
GEOSGeometry *rt_geo_repair_polygonal(GEOSContextHandle_t h, const GEOSGeometry *g,
				      double min_part_m2, int *dropped);

/* json.c: a growable text buffer; `oom` is sticky so writers check once at the end. */
struct rt_geo_json_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void rt_geo_json_buf_add(struct rt_geo_json_buf *b, const char *s, size_t n);
void rt_geo_json_buf_str(struct rt_geo_json_buf *b, const char *s);
void rt_geo_json_buf_fmt(struct rt_geo_json_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A number with at most 7 decimals (1 cm in degrees), trailing zeros trimmed. */
void rt_geo_json_buf_num(struct rt_geo_json_buf *b, double v);
/* A JSON string literal, escaped. */
void rt_geo_json_buf_quote(struct rt_geo_json_buf *b, const char *s);
/* Finish a writer whose status so far is st: on success (and no OOM) hand
 * the text to *out (the caller frees it), else free it and return the error. */
enum rt_status rt_geo_json_buf_take(struct rt_geo_json_buf *b, enum rt_status st, char **out,
				    struct rt_err *err);
/* A polygonal geometry as a GeoJSON Polygon or MultiPolygon object. */
enum rt_status rt_geo_json_buf_geom(struct rt_geo_json_buf *b, GEOSContextHandle_t h,
				    const GEOSGeometry *g, struct rt_err *err);

#endif
