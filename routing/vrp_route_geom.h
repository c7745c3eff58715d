/* Route geometry: a planned route as a GEOS LineString through its depot and
 * stops, exported as WKB or as GeoJSON text with the per-stop ETAs. GEOS
 * objects stay inside; callers get plain buffers. */
#ifndef RT_VRP_ROUTE_GEOM_H
#define RT_VRP_ROUTE_GEOM_H

#include <stddef.h>

#include <geos_c.h>

#include "routing/err.h"
#include "routing/vrp_problem.h"
#include "routing/vrp_solution.h"

/* WKB (little endian, 2D) of route ri's LineString: start depot, stops in
 * order, end depot, with lonlat[2 * loc], lonlat[2 * loc + 1] per location
 * (n_locs entries). ctx is the calling thread's GEOS handle. On RT_OK *out is
 * a malloc'd buffer of *len bytes the caller frees with free(). Errors:
 * RT_E_INVAL (route index), RT_E_GEOS, RT_E_NOMEM. */
RT_MUST_CHECK enum rt_status rt_vrp_route_geom_wkb(GEOSContextHandle_t ctx,
						   const struct rt_vrp_problem *p,
						   const struct rt_vrp_solution *sol, size_t ri,
						   const double *lonlat, unsigned char **out,
						   size_t *len, struct rt_err *err);

/* GeoJSON FeatureCollection text of the whole plan: one LineString Feature
 * per route with properties vehicle, distance_m, depart_s, return_s and
 * stops (stop, arrival_s, start_s, departure_s, load), plus a property-only
 * Feature listing unassigned stops and reasons. On RT_OK *out is a malloc'd
 * NUL-terminated string the caller frees with free(). Same arguments and
 * errors as rt_vrp_route_geom_wkb(). */
RT_MUST_CHECK enum rt_status rt_vrp_route_geom_geojson(GEOSContextHandle_t ctx,
						       const struct rt_vrp_problem *p,
						       const struct rt_vrp_solution *sol,
						       const double *lonlat, char **out,
						       struct rt_err *err);

#endif
