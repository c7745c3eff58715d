/* Voronoi split of an area among sites. Owns the projection to a local
 * metric plane and back, the matching of Voronoi cells to sites and the
 * clipping; the sets own the geometries it reads and appends. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "routing/geo/impl.h"
#include "routing/geo/voronoi.h"

/* A copy of polygon `cell` (no holes: Voronoi cells are convex) with x divided by k. */
static GEOSGeometry *
rt_geo_voronoi_unproject(GEOSContextHandle_t h, const GEOSGeometry *cell, double k)
{
	const GEOSGeometry *ring = GEOSGetExteriorRing_r(h, cell);
	const GEOSCoordSequence *cs = ring ? GEOSGeom_getCoordSeq_r(h, ring) : NULL;
	GEOSCoordSequence *out;
	GEOSGeometry *shell;
	unsigned int n = 0;
	double *xy;

	if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n) || n < 4)
		return NULL;
	xy = malloc((size_t)n * 2 * sizeof *xy);
	if (xy == NULL)
		return NULL;
	if (!GEOSCoordSeq_copyToBuffer_r(h, cs, xy, 0, 0)) {
		free(xy);
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++)
		xy[2 * i] /= k;
	out = GEOSCoordSeq_copyFromBuffer_r(h, xy, n, 0, 0);
	free(xy);
	shell = out ? GEOSGeom_createLinearRing_r(h, out) : NULL;
	return shell ? GEOSGeom_createPolygon_r(h, shell, NULL, 0) : NULL;
}

/* The Voronoi cell (projected plane) containing site s, or NULL. */
static const GEOSGeometry *
rt_geo_voronoi_cell_of(GEOSContextHandle_t h, const GEOSGeometry *cells, const GEOSGeometry *pt)
{
	int n = GEOSGetNumGeometries_r(h, cells);

	for (int c = 0; c < n; c++) {
		const GEOSGeometry *cell = GEOSGetGeometryN_r(h, cells, c);

		if (GEOSIntersects_r(h, cell, pt) == 1)
			return cell;
	}
	return NULL;
}

static enum rt_status
rt_geo_voronoi_check_sites(const struct rt_geo_areas *src, size_t area,
			   const struct rt_geo_voronoi_site *sites, size_t n, struct rt_err *err)
{
	GEOSContextHandle_t h = src->ctx->h;
	const GEOSPreparedGeometry *prep = GEOSPrepare_r(h, src->v[area].geom);
	enum rt_status st = RT_OK;

	if (prep == NULL)
		return rt_geo_ctx_fail(src->ctx, err, "prepare");
	for (size_t i = 0; i < n && st == RT_OK; i++) {
		GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, sites[i].lon, sites[i].lat);
		char in = pt ? GEOSPreparedCovers_r(h, prep, pt) : 2;

		if (pt != NULL)
			GEOSGeom_destroy_r(h, pt);
		if (in == 2)
			st = rt_geo_ctx_fail(src->ctx, err, "covers");
		else if (in == 0)
			st = rt_err_set(err, RT_E_INVAL,
					"site %.64s (%.6f, %.6f) is outside area %.64s",
					sites[i].id, sites[i].lon, sites[i].lat, src->v[area].id);
		for (size_t j = 0; j < i && st == RT_OK; j++)
			if (sites[j].lon == sites[i].lon && sites[j].lat == sites[i].lat)
				st = rt_err_set(err, RT_E_INVAL, "sites %.64s and %.64s coincide",
						sites[j].id, sites[i].id);
	}
	GEOSPreparedGeom_destroy_r(h, prep);
	return st;
}

/* Clip cell (degrees) to the area and append it as site s's area; takes `cell`. */
static enum rt_status
rt_geo_voronoi_add(const struct rt_geo_areas *src, size_t area, GEOSGeometry *cell,
		   const struct rt_geo_voronoi_site *s, const char *kind, struct rt_geo_areas *dst,
		   struct rt_err *err)
{
	GEOSContextHandle_t h = src->ctx->h;
	GEOSGeometry *clip = GEOSIntersection_r(h, cell, src->v[area].geom), *poly;

