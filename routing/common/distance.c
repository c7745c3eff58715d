/* Geodesic helpers: great-circle distances and areas on a spherical Earth.
 * Owns no state; the travel-time model that builds on it is routing/geo/travel.c. */
#include <math.h>

#include "routing/common/distance.h"

double
rt_distance_haversine_m(double lon1, double lat1, double lon2, double lat2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad;
	double dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2.0 * RT_DISTANCE_EARTH_RADIUS_M * asin(fmin(1.0, sqrt(a)));
}

bool
rt_distance_lonlat_ok(double lon, double lat)
{
	/* NaN fails every comparison, so it is rejected here too. */
	return lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0;
}

double
rt_distance_ring_area_m2(const double *xy, size_t n)
{
	/* Chamberlain & Duquette, "Some algorithms for polygons on a sphere"
	 * (JPL 2007): sum of dlon * (2 + sin lat1 + sin lat2) over the edges. */
	const double rad = M_PI / 180.0;
	double sum = 0.0;

	if (n < 3)
		return 0.0;
	for (size_t i = 0; i < n; i++) {
		size_t j = (i + 1) % n;
		double dlon = (xy[2 * j] - xy[2 * i]) * rad;
		sum += dlon * (2.0 + sin(xy[2 * i + 1] * rad) + sin(xy[2 * j + 1] * rad));
	}
	return fabs(sum * RT_DISTANCE_EARTH_RADIUS_M * RT_DISTANCE_EARTH_RADIUS_M / 2.0);
}

double
rt_distance_point_segment_m(double plon, double plat, double alon, double alat, double blon,
			    double blat)
{
	double kx = cos(plat * M_PI / 180.0) * RT_DISTANCE_M_PER_DEG;
	double ax = (alon - plon) * kx, ay = (alat - plat) * RT_DISTANCE_M_PER_DEG;
	double bx = (blon - plon) * kx, by = (blat - plat) * RT_DISTANCE_M_PER_DEG;
	double dx = bx - ax, dy = by - ay;
	double len2 = dx * dx + dy * dy;
	double t = len2 > 0.0 ? -(ax * dx + ay * dy) / len2 : 0.0;

	if (t < 0.0)
		t = 0.0;
	else if (t > 1.0)
		t = 1.0;
	return hypot(ax + t * dx, ay + t * dy);
}
