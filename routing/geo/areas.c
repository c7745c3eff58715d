/* The area set: named polygonal areas with their properties, WKB and GeoJSON
 * export, and the overlap rule that makes them disjoint. It owns the area
 * strings and geometries; it does not read documents (json.c), repair
 * geometry (repair.c) or answer point queries (index.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "routing/geo/areas.h"
#include "routing/common/distance.h"
#include "routing/geo/impl.h"

struct rt_geo_areas *
rt_geo_areas_new(struct rt_geo_ctx *ctx, struct rt_err *err)
{
	struct rt_geo_areas *areas = calloc(1, sizeof *areas);

	if (areas == NULL) {
		rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		return NULL;
	}
	areas->ctx = ctx;
	return areas;
}

static void
rt_geo_areas_area_fini(GEOSContextHandle_t h, struct rt_geo_area *a)
{
	free(a->id);
	free(a->name);
	free(a->kind);
	free(a->props_json);
	if (a->geom != NULL)
		GEOSGeom_destroy_r(h, a->geom);
}

void
rt_geo_areas_free(struct rt_geo_areas *areas)
{
	if (areas == NULL)
		return;
	for (size_t i = 0; i < areas->n; i++)
		rt_geo_areas_area_fini(areas->ctx->h, &areas->v[i]);
	free(areas->v);
	free(areas);
}

size_t
rt_geo_areas_count(const struct rt_geo_areas *areas)
{
	return areas->n;
}

const char *
rt_geo_areas_id(const struct rt_geo_areas *areas, size_t i)
{
	return i < areas->n ? areas->v[i].id : NULL;
}

const char *
rt_geo_areas_name(const struct rt_geo_areas *areas, size_t i)
{
	return i < areas->n ? areas->v[i].name : NULL;
}

const char *
rt_geo_areas_kind(const struct rt_geo_areas *areas, size_t i)
{
	return i < areas->n ? areas->v[i].kind : NULL;
}

const char *
rt_geo_areas_props_json(const struct rt_geo_areas *areas, size_t i)
{
	return i < areas->n ? areas->v[i].props_json : NULL;
}

long
rt_geo_areas_find(const struct rt_geo_areas *areas, const char *id)
{
	for (size_t i = 0; i < areas->n; i++)
		if (strcmp(areas->v[i].id, id) == 0)
			return (long)i;
	return -1;
}

static char *
rt_geo_areas_strdup(const char *s, bool *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*oom = true;
	return d;
}

enum rt_status
rt_geo_areas_push(struct rt_geo_areas *areas, const char *id, const char *name, const char *kind,
		  const char *props_json, long src_index, GEOSGeometry *geom, struct rt_err *err)
{
	struct rt_geo_area *a;
	bool oom = false;

	if (areas->n == areas->cap) {
		size_t cap = areas->cap ? areas->cap * 2 : 16;
		struct rt_geo_area *v = realloc(areas->v, cap * sizeof *v);

		if (v == NULL) {
			GEOSGeom_destroy_r(areas->ctx->h, geom);
			return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		}
		areas->v = v;
		areas->cap = cap;
	}
	a = &areas->v[areas->n];
	memset(a, 0, sizeof *a);
	a->id = rt_geo_areas_strdup(id, &oom);
	a->name = rt_geo_areas_strdup(name, &oom);
	a->kind = rt_geo_areas_strdup(kind, &oom);
	a->props_json = rt_geo_areas_strdup(props_json, &oom);
	a->src_index = src_index;
	a->geom = geom;
	if (oom || a->id == NULL) {
		rt_geo_areas_area_fini(areas->ctx->h, a);
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	}
	areas->n++;
	areas->repaired = false;
	areas->resolved = false;
	return RT_OK;
}

/* Area of one ring read from GEOS, or -1 on failure. */
static double
rt_geo_areas_ring_m2(GEOSContextHandle_t h, const GEOSGeometry *ring)
{
	const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
	unsigned int n = 0;
	double *xy, m2;

	if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n))
		return -1.0;
	if (n < 3)
		return 0.0;
	xy = malloc((size_t)n * 2 * sizeof *xy);
	if (xy == NULL)
		return -1.0;
	if (!GEOSCoordSeq_copyToBuffer_r(h, cs, xy, 0, 0)) {
		free(xy);
		return -1.0;
	}
	m2 = rt_distance_ring_area_m2(xy, n);
	free(xy);
	return m2;
}

