/* Travel-time estimates without a road graph: great-circle distance times a
 * detour factor (road network / straight line), divided by a speed per
 * vehicle type. Pure functions over a caller-owned model; thread-safe. */
#ifndef RT_GEO_TRAVEL_H
#define RT_GEO_TRAVEL_H

#include <stddef.h>

#include "routing/common/err.h"

/* Vehicle types of the last mile and the trunk. */
enum rt_geo_vehicle {
	RT_GEO_VEHICLE_WALK = 0,
	RT_GEO_VEHICLE_BICYCLE,
	RT_GEO_VEHICLE_TRICYCLE, /* electric tricycle, the usual courier vehicle */
	RT_GEO_VEHICLE_VAN,
	RT_GEO_VEHICLE_TRUCK,
	RT_GEO_VEHICLE_COUNT
};

/* The model. Defaults (rt_geo_travel_model_default): detour 1.3; speeds
 * walk 4.5, bicycle 12, tricycle 18, van 25, truck 30 km/h (urban averages). */
struct rt_geo_travel_model {
	double detour_factor;			/* road / great-circle distance, >= 1 */
	double speed_kmh[RT_GEO_VEHICLE_COUNT]; /* average speed per vehicle, > 0 */
};

/* Fill `m` with the defaults above. */
void rt_geo_travel_model_default(struct rt_geo_travel_model *m);

/* RT_E_INVAL (with a message) when the detour is < 1 or a speed is not > 0. */
RT_MUST_CHECK enum rt_status rt_geo_travel_model_check(const struct rt_geo_travel_model *m,
						       struct rt_err *err);

/* Lower-case name of a vehicle ("tricycle"), or NULL when out of range. */
const char *rt_geo_travel_vehicle_name(enum rt_geo_vehicle v);

/* Vehicle by name; RT_E_INVAL when unknown. */
RT_MUST_CHECK enum rt_status rt_geo_travel_vehicle_parse(const char *name,
							 enum rt_geo_vehicle *out);

/* Estimated road distance (m) and travel time (s) between two lon/lat points.
 * Either output may be NULL. RT_E_INVAL for a bad vehicle or coordinates. */
RT_MUST_CHECK enum rt_status rt_geo_travel_estimate(const struct rt_geo_travel_model *m,
						    enum rt_geo_vehicle v, double lon1, double lat1,
						    double lon2, double lat2, double *dist_m,
						    double *time_s);

/* Fill caller-allocated row-major n x n matrices (dist_m[i * n + j]) for the
 * n points lonlat[2i], lonlat[2i + 1]; the shape of struct rt_vrp_matrix.
 * Either matrix may be NULL. RT_E_INVAL for a bad vehicle or coordinates. */
RT_MUST_CHECK enum rt_status rt_geo_travel_matrix(const struct rt_geo_travel_model *m,
						  enum rt_geo_vehicle v, const double *lonlat,
						  size_t n, double *dist_m, double *time_s);

#endif
