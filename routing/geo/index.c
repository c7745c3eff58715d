/* The point-to-area index. It owns a copy of every area's vertices, bucketed
 * for point-in-polygon and distance tests, and a grid classifying space into
 * cells answered directly, cells with candidate areas, and empty cells. GEOS
 * (prepared geometries) is used only to classify cells at build time, and,
 * with keep_exact, for the reference lookup. The file header of index.h
 * states the lookup rules and the thread rule. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "routing/common/distance.h"
#include "routing/geo/impl.h"
#include "routing/geo/index.h"

/* Hot-path data of one area. Edges are vertex indexes e into idx->xy: the
 * segment xy[e] -> xy[e + 1]; rings are stored closed, so no edge spans two. */
struct rt_geo_index_area {
	double xmin, ymin, xmax, ymax; /* bounding box, degrees; xmin > xmax when empty */
	double slab_inv;	       /* slabs per degree of latitude */
	uint32_t nslabs;	       /* horizontal slabs over [ymin, ymax] */
	uint32_t slab0;		       /* first entry of this area in idx->slab_start */
};

struct rt_geo_index {
	size_t n;
	char **ids;		     /* n owned strings */
	struct rt_geo_index_area *a; /* n */
	double *xy;		     /* all ring vertices, lon/lat pairs */
	uint32_t *slab_start;	     /* per area, nslabs + 1 offsets into slab_edges */
	uint32_t *slab_edges;	     /* edge (vertex) indexes */
	size_t nvert, nslab_start, nslab_edges;
	/* Grid: cell (cx, cy) covers [gx0 + cx/gkx, gx0 + (cx+1)/gkx) x (same in y). */
	double gx0, gy0, gkx, gky; /* origin (degrees) and cells per degree */
	uint32_t nx, ny;
	int32_t *cell;	/* >= 0: covering area; -1: outside; <= -2: list at -2 - v */
	int32_t *cands; /* candidate lists, each ending with -1 */
	size_t ncands;
	double tol_m;	  /* gap tolerance, metres */
	double tol_deg_y; /* the tolerance in degrees of latitude */
	double cell_m;
	size_t cells_inside, cells_edge;
	/* keep_exact only */
	struct rt_geo_ctx *ctx;		   /* borrowed */
	GEOSGeometry **geoms;		   /* n clones */
	const GEOSPreparedGeometry **prep; /* n */
	GEOSSTRtree *tree;
};

void
rt_geo_index_opts_default(struct rt_geo_index_opts *opts)
{
	opts->gap_tolerance_m = 500.0;
	opts->cell_m = 250.0;
	opts->max_cells = (size_t)1 << 22;
	opts->keep_exact = false;
}

/* ---- hot path ---- */

/* Even-odd test of (x, y) against every ring of area i. */
static inline bool
rt_geo_index_pip(const struct rt_geo_index *idx, size_t i, double x, double y)
{
	const struct rt_geo_index_area *a = &idx->a[i];
	const double *xy = idx->xy;
	uint32_t s, k, end;
	bool in = false;

	if (x < a->xmin || x > a->xmax || y < a->ymin || y > a->ymax)
		return false;
	s = (uint32_t)((y - a->ymin) * a->slab_inv);
	if (s >= a->nslabs)
		s = a->nslabs - 1;
	k = idx->slab_start[a->slab0 + s];
	end = idx->slab_start[a->slab0 + s + 1];
	for (; k < end; k++) {
		const double *p = xy + 2 * (size_t)idx->slab_edges[k];
		double x1 = p[0], y1 = p[1], x2 = p[2], y2 = p[3];

		if ((y1 > y) != (y2 > y) && x < (x2 - x1) * (y - y1) / (y2 - y1) + x1)
			in = !in;
	}
	return in;
}

/* Distance in metres from (x, y) to the boundary of area i, counting only
 * edges in the slabs within the tolerance of y; INFINITY when there are none. */