static double
rt_geo_areas_polygon_m2(GEOSContextHandle_t h, const GEOSGeometry *poly)
{
	const GEOSGeometry *shell = GEOSGetExteriorRing_r(h, poly);
	int holes = GEOSGetNumInteriorRings_r(h, poly);
	double m2;

	if (shell == NULL || holes < 0)
		return 0.0;
	m2 = rt_geo_areas_ring_m2(h, shell);
	for (int k = 0; k < holes; k++)
		m2 -= rt_geo_areas_ring_m2(h, GEOSGetInteriorRingN_r(h, poly, k));
	return m2 > 0.0 ? m2 : 0.0;
}

double
rt_geo_areas_geom_m2(GEOSContextHandle_t h, const GEOSGeometry *g)
{
	int type = GEOSGeomTypeId_r(h, g);
	double m2 = 0.0;

	if (type == GEOS_POLYGON)
		return GEOSisEmpty_r(h, g) == 1 ? 0.0 : rt_geo_areas_polygon_m2(h, g);
	if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
		int n = GEOSGetNumGeometries_r(h, g);

		for (int k = 0; k < n; k++)
			m2 += rt_geo_areas_geom_m2(h, GEOSGetGeometryN_r(h, g, k));
	}
	return m2;
}

double
rt_geo_areas_area_m2(const struct rt_geo_areas *areas, size_t i)
{
	if (i >= areas->n || areas->v[i].geom == NULL)
		return 0.0;
	return rt_geo_areas_geom_m2(areas->ctx->h, areas->v[i].geom);
}

/* Every coordinate of a polygonal geometry finite and in lon/lat range. */
static bool
rt_geo_areas_coords_ok(GEOSContextHandle_t h, const GEOSGeometry *g)
{
	int type = GEOSGeomTypeId_r(h, g);

	if (type == GEOS_MULTIPOLYGON) {
		int n = GEOSGetNumGeometries_r(h, g);

		for (int k = 0; k < n; k++)
			if (!rt_geo_areas_coords_ok(h, GEOSGetGeometryN_r(h, g, k)))
				return false;
		return true;
	}
	if (type != GEOS_POLYGON)
		return false;
	for (int r = -1; r < GEOSGetNumInteriorRings_r(h, g); r++) {
		const GEOSGeometry *ring =
			r < 0 ? GEOSGetExteriorRing_r(h, g) : GEOSGetInteriorRingN_r(h, g, r);
		const GEOSCoordSequence *cs = ring ? GEOSGeom_getCoordSeq_r(h, ring) : NULL;
		unsigned int n = 0;

		if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n))
			return false;
		for (unsigned int k = 0; k < n; k++) {
			double x, y;

			if (!GEOSCoordSeq_getXY_r(h, cs, k, &x, &y) ||
			    !rt_distance_lonlat_ok(x, y))
				return false;
		}
	}
	return true;
}

enum rt_status
rt_geo_areas_add_wkb(struct rt_geo_areas *areas, const char *id, const char *name, const char *kind,
		     const char *props_json, const unsigned char *wkb, size_t len,
		     struct rt_err *err)
{
	GEOSContextHandle_t h = areas->ctx->h;
	GEOSWKBReader *rd;
	GEOSGeometry *g;
	int type;

	if (id == NULL || id[0] == '\0')
		return rt_err_set(err, RT_E_INVAL, "area without an id");
	if (rt_geo_areas_find(areas, id) >= 0)
		return rt_err_set(err, RT_E_INVAL, "area %.64s: duplicate id", id);
	rt_geo_ctx_clear(areas->ctx);
	rd = GEOSWKBReader_create_r(h);
	if (rd == NULL)
		return rt_geo_ctx_fail(areas->ctx, err, "WKB reader");
	g = GEOSWKBReader_read_r(h, rd, wkb, len);
	GEOSWKBReader_destroy_r(h, rd);
	if (g == NULL)
		return rt_err_set(err, RT_E_PARSE, "area %.64s: bad WKB: %.160s", id,
				  areas->ctx->geos_msg);
	type = GEOSGeomTypeId_r(h, g);
	if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
		GEOSGeom_destroy_r(h, g);
		return rt_err_set(err, RT_E_PARSE, "area %.64s: geometry is not a polygon", id);
	}
	if (GEOSisEmpty_r(h, g) != 0) {
		GEOSGeom_destroy_r(h, g);
		return rt_err_set(err, RT_E_PARSE, "area %.64s: geometry is empty", id);
	}
	if (!rt_geo_areas_coords_ok(h, g)) {
		GEOSGeom_destroy_r(h, g);
		return rt_err_set(err, RT_E_PARSE,
				  "area %.64s: coordinate out of range or not finite", id);
	}
	return rt_geo_areas_push(areas, id, name, kind, props_json, -1, g, err);
}

