/* Route paths as coordinates. Owns nothing: it reads a route of a solution
 * and the caller's per-location coordinates and writes the points of the
 * path into the caller's array. Turning them into GeoJSON is the daemon's
 * job (daemon/svc/wave_planner.c); the planner stays free of GEOS. */
#include "routing/vrp/route_path.h"

size_t
rt_vrp_route_path_len(const struct rt_vrp_route *r)
{
	return r->n_visits + 2;
}

/* The location index of point k of r's path, or n_locs when out of range. */
static size_t
rt_vrp_route_path_loc(const struct rt_vrp_problem *p, const struct rt_vrp_route *r, size_t k)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[r->vehicle];
	uint32_t stop;

	if (k == 0)
		return v->start_loc;
	if (k == r->n_visits + 1)
		return v->end_loc;
	stop = r->visits[k - 1].stop;
	return stop < p->n_stops ? p->stops[stop].loc : p->n_locs;
}

enum rt_status
rt_vrp_route_path_coords(const struct rt_vrp_problem *p, const struct rt_vrp_route *r,
			 const double *coords, double *out, struct rt_err *err)
{
	size_t n;

	if (p == NULL || r == NULL || coords == NULL || out == NULL)
		return rt_err_set(err, RT_E_INVAL, "route path: missing argument");
	if (r->vehicle >= p->n_vehicles)
		return rt_err_set(err, RT_E_INVAL, "route path: vehicle %u out of range",
				  (unsigned)r->vehicle);
	n = rt_vrp_route_path_len(r);
	for (size_t k = 0; k < n; k++) {
		size_t loc = rt_vrp_route_path_loc(p, r, k);
		if (loc >= p->n_locs)
			return rt_err_set(err, RT_E_INVAL,
					  "route path: point %zu has no location in the problem", k);
		out[2 * k] = coords[2 * loc];
		out[2 * k + 1] = coords[2 * loc + 1];
	}
	return RT_OK;
}
