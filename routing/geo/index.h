/* Point-to-area index: which area contains (lon, lat), else the nearest area
 * within a gap tolerance, else "outside coverage".
 *
 * Design. At build time GEOS prepared geometries classify the cells of a
 * uniform grid (about cell_m on a side) over the areas: a cell covered by one
 * area answers directly; a cell that meets area boundaries (or lies within
 * the gap tolerance of an area) keeps the short list of those areas; any
 * other cell is outside. The hot path (rt_geo_index_locate) reads one cell
 * and, on boundary cells only, runs an even-odd point-in-polygon test over
 * the candidates' edges bucketed in horizontal slabs, then a nearest-edge
 * search for points in gaps. It touches plain arrays only: no GEOS call, no
 * allocation, no locks.
 *
 * Gap rule: a point in no area goes to the area with the nearest boundary if
 * that is within gap_tolerance_m (ties: lower area index), else outside.
 * Areas should be disjoint (rt_geo_areas_resolve); if they overlap, the lowest
 * area index containing the point wins.
 *
 * Threads: rt_geo_index_locate only reads immutable memory and may be called
 * from any number of threads at once. With keep_exact, the index also holds
 * an STRtree and GEOS prepared geometries for rt_geo_index_locate_exact; in
 * GEOS 3.11 prepared geometries are not thread-safe even for reads, so that
 * function, and rt_geo_index_free of such an index, run only on the thread
 * owning the context the index was built with. */
#ifndef RT_GEO_INDEX_H
#define RT_GEO_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "routing/common/err.h"
#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"

/* Build options. */
struct rt_geo_index_opts {
	double gap_tolerance_m; /* gap rule distance, default 500 m; 0: no gap rule */
	double cell_m;		/* grid cell side, default 250 m (grown to fit max_cells) */
	size_t max_cells;	/* grid size cap, default 4194304 (16 MiB of cells) */
	bool keep_exact;	/* keep GEOS objects for rt_geo_index_locate_exact; default false */
};

/* How a lookup was answered. */
enum rt_geo_hit_kind {
	RT_GEO_HIT_OUTSIDE = 0, /* no area contains the point or is within the tolerance */
	RT_GEO_HIT_INSIDE,	/* the area contains the point */
	RT_GEO_HIT_NEAR,	/* in a gap: the nearest area, within the tolerance */
};

/* Result of a lookup. */
struct rt_geo_hit {
	long area;		   /* area index (as in the source set), -1 when outside */
	enum rt_geo_hit_kind kind; /* how it was found */
	double dist_m;		   /* 0 inside, else metres to the area's boundary */
};

/* Figures about an index, for logs and benchmarks. */
struct rt_geo_index_stats {
	size_t areas;	     /* areas indexed */
	size_t vertices;     /* polygon vertices kept for the hot path */
	size_t cells;	     /* grid cells */
	size_t cells_inside; /* cells answered by one covering area */
	size_t cells_edge;   /* cells with a candidate list */
	size_t candidates;   /* total candidate entries over edge cells */
	size_t bytes;	     /* memory of the hot-path arrays */
	double cell_m;	     /* cell side actually used, metres (north-south) */
};

/* Opaque index. */
struct rt_geo_index;

/* Fill `opts` with the defaults above. */
void rt_geo_index_opts_default(struct rt_geo_index_opts *opts);

/* Build an index over every area of `areas` (borrowed for the call; ids are
 * copied, so the set may be freed afterwards). Area indexes in hits are the
 * set's. `opts` may be NULL for the defaults. NULL with `err` filled on
 * failure (RT_E_NOMEM, RT_E_GEOS, RT_E_INVAL for bad options or sizes). */
struct rt_geo_index *rt_geo_index_new(struct rt_geo_ctx *ctx, const struct rt_geo_areas *areas,
				      const struct rt_geo_index_opts *opts, struct rt_err *err);

/* Free an index (NULL is a no-op); see the thread rule above when keep_exact. */
void rt_geo_index_free(struct rt_geo_index *idx);

/* Number of areas indexed. */
size_t rt_geo_index_count(const struct rt_geo_index *idx);

/* Id of area i, or NULL if out of range; lives as long as the index. */
const char *rt_geo_index_id(const struct rt_geo_index *idx, size_t i);

/* Locate (lon, lat) in degrees: fills *hit. RT_E_INVAL (hit = outside) when
 * the point is not finite or out of range. Never allocates; thread-safe. */
RT_MUST_CHECK enum rt_status rt_geo_index_locate(const struct rt_geo_index *idx, double lon,
						 double lat, struct rt_geo_hit *hit);

/* The same answer computed with the STRtree and GEOS prepared geometries
 * (a reference for tests and diagnostics; allocates). Needs keep_exact, else
 * RT_E_INVAL. Points on a shared boundary may differ from the fast path. */
RT_MUST_CHECK enum rt_status rt_geo_index_locate_exact(struct rt_geo_index *idx, double lon,
						       double lat, struct rt_geo_hit *hit,
						       struct rt_err *err);

/* Fill `st` with figures about the index. */
void rt_geo_index_stats(const struct rt_geo_index *idx, struct rt_geo_index_stats *st);

#endif