enum rt_status
rt_geo_areas_wkb(const struct rt_geo_areas *areas, size_t i, unsigned char **out, size_t *len,
		 struct rt_err *err)
{
	GEOSContextHandle_t h = areas->ctx->h;
	GEOSWKBWriter *wr;
	unsigned char *buf;
	size_t n = 0;

	*out = NULL;
	*len = 0;
	if (i >= areas->n)
		return rt_err_set(err, RT_E_INVAL, "area index %zu out of range", i);
	rt_geo_ctx_clear(areas->ctx);
	wr = GEOSWKBWriter_create_r(h);
	if (wr == NULL)
		return rt_geo_ctx_fail(areas->ctx, err, "WKB writer");
	GEOSWKBWriter_setOutputDimension_r(h, wr, 2);
	GEOSWKBWriter_setByteOrder_r(h, wr, GEOS_WKB_NDR);
	buf = GEOSWKBWriter_write_r(h, wr, areas->v[i].geom, &n);
	GEOSWKBWriter_destroy_r(h, wr);
	if (buf == NULL)
		return rt_geo_ctx_fail(areas->ctx, err, "WKB write");
	/* Hand out malloc'd memory: GEOS memory must go back through GEOSFree. */
	*out = malloc(n);
	if (*out == NULL) {
		GEOSFree_r(h, buf);
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	}
	memcpy(*out, buf, n);
	*len = n;
	GEOSFree_r(h, buf);
	return RT_OK;
}

enum rt_status
rt_geo_areas_geojson(const struct rt_geo_areas *areas, size_t i, char **out, struct rt_err *err)
{
	struct rt_geo_json_buf b = {0};
	enum rt_status st;

	*out = NULL;
	if (i >= areas->n)
		return rt_err_set(err, RT_E_INVAL, "area index %zu out of range", i);
	st = rt_geo_json_buf_geom(&b, areas->ctx->h, areas->v[i].geom, err);
	return rt_geo_json_buf_take(&b, st, out, err);
}

/* ---- overlap resolution ---- */

struct rt_geo_areas_cands {
	size_t *v;
	size_t n, cap;
	bool oom;
	const struct rt_geo_areas *areas;
	const size_t *rank;
	size_t self;
};

