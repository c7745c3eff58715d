/* Geodesic helpers: great-circle distances on a spherical Earth. Owns no
 * state; travel-time models that build on it live with their callers. */
#include <math.h>

#include "routing/geo_distance.h"

#define RT_GEO_EARTH_RADIUS_M 6371008.8

double
rt_geo_distance_haversine_m(double lon1, double lat1, double lon2, double lat2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad;
	double dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2.0 * RT_GEO_EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}