	GEOSGeom_destroy_r(h, cell);
	if (clip == NULL)
		return rt_geo_ctx_fail(src->ctx, err, "intersection");
	poly = rt_geo_repair_polygonal(h, clip, RT_GEO_AREAS_MIN_PART_M2, NULL);
	GEOSGeom_destroy_r(h, clip);
	if (poly == NULL)
		return rt_geo_ctx_fail(src->ctx, err, "polygonal parts");
	if (GEOSisEmpty_r(h, poly) != 0) {
		GEOSGeom_destroy_r(h, poly);
		return rt_err_set(err, RT_E_INVAL, "site %.64s has an empty cell", s->id);
	}
	return rt_geo_areas_push(dst, s->id, s->name, kind, s->props_json, -1, poly, err);
}

enum rt_status
rt_geo_voronoi_split(const struct rt_geo_areas *src, size_t area,
		     const struct rt_geo_voronoi_site *sites, size_t n, const char *kind,
		     struct rt_geo_areas *dst, struct rt_err *err)
{
	GEOSContextHandle_t h = src->ctx->h;
	GEOSGeometry **pts = NULL, *mp = NULL, *env = NULL, *cells = NULL;
	double xmin, ymin, xmax, ymax, k, pad;
	enum rt_status st;

	if (area >= src->n || n == 0 || src == dst)
		return rt_err_set(err, RT_E_INVAL, "voronoi: bad arguments");
	rt_geo_ctx_clear(src->ctx);
	st = rt_geo_voronoi_check_sites(src, area, sites, n, err);
	if (st != RT_OK)
		return st;
	if (n == 1) {
		GEOSGeometry *g = GEOSGeom_clone_r(h, src->v[area].geom);

		if (g == NULL)
			return rt_geo_ctx_fail(src->ctx, err, "clone");
		return rt_geo_areas_push(dst, sites[0].id, sites[0].name, kind, sites[0].props_json,
					 -1, g, err);
	}
	if (!GEOSGeom_getXMin_r(h, src->v[area].geom, &xmin) ||
	    !GEOSGeom_getYMin_r(h, src->v[area].geom, &ymin) ||
	    !GEOSGeom_getXMax_r(h, src->v[area].geom, &xmax) ||
	    !GEOSGeom_getYMax_r(h, src->v[area].geom, &ymax))
		return rt_geo_ctx_fail(src->ctx, err, "envelope");
	k = cos((ymin + ymax) / 2 * (M_PI / 180.0));
	pad = fmax(xmax - xmin, ymax - ymin) * 0.1 + 0.01;
	pts = calloc(n, sizeof *pts);
	if (pts == NULL)
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	for (size_t i = 0; i < n; i++) {
		pts[i] = GEOSGeom_createPointFromXY_r(h, sites[i].lon * k, sites[i].lat);
		if (pts[i] == NULL) {
			st = rt_geo_ctx_fail(src->ctx, err, "point");
			goto done;
		}
	}
	mp = GEOSGeom_createCollection_r(h, GEOS_MULTIPOINT, pts, (unsigned int)n);
	if (mp == NULL) {
		st = rt_geo_ctx_fail(src->ctx, err, "multipoint");
		goto done;
	}
	free(pts); /* owned by mp now */
	pts = NULL;
	env = GEOSGeom_createRectangle_r(h, (xmin - pad) * k, ymin - pad, (xmax + pad) * k,
					 ymax + pad);
	cells = env ? GEOSVoronoiDiagram_r(h, mp, env, 0.0, 0) : NULL;
	if (cells == NULL) {
		st = rt_geo_ctx_fail(src->ctx, err, "voronoi");
		goto done;
	}
	for (size_t i = 0; i < n && st == RT_OK; i++) {
		const GEOSGeometry *pt = GEOSGetGeometryN_r(h, mp, (int)i);
		const GEOSGeometry *cell = rt_geo_voronoi_cell_of(h, cells, pt);
		GEOSGeometry *deg;

		if (cell == NULL) {
			st = rt_err_set(err, RT_E_GEOS, "voronoi: no cell for site %.64s",
					sites[i].id);
			break;
		}
		deg = rt_geo_voronoi_unproject(h, cell, k);
		if (deg == NULL) {
			st = rt_geo_ctx_fail(src->ctx, err, "voronoi cell");
			break;
		}
		st = rt_geo_voronoi_add(src, area, deg, &sites[i], kind, dst, err);
	}
done:
	if (pts != NULL)
		for (size_t i = 0; i < n; i++)
			if (pts[i] != NULL)
				GEOSGeom_destroy_r(h, pts[i]);
	free(pts);
	if (mp != NULL)
		GEOSGeom_destroy_r(h, mp);
	if (env != NULL)
		GEOSGeom_destroy_r(h, env);
	if (cells != NULL)
		GEOSGeom_destroy_r(h, cells);
	return st;
}
