/* Station service areas: split one area (a district) among sites (stations)
 * by a Voronoi diagram of the sites clipped to the area, so each point of the
 * district goes to its nearest station (straight-line). The diagram is built
 * on an equirectangular plane (longitude scaled by cos of the area's mid
 * latitude), so "nearest" is in metres, not in degrees. A cell clipped by a
 * concave district may have several parts. Threads: as for the sets. */
#ifndef RT_GEO_VORONOI_H
#define RT_GEO_VORONOI_H

#include <stddef.h>

#include "routing/common/err.h"
#include "routing/geo/areas.h"

/* One site; strings are borrowed for the call and copied into the new area. */
struct rt_geo_voronoi_site {
	double lon, lat;	/* degrees, inside the area being split */
	const char *id;		/* unique id of the new area */
	const char *name;	/* may be NULL */
	const char *props_json; /* compact JSON object text, may be NULL */
};

/* Append to `dst` one area per site (in site order, with kind `kind`, may be
 * NULL): area `area` of `src` split among the n sites. `src` and `dst` must
 * use the same context and be different sets. Fails with RT_E_INVAL when a
 * site lies outside the area, two sites coincide or n is 0; RT_E_GEOS or
 * RT_E_NOMEM otherwise. On failure `dst` may hold some of the new areas: the
 * caller discards it. */
RT_MUST_CHECK enum rt_status rt_geo_voronoi_split(const struct rt_geo_areas *src, size_t area,
						  const struct rt_geo_voronoi_site *sites, size_t n,
						  const char *kind, struct rt_geo_areas *dst,
						  struct rt_err *err);

#endif