static double
rt_geo_index_dist(const struct rt_geo_index *idx, size_t i, double x, double y)
{
	const struct rt_geo_index_area *a = &idx->a[i];
	double kx = cos(y * (M_PI / 180.0)) * RT_DISTANCE_M_PER_DEG, ky = RT_DISTANCE_M_PER_DEG;
	double lo = y - idx->tol_deg_y, hi = y + idx->tol_deg_y, best2 = INFINITY;
	long s0, s1;

	if (a->xmin > a->xmax || hi < a->ymin || lo > a->ymax)
		return INFINITY;
	s0 = (long)((lo - a->ymin) * a->slab_inv);
	s1 = (long)((hi - a->ymin) * a->slab_inv);
	if (s0 < 0)
		s0 = 0;
	if (s1 >= (long)a->nslabs)
		s1 = (long)a->nslabs - 1;
	for (long s = s0; s <= s1; s++) {
		uint32_t k = idx->slab_start[a->slab0 + s], end = idx->slab_start[a->slab0 + s + 1];

		for (; k < end; k++) {
			const double *p = idx->xy + 2 * (size_t)idx->slab_edges[k];
			double ax = (p[0] - x) * kx, ay = (p[1] - y) * ky;
			double dx = (p[2] - p[0]) * kx, dy = (p[3] - p[1]) * ky;
			double len2 = dx * dx + dy * dy, t = 0.0, ex, ey;

			if (len2 > 0.0) {
				t = -(ax * dx + ay * dy) / len2;
				t = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
			}
			ex = ax + t * dx;
			ey = ay + t * dy;
			if (ex * ex + ey * ey < best2)
				best2 = ex * ex + ey * ey;
		}
	}
	return sqrt(best2);
}

enum rt_status
rt_geo_index_locate(const struct rt_geo_index *idx, double lon, double lat, struct rt_geo_hit *hit)
{
	double fx, fy, best;
	const int32_t *c;
	long best_i = -1;
	int32_t v;

	hit->area = -1;
	hit->kind = RT_GEO_HIT_OUTSIDE;
	hit->dist_m = INFINITY;
	if (!rt_distance_lonlat_ok(lon, lat))
		return RT_E_INVAL;
	fx = (lon - idx->gx0) * idx->gkx;
	fy = (lat - idx->gy0) * idx->gky;
	if (!(fx >= 0.0 && fy >= 0.0 && fx < (double)idx->nx && fy < (double)idx->ny))
		return RT_OK;
	v = idx->cell[(size_t)fy * idx->nx + (size_t)fx];
	if (v >= 0) {
		hit->area = v;
		hit->kind = RT_GEO_HIT_INSIDE;
		hit->dist_m = 0.0;
		return RT_OK;
	}
	if (v == -1)
		return RT_OK;
	c = idx->cands + (-2 - (long)v);
	for (const int32_t *p = c; *p >= 0; p++) {
		if (rt_geo_index_pip(idx, (size_t)*p, lon, lat)) {
			hit->area = *p;
			hit->kind = RT_GEO_HIT_INSIDE;
			hit->dist_m = 0.0;
			return RT_OK;
		}
	}
	best = INFINITY;
	for (const int32_t *p = c; *p >= 0; p++) {
		double d = rt_geo_index_dist(idx, (size_t)*p, lon, lat);

		/* Strictly nearer only: ties keep the lower area index. */
		if (d <= idx->tol_m && d < best) {
			best = d;
			best_i = *p;
		}
	}
	if (best_i >= 0) {
		hit->area = best_i;
		hit->kind = RT_GEO_HIT_NEAR;
		hit->dist_m = best;
	}
	return RT_OK;
}

/* ---- build: vertices and slabs ---- */

/* Growable arrays used while building. */
struct rt_geo_index_bld {
	struct rt_geo_index *idx;
	GEOSContextHandle_t h;
	size_t xy_cap;	 /* in pairs */
	uint32_t *edges; /* edges of the area being flattened */
	size_t nedges, edges_cap;
	bool oom;
};

