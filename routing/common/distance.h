/* Geodesic helpers on WGS84 lon/lat degrees. Pure functions, no allocation. */
#ifndef RT_DISTANCE_H
#define RT_DISTANCE_H

#include <stdbool.h>
#include <stddef.h>

/* Mean Earth radius (IUGG), metres. */
#define RT_DISTANCE_EARTH_RADIUS_M 6371008.8
/* Metres per degree of latitude (and of longitude at the equator) on that sphere. */
#define RT_DISTANCE_M_PER_DEG (RT_DISTANCE_EARTH_RADIUS_M * 3.14159265358979323846 / 180.0)

/* Great-circle distance in metres between two lon/lat points (haversine, mean Earth radius). */
double rt_distance_haversine_m(double lon1, double lat1, double lon2, double lat2);

/* True when lon is in [-180, 180], lat in [-90, 90] and both are finite. */
bool rt_distance_lonlat_ok(double lon, double lat);

/* Area in m2 enclosed by a ring of n lon/lat pairs (xy[2k], xy[2k+1]) on the
 * sphere; the ring may be closed or not, either orientation. Always >= 0. */
double rt_distance_ring_area_m2(const double *xy, size_t n);

/* Distance in metres from point p to segment a-b, on a local equirectangular
 * plane centred at p's latitude: exact enough within tens of kilometres. */
double rt_distance_point_segment_m(double plon, double plat, double alon, double alat,
				   double blon, double blat);

#endif