static void
rt_geo_areas_query_cb(void *item, void *userdata)
{
	struct rt_geo_areas_cands *c = userdata;
	size_t j = (size_t)((const struct rt_geo_area *)item - c->areas->v);

	if (c->rank[j] >= c->rank[c->self] || c->oom)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		size_t *v = realloc(c->v, cap * sizeof *v);

		if (v == NULL) {
			c->oom = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = j;
}

static int
rt_geo_areas_by_id(const void *a, const void *b, void *arg)
{
	const struct rt_geo_areas *areas = arg;

	return strcmp(areas->v[*(const size_t *)a].id, areas->v[*(const size_t *)b].id);
}

static int
rt_geo_areas_by_rank(const void *a, const void *b, void *arg)
{
	const size_t *rank = arg;
	size_t ra = rank[*(const size_t *)a], rb = rank[*(const size_t *)b];

	return ra < rb ? -1 : ra > rb;
}

/* Area i minus every lower-ranked area whose envelope meets it; *out owned by the caller. */
static enum rt_status
rt_geo_areas_trim(struct rt_geo_areas *areas, GEOSSTRtree *tree, const size_t *rank, size_t i,
		  struct rt_geo_areas_cands *c, GEOSGeometry **out, struct rt_err *err)
{
	GEOSContextHandle_t h = areas->ctx->h;
	struct rt_geo_area *a = &areas->v[i];
	GEOSGeometry *g, *clean;
	int dropped = 0;

	c->n = 0;
	c->self = i;
	GEOSSTRtree_query_r(h, tree, a->geom, rt_geo_areas_query_cb, c);
	if (c->oom)
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	/* Subtract in rank order: floating-point overlay results depend on order. */
	if (c->n > 1)
		qsort_r(c->v, c->n, sizeof *c->v, rt_geo_areas_by_rank, (void *)rank);
	g = GEOSGeom_clone_r(h, a->geom);
	if (g == NULL)
		return rt_geo_ctx_fail(areas->ctx, err, "clone");
	a->rep.overlapped_by = 0;
	for (size_t k = 0; k < c->n; k++) {
		const GEOSGeometry *other = areas->v[c->v[k]].geom;
		GEOSGeometry *d;
		double before, after;

		/* Snap-rounding overlay on a fine grid: always valid output, and no
		 * relate predicate (those throw on nearly coincident shared edges). */
		d = GEOSDifferencePrec_r(h, g, other, RT_GEO_AREAS_GRID);
		if (d == NULL) {
			GEOSGeom_destroy_r(h, g);
			return rt_geo_ctx_fail(areas->ctx, err, "difference");
		}
		before = rt_geo_areas_geom_m2(h, g);
		after = rt_geo_areas_geom_m2(h, d);
		if (before - after > RT_GEO_AREAS_MIN_PART_M2)
			a->rep.overlapped_by++;
		GEOSGeom_destroy_r(h, g);
		g = d;
	}
	clean = rt_geo_repair_polygonal(h, g, RT_GEO_AREAS_MIN_PART_M2, &dropped);
	GEOSGeom_destroy_r(h, g);
	if (clean == NULL)
		return rt_geo_ctx_fail(areas->ctx, err, "polygonal parts");
	a->rep.slivers_dropped = dropped;
	*out = clean;
	return RT_OK;
}

enum rt_status
rt_geo_areas_resolve(struct rt_geo_areas *areas, struct rt_err *err)
{
	GEOSContextHandle_t h = areas->ctx->h;
	struct rt_geo_areas_cands c = {.areas = areas};
	size_t n = areas->n, *order = NULL, *rank = NULL;
	GEOSGeometry **next = NULL;
	GEOSSTRtree *tree = NULL;
	enum rt_status st = RT_OK;

	if (n == 0) {
		areas->resolved = true;
		return RT_OK;
	}
	rt_geo_ctx_clear(areas->ctx);
	order = malloc(n * sizeof *order);
	rank = malloc(n * sizeof *rank);
	next = calloc(n, sizeof *next);
	tree = GEOSSTRtree_create_r(h, 10);
	if (order == NULL || rank == NULL || next == NULL || tree == NULL) {
		st = tree ? rt_err_set(err, RT_E_NOMEM, "geo: out of memory")
			  : rt_geo_ctx_fail(areas->ctx, err, "STRtree");
		goto fail;
	}
	c.rank = rank;
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, rt_geo_areas_by_id, areas);
	for (size_t k = 0; k < n; k++)
		rank[order[k]] = k;
	for (size_t i = 0; i < n; i++)
		GEOSSTRtree_insert_r(h, tree, areas->v[i].geom, &areas->v[i]);
	for (size_t i = 0; i < n; i++) {
		st = rt_geo_areas_trim(areas, tree, rank, i, &c, &next[i], err);
		if (st != RT_OK) {
			if (err != NULL) {
				char msg[sizeof err->msg];

				memcpy(msg, err->msg, sizeof msg);
				rt_err_set(err, st, "area %zu (id \"%.64s\"): %.160s", i,
					   areas->v[i].id, msg);
			}
			goto fail;
		}
	}
	/* All trims succeeded: commit. */
	for (size_t i = 0; i < n; i++) {
		struct rt_geo_area *a = &areas->v[i];

		GEOSGeom_destroy_r(h, a->geom);
		a->geom = next[i];
		next[i] = NULL;
		a->rep.resolved = true;
		a->rep.area_resolved_m2 = rt_geo_areas_geom_m2(h, a->geom);
	}
	areas->resolved = true;
fail:
	if (tree != NULL)
		GEOSSTRtree_destroy_r(h, tree);
	if (next != NULL)
		for (size_t i = 0; i < n; i++)
			if (next[i] != NULL)
				GEOSGeom_destroy_r(h, next[i]);
	free(next);
	free(order);
	free(rank);
	free(c.v);
	return st;
}