static void
rt_geo_index_ring(struct rt_geo_index_bld *b, const GEOSGeometry *ring)
{
	struct rt_geo_index *idx = b->idx;
	const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(b->h, ring);
	unsigned int n = 0;

	if (b->oom || cs == NULL || !GEOSCoordSeq_getSize_r(b->h, cs, &n) || n < 4) {
		b->oom = b->oom || cs == NULL;
		return;
	}
	if (idx->nvert + n > UINT32_MAX - 1) {
		b->oom = true;
		return;
	}
	if (idx->nvert + n > b->xy_cap) {
		size_t cap = b->xy_cap ? b->xy_cap : 4096;
		double *xy;

		while (cap < idx->nvert + n)
			cap *= 2;
		xy = realloc(idx->xy, cap * 2 * sizeof *xy);
		if (xy == NULL) {
			b->oom = true;
			return;
		}
		idx->xy = xy;
		b->xy_cap = cap;
	}
	if (b->nedges + n > b->edges_cap) {
		size_t cap = b->edges_cap ? b->edges_cap : 1024;
		uint32_t *e;

		while (cap < b->nedges + n)
			cap *= 2;
		e = realloc(b->edges, cap * sizeof *e);
		if (e == NULL) {
			b->oom = true;
			return;
		}
		b->edges = e;
		b->edges_cap = cap;
	}
	if (!GEOSCoordSeq_copyToBuffer_r(b->h, cs, idx->xy + 2 * idx->nvert, 0, 0)) {
		b->oom = true;
		return;
	}
	for (unsigned int k = 0; k + 1 < n; k++)
		b->edges[b->nedges++] = (uint32_t)(idx->nvert + k);
	idx->nvert += n;
}

static void
rt_geo_index_rings(struct rt_geo_index_bld *b, const GEOSGeometry *g)
{
	int type = GEOSGeomTypeId_r(b->h, g);

	if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
		int n = GEOSGetNumGeometries_r(b->h, g);

		for (int k = 0; k < n; k++)
			rt_geo_index_rings(b, GEOSGetGeometryN_r(b->h, g, k));
		return;
	}
	if (type != GEOS_POLYGON || GEOSisEmpty_r(b->h, g) != 0)
		return;
	rt_geo_index_ring(b, GEOSGetExteriorRing_r(b->h, g));
	for (int k = 0; k < GEOSGetNumInteriorRings_r(b->h, g); k++)
		rt_geo_index_ring(b, GEOSGetInteriorRingN_r(b->h, g, k));
}

static bool
rt_geo_index_grow_u32(uint32_t **v, size_t *cap, size_t need)
{
	size_t c = *cap ? *cap : 1024;
	uint32_t *p;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	p = realloc(*v, c * sizeof *p);
	if (p == NULL)
		return false;
	*v = p;
	*cap = c;
	return true;
}

/* Flatten area i and bucket its edges into slabs. */
static bool
rt_geo_index_area(struct rt_geo_index_bld *b, size_t i, const GEOSGeometry *g,
		  size_t *slab_start_cap, size_t *slab_edges_cap)
{
	struct rt_geo_index *idx = b->idx;
	struct rt_geo_index_area *a = &idx->a[i];
	size_t v0 = idx->nvert, base;
	uint32_t *count;

	b->nedges = 0;
	rt_geo_index_rings(b, g);
	if (b->oom)
		return false;
	a->xmin = a->ymin = INFINITY;
	a->xmax = a->ymax = -INFINITY;
	for (size_t k = v0; k < idx->nvert; k++) {
		a->xmin = fmin(a->xmin, idx->xy[2 * k]);
		a->xmax = fmax(a->xmax, idx->xy[2 * k]);
		a->ymin = fmin(a->ymin, idx->xy[2 * k + 1]);
		a->ymax = fmax(a->ymax, idx->xy[2 * k + 1]);
	}
	a->nslabs =
		(uint32_t)(b->nedges / 4 < 1 ? 1 : (b->nedges / 4 > 4096 ? 4096 : b->nedges / 4));
	a->slab_inv = a->ymax > a->ymin ? a->nslabs / (a->ymax - a->ymin) : 0.0;
	a->slab0 = (uint32_t)idx->nslab_start;
	if (!rt_geo_index_grow_u32(&idx->slab_start, slab_start_cap,
				   idx->nslab_start + a->nslabs + 1))
		return false;
	/* Counting sort of edges into the slabs they span. */
	count = idx->slab_start + idx->nslab_start;
	memset(count, 0, (a->nslabs + 1) * sizeof *count);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < b->nedges; k++) {
			const double *p = idx->xy + 2 * (size_t)b->edges[k];
			long s0 = (long)((fmin(p[1], p[3]) - a->ymin) * a->slab_inv);
			long s1 = (long)((fmax(p[1], p[3]) - a->ymin) * a->slab_inv);

			/* An edge lying on ymax itself maps to slab nslabs: both ends
			 * clamp into the last slab, or the top edge would be in none. */
			if (s1 >= (long)a->nslabs)
				s1 = (long)a->nslabs - 1;
			if (s0 > s1)
				s0 = s1;
			for (long s = s0 < 0 ? 0 : s0; s <= s1; s++) {
				if (pass == 0)
					count[s + 1]++;
				else
					idx->slab_edges[count[s]++] = b->edges[k];
			}
		}
		if (pass == 0) {
			base = idx->nslab_edges;
			count[0] = (uint32_t)base;
			for (uint32_t s = 0; s < a->nslabs; s++)
				count[s + 1] += count[s];
			if ((size_t)count[a->nslabs] >= UINT32_MAX ||
			    !rt_geo_index_grow_u32(&idx->slab_edges, slab_edges_cap,
						   count[a->nslabs]))
				return false;
			idx->nslab_edges = count[a->nslabs];
		}
	}
	/* Pass 2 advanced each start to the next slab's: shift back. */
	memmove(count + 1, count, a->nslabs * sizeof *count);
	count[0] = (uint32_t)base;
	idx->nslab_start += a->nslabs + 1;
	return true;
}

