/* Geodesic helpers on WGS84 lon/lat degrees. Pure functions, no allocation. */
#ifndef RT_GEO_DISTANCE_H
#define RT_GEO_DISTANCE_H

/* Great-circle distance in metres between two lon/lat points (haversine, mean Earth radius). */
double rt_geo_distance_haversine_m(double lon1, double lat1, double lon2, double lat2);

#endif
