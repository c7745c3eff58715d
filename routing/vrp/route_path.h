/* A planned route's path as plain coordinates: its start location, its stops
 * in visiting order, its end location. The planner knows locations only by
 * index; the caller supplies one coordinate pair per location (lon/lat
 * degrees in the daemon, plane x/y for a Solomon instance) and gets the
 * route's points back in the same units. No geometry library: whoever wants
 * GeoJSON or WKB writes it from these arrays. */
#ifndef RT_VRP_ROUTE_PATH_H
#define RT_VRP_ROUTE_PATH_H

#include <stddef.h>

#include "routing/common/err.h"
#include "routing/vrp/problem.h"
#include "routing/vrp/solution.h"

/* Number of points on route r's path: n_visits + 2 (start and end location,
 * even when they are the same place). */
size_t rt_vrp_route_path_len(const struct rt_vrp_route *r);

/* Fill out[2k], out[2k + 1] for k < rt_vrp_route_path_len(r) (caller-allocated)
 * with the coordinates of the path's k-th point, read from coords[2 * loc],
 * coords[2 * loc + 1] (p->n_locs pairs). Borrows everything for the call.
 * RT_E_INVAL when r names a vehicle, stop or location outside p. Pure and
 * reentrant. */
RT_MUST_CHECK enum rt_status rt_vrp_route_path_coords(const struct rt_vrp_problem *p,
						      const struct rt_vrp_route *r,
						      const double *coords, double *out,
						      struct rt_err *err);

#endif