/* ---- build: grid ---- */

struct rt_geo_index_cls {
	struct rt_geo_index *idx;
	GEOSContextHandle_t h;
	const GEOSPreparedGeometry *prep;
	int32_t area;
	double tdx, tdy;    /* tolerance in degrees (x conservative) */
	int32_t *owner;	    /* per cell: lowest covering area or -1 */
	uint32_t *pairs;    /* (cell, area) candidate pairs, flattened */
	size_t npairs, cap; /* in pairs */
	bool fail;
};

static GEOSGeometry *
rt_geo_index_rect(struct rt_geo_index_cls *c, uint32_t cx0, uint32_t cy0, uint32_t cx1,
		  uint32_t cy1, double pad_x, double pad_y)
{
	const struct rt_geo_index *idx = c->idx;

	return GEOSGeom_createRectangle_r(
		c->h, idx->gx0 + cx0 / idx->gkx - pad_x, idx->gy0 + cy0 / idx->gky - pad_y,
		idx->gx0 + cx1 / idx->gkx + pad_x, idx->gy0 + cy1 / idx->gky + pad_y);
}

/* Classify the cells [cx0, cx1) x [cy0, cy1) against the current area. */
static void
rt_geo_index_classify(struct rt_geo_index_cls *c, uint32_t cx0, uint32_t cy0, uint32_t cx1,
		      uint32_t cy1)
{
	struct rt_geo_index *idx = c->idx;
	GEOSGeometry *r;
	char hit;

	if (c->fail || cx0 >= cx1 || cy0 >= cy1)
		return;
	r = rt_geo_index_rect(c, cx0, cy0, cx1, cy1, c->tdx, c->tdy);
	hit = r ? GEOSPreparedIntersects_r(c->h, c->prep, r) : 2;
	if (r)
		GEOSGeom_destroy_r(c->h, r);
	if (hit != 1) {
		c->fail = hit == 2;
		return;
	}
	r = rt_geo_index_rect(c, cx0, cy0, cx1, cy1, 0.0, 0.0);
	hit = r ? GEOSPreparedCovers_r(c->h, c->prep, r) : 2;
	if (r)
		GEOSGeom_destroy_r(c->h, r);
	if (hit == 2) {
		c->fail = true;
		return;
	}
	if (hit == 1) {
		for (uint32_t y = cy0; y < cy1; y++)
			for (uint32_t x = cx0; x < cx1; x++) {
				int32_t *o = &c->owner[(size_t)y * idx->nx + x];

				if (*o < 0 || *o > c->area)
					*o = c->area;
			}
		return;
	}
	if (cx1 - cx0 == 1 && cy1 - cy0 == 1) {
		if (c->npairs == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			uint32_t *p = realloc(c->pairs, cap * 2 * sizeof *p);

			if (p == NULL) {
				c->fail = true;
				return;
			}
			c->pairs = p;
			c->cap = cap;
		}
		c->pairs[2 * c->npairs] = cy0 * idx->nx + cx0;
		c->pairs[2 * c->npairs + 1] = (uint32_t)c->area;
		c->npairs++;
		return;
	}
	if (cx1 - cx0 >= cy1 - cy0) {
		uint32_t mid = cx0 + (cx1 - cx0) / 2;

		rt_geo_index_classify(c, cx0, cy0, mid, cy1);
		rt_geo_index_classify(c, mid, cy0, cx1, cy1);
	} else {
		uint32_t mid = cy0 + (cy1 - cy0) / 2;

		rt_geo_index_classify(c, cx0, cy0, cx1, mid);
		rt_geo_index_classify(c, cx0, mid, cx1, cy1);
	}
}

static uint32_t
rt_geo_index_clamp(double v, uint32_t n)
{
	if (!(v > 0.0))
		return 0;
	return v >= (double)n ? n : (uint32_t)v;
}

/* Lay out the grid over all areas' boxes grown by the tolerance. */
static enum rt_status
rt_geo_index_grid(struct rt_geo_index *idx, const struct rt_geo_index_opts *opts, double *tdx,
		  struct rt_err *err)
{
	double xmin = INFINITY, ymin = INFINITY, xmax = -INFINITY, ymax = -INFINITY, cell_m, kx;

	for (size_t i = 0; i < idx->n; i++) {
		if (idx->a[i].xmin > idx->a[i].xmax)
			continue;
		xmin = fmin(xmin, idx->a[i].xmin);
		xmax = fmax(xmax, idx->a[i].xmax);
		ymin = fmin(ymin, idx->a[i].ymin);
		ymax = fmax(ymax, idx->a[i].ymax);
	}
	if (xmin > xmax) { /* nothing to index: one empty cell */
		xmin = xmax = ymin = ymax = 0.0;
	}
	/* Degrees of longitude per metre grow with latitude: size the x pad for the worst row. */
	*tdx = idx->tol_m /
	       (RT_DISTANCE_M_PER_DEG * fmax(0.01, cos(fmax(fabs(ymin), fabs(ymax)) * (M_PI / 180.0)))) *
	       1.01;
	xmin -= *tdx;
	xmax += *tdx;
	ymin -= idx->tol_deg_y;
	ymax += idx->tol_deg_y;
	kx = fmax(0.01, cos((ymin + ymax) / 2 * (M_PI / 180.0)));
	for (cell_m = opts->cell_m;; cell_m *= 1.25) {
		double nx = ceil((xmax - xmin) * RT_DISTANCE_M_PER_DEG * kx / cell_m);
		double ny = ceil((ymax - ymin) * RT_DISTANCE_M_PER_DEG / cell_m);

		nx = nx < 1 ? 1 : nx;
		ny = ny < 1 ? 1 : ny;
		if (nx * ny <= (double)opts->max_cells) {
			idx->nx = (uint32_t)nx;
			idx->ny = (uint32_t)ny;
			break;
		}
	}
	idx->cell_m = cell_m;
	idx->gx0 = xmin;
	idx->gy0 = ymin;
	idx->gkx = RT_DISTANCE_M_PER_DEG * kx / cell_m;
	idx->gky = RT_DISTANCE_M_PER_DEG / cell_m;
	idx->cell = malloc((size_t)idx->nx * idx->ny * sizeof *idx->cell);
	if (idx->cell == NULL)
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	return RT_OK;
}

/* Classify every cell, then pack owners and candidate lists into idx->cell / cands. */
static enum rt_status
rt_geo_index_cells(struct rt_geo_index *idx, struct rt_geo_ctx *ctx,
		   const struct rt_geo_areas *areas, double tdx, struct rt_err *err)
{
	size_t ncells = (size_t)idx->nx * idx->ny;
	struct rt_geo_index_cls c = {.idx = idx, .h = ctx->h, .tdx = tdx, .tdy = idx->tol_deg_y};
	uint32_t *start = NULL;
	enum rt_status st = RT_OK;

	c.owner = malloc(ncells * sizeof *c.owner);
	start = calloc(ncells + 1, sizeof *start);
	if (c.owner == NULL || start == NULL) {
		st = rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	for (size_t k = 0; k < ncells; k++)
		c.owner[k] = -1;
	for (size_t i = 0; i < idx->n && !c.fail; i++) {
		const struct rt_geo_index_area *a = &idx->a[i];

		if (a->xmin > a->xmax)
			continue;
		rt_geo_ctx_clear(ctx);
		c.prep = GEOSPrepare_r(ctx->h, areas->v[i].geom);
		if (c.prep == NULL) {
			c.fail = true;
			break;
		}
		c.area = (int32_t)i;
		rt_geo_index_classify(
			&c, rt_geo_index_clamp((a->xmin - tdx - idx->gx0) * idx->gkx, idx->nx),
			rt_geo_index_clamp((a->ymin - c.tdy - idx->gy0) * idx->gky, idx->ny),
			rt_geo_index_clamp((a->xmax + tdx - idx->gx0) * idx->gkx + 1, idx->nx),
			rt_geo_index_clamp((a->ymax + c.tdy - idx->gy0) * idx->gky + 1, idx->ny));
		GEOSPreparedGeom_destroy_r(ctx->h, c.prep);
	}
	if (c.fail) {
		st = ctx->geos_msg[0] ? rt_geo_ctx_fail(ctx, err, "index cells")
				      : rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	/* Counting sort of pairs by cell; areas stay ascending within a cell. */
	for (size_t k = 0; k < c.npairs; k++)
		if (c.owner[c.pairs[2 * k]] < 0)
			start[c.pairs[2 * k] + 1]++;
	for (size_t k = 0; k < ncells; k++) {
		uint32_t n = start[k + 1];

		idx->cells_edge += n > 0;
		idx->cells_inside += c.owner[k] >= 0;
		start[k + 1] = start[k] + (n > 0 ? n + 1 : 0); /* + 1: the -1 terminator */
	}
	idx->ncands = start[ncells];
	idx->cands = malloc((idx->ncands ? idx->ncands : 1) * sizeof *idx->cands);
	if (idx->cands == NULL || idx->ncands > INT32_MAX - 2) {
		st = rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	for (size_t k = 0; k < ncells; k++) {
		if (c.owner[k] >= 0)
			idx->cell[k] = c.owner[k];
		else if (start[k + 1] > start[k])
			idx->cell[k] = -2 - (int32_t)start[k];
		else
			idx->cell[k] = -1;
	}
	for (size_t k = 0; k < c.npairs; k++) {
		uint32_t cell = c.pairs[2 * k];

		if (c.owner[cell] < 0)
			idx->cands[start[cell]++] = (int32_t)c.pairs[2 * k + 1];
	}
	/* start[cell] now points at each list's terminator slot. */
	for (size_t k = 0; k < ncells; k++)
		if (idx->cell[k] <= -2)
			idx->cands[start[k]] = -1;
done:
	free(c.owner);
	free(c.pairs);
	free(start);
	return st;
}

/* ---- build: exact path ---- */

static enum rt_status
rt_geo_index_exact(struct rt_geo_index *idx, struct rt_geo_ctx *ctx,
		   const struct rt_geo_areas *areas, struct rt_err *err)
{
	GEOSContextHandle_t h = ctx->h;

	idx->geoms = calloc(idx->n ? idx->n : 1, sizeof *idx->geoms);
	idx->prep = calloc(idx->n ? idx->n : 1, sizeof *idx->prep);
	if (idx->geoms == NULL || idx->prep == NULL)
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	rt_geo_ctx_clear(ctx);
	idx->tree = GEOSSTRtree_create_r(h, 10);
	if (idx->tree == NULL)
		return rt_geo_ctx_fail(ctx, err, "STRtree");
	for (size_t i = 0; i < idx->n; i++) {
		idx->geoms[i] = GEOSGeom_clone_r(h, areas->v[i].geom);
		if (idx->geoms[i] == NULL)
			return rt_geo_ctx_fail(ctx, err, "clone");
		idx->prep[i] = GEOSPrepare_r(h, idx->geoms[i]);
		if (idx->prep[i] == NULL)
			return rt_geo_ctx_fail(ctx, err, "prepare");
		if (GEOSisEmpty_r(h, idx->geoms[i]) == 0)
			GEOSSTRtree_insert_r(h, idx->tree, idx->geoms[i], &idx->a[i]);
	}
	return RT_OK;
}

struct rt_geo_index *
rt_geo_index_new(struct rt_geo_ctx *ctx, const struct rt_geo_areas *areas,
		 const struct rt_geo_index_opts *opts, struct rt_err *err)
{
	struct rt_geo_index_opts defaults;
	struct rt_geo_index_bld b = {.h = ctx->h};
	size_t slab_start_cap = 0, slab_edges_cap = 0;
	struct rt_geo_index *idx;
	enum rt_status st;
	double tdx;

	if (opts == NULL) {
		rt_geo_index_opts_default(&defaults);
		opts = &defaults;
	}
	if (!(opts->gap_tolerance_m >= 0.0 && opts->gap_tolerance_m <= 100000.0) ||
	    !(opts->cell_m >= 1.0) || opts->max_cells < 1 || areas->n > INT32_MAX - 2) {
		rt_err_set(err, RT_E_INVAL, "geo index: bad options");
		return NULL;
	}
	idx = calloc(1, sizeof *idx);
	if (idx == NULL) {
		rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		return NULL;
	}
	b.idx = idx;
	idx->ctx = ctx;
	idx->n = areas->n;
	idx->tol_m = opts->gap_tolerance_m;
	idx->tol_deg_y = opts->gap_tolerance_m / RT_DISTANCE_M_PER_DEG;
	idx->ids = calloc(idx->n ? idx->n : 1, sizeof *idx->ids);
	idx->a = calloc(idx->n ? idx->n : 1, sizeof *idx->a);
	if (idx->ids == NULL || idx->a == NULL)
		goto nomem;
	for (size_t i = 0; i < idx->n; i++) {
		idx->ids[i] = strdup(areas->v[i].id);
		if (idx->ids[i] == NULL ||
		    !rt_geo_index_area(&b, i, areas->v[i].geom, &slab_start_cap, &slab_edges_cap))
			goto nomem;
	}
	free(b.edges);
	b.edges = NULL;
	st = rt_geo_index_grid(idx, opts, &tdx, err);
	if (st == RT_OK)
		st = rt_geo_index_cells(idx, ctx, areas, tdx, err);
	if (st == RT_OK && opts->keep_exact)
		st = rt_geo_index_exact(idx, ctx, areas, err);
	if (st != RT_OK) {
		rt_geo_index_free(idx);
		return NULL;
	}
	return idx;
nomem:
	free(b.edges);
	rt_geo_index_free(idx);
	rt_err_set(err, RT_E_NOMEM, "geo: out of memory (or more than 2^32 vertices)");
	return NULL;
}

void
rt_geo_index_free(struct rt_geo_index *idx)
{
	if (idx == NULL)
		return;
	if (idx->tree != NULL)
		GEOSSTRtree_destroy_r(idx->ctx->h, idx->tree);
	for (size_t i = 0; idx->prep != NULL && i < idx->n; i++)
		if (idx->prep[i] != NULL)
			GEOSPreparedGeom_destroy_r(idx->ctx->h, idx->prep[i]);
	for (size_t i = 0; idx->geoms != NULL && i < idx->n; i++)
		if (idx->geoms[i] != NULL)
			GEOSGeom_destroy_r(idx->ctx->h, idx->geoms[i]);
	free(idx->prep);
	free(idx->geoms);
	for (size_t i = 0; idx->ids != NULL && i < idx->n; i++)
		free(idx->ids[i]);
	free(idx->ids);
	free(idx->a);
	free(idx->xy);
	free(idx->slab_start);
	free(idx->slab_edges);
	free(idx->cell);
	free(idx->cands);
	free(idx);
}

size_t
rt_geo_index_count(const struct rt_geo_index *idx)
{
	return idx->n;
}

const char *
rt_geo_index_id(const struct rt_geo_index *idx, size_t i)
{
	return i < idx->n ? idx->ids[i] : NULL;
}

void
rt_geo_index_stats(const struct rt_geo_index *idx, struct rt_geo_index_stats *st)
{
	st->areas = idx->n;
	st->vertices = idx->nvert;
	st->cells = (size_t)idx->nx * idx->ny;
	st->cells_inside = idx->cells_inside;
	st->cells_edge = idx->cells_edge;
	st->candidates = idx->ncands;
	st->cell_m = idx->cell_m;
	st->bytes = idx->n * sizeof *idx->a + idx->nvert * 2 * sizeof *idx->xy +
		    idx->nslab_start * sizeof *idx->slab_start +
		    idx->nslab_edges * sizeof *idx->slab_edges + st->cells * sizeof *idx->cell +
		    idx->ncands * sizeof *idx->cands;
}

/* ---- exact (reference) lookup ---- */

struct rt_geo_index_q {
	const struct rt_geo_index *idx;
	size_t *v;
	size_t n, cap;
	bool oom;
};

static void
rt_geo_index_q_cb(void *item, void *userdata)
{
	struct rt_geo_index_q *q = userdata;

	if (q->oom)
		return;
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		size_t *v = realloc(q->v, cap * sizeof *v);

		if (v == NULL) {
			q->oom = true;
			return;
		}
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = (size_t)((const struct rt_geo_index_area *)item - q->idx->a);
}

static int
rt_geo_index_cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Metres from (lon, lat) to the nearest edge of polygonal g, read from GEOS
 * (not from the hot-path arrays, so it checks them); INFINITY if none. */
static double
rt_geo_index_exact_dist(GEOSContextHandle_t h, const GEOSGeometry *g, double lon, double lat)
{
	int type = GEOSGeomTypeId_r(h, g);
	double best = INFINITY;

	if (type == GEOS_MULTIPOLYGON) {
		for (int k = 0; k < GEOSGetNumGeometries_r(h, g); k++)
			best = fmin(best, rt_geo_index_exact_dist(h, GEOSGetGeometryN_r(h, g, k),
								  lon, lat));
		return best;
	}
	if (type != GEOS_POLYGON || GEOSisEmpty_r(h, g) != 0)
		return INFINITY;
	for (int r = -1; r < GEOSGetNumInteriorRings_r(h, g); r++) {
		const GEOSGeometry *ring =
			r < 0 ? GEOSGetExteriorRing_r(h, g) : GEOSGetInteriorRingN_r(h, g, r);
		const GEOSCoordSequence *cs = ring ? GEOSGeom_getCoordSeq_r(h, ring) : NULL;
		unsigned int n = 0;
		double px = 0, py = 0, x, y;

		if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n))
			continue;
		for (unsigned int k = 0; k < n; k++) {
			if (!GEOSCoordSeq_getXY_r(h, cs, k, &x, &y))
				break;
			if (k > 0)
				best = fmin(best, rt_distance_point_segment_m(lon, lat, px, py,
									      x, y));
			px = x;
			py = y;
		}
	}
	return best;
}

enum rt_status
rt_geo_index_locate_exact(struct rt_geo_index *idx, double lon, double lat, struct rt_geo_hit *hit,
			  struct rt_err *err)
{
	GEOSContextHandle_t h;
	struct rt_geo_index_q q = {.idx = idx};
	GEOSGeometry *pt = NULL, *box = NULL;
	enum rt_status st = RT_OK;
	double tdx, best = INFINITY;

	hit->area = -1;
	hit->kind = RT_GEO_HIT_OUTSIDE;
	hit->dist_m = INFINITY;
	if (idx->tree == NULL)
		return rt_err_set(err, RT_E_INVAL, "index built without keep_exact");
	if (!rt_distance_lonlat_ok(lon, lat))
		return rt_err_set(err, RT_E_INVAL, "point out of range");
	h = idx->ctx->h;
	rt_geo_ctx_clear(idx->ctx);
	tdx = idx->tol_deg_y / fmax(0.01, cos(lat * (M_PI / 180.0))) * 1.01;
	pt = GEOSGeom_createPointFromXY_r(h, lon, lat);
	box = GEOSGeom_createRectangle_r(h, lon - tdx, lat - idx->tol_deg_y * 1.01, lon + tdx,
					 lat + idx->tol_deg_y * 1.01);
	if (pt == NULL || box == NULL) {
		st = rt_geo_ctx_fail(idx->ctx, err, "point");
		goto done;
	}
	GEOSSTRtree_query_r(h, idx->tree, box, rt_geo_index_q_cb, &q);
	if (q.oom) {
		st = rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	if (q.n > 1)
		qsort(q.v, q.n, sizeof *q.v, rt_geo_index_cmp_size);
	for (size_t k = 0; k < q.n; k++) {
		char in = GEOSPreparedIntersects_r(h, idx->prep[q.v[k]], pt);

		if (in == 2) {
			st = rt_geo_ctx_fail(idx->ctx, err, "prepared intersects");
			goto done;
		}
		if (in == 1) {
			hit->area = (long)q.v[k];
			hit->kind = RT_GEO_HIT_INSIDE;
			hit->dist_m = 0.0;
			goto done;
		}
	}
	for (size_t k = 0; k < q.n; k++) {
		double d = rt_geo_index_exact_dist(h, idx->geoms[q.v[k]], lon, lat);

		if (d <= idx->tol_m && d < best) {
			best = d;
			hit->area = (long)q.v[k];
			hit->kind = RT_GEO_HIT_NEAR;
			hit->dist_m = d;
		}
	}
done:
	if (pt != NULL)
		GEOSGeom_destroy_r(h, pt);
	if (box != NULL)
		GEOSGeom_destroy_r(h, box);
	free(q.v);
	return st;
}
