/* Travel-time model: straight-line distance, a detour factor and speeds per
 * vehicle. Owns the defaults; road graphs, traffic and clocks are not its
 * business (callers pass times in and out as plain seconds). */
#include <string.h>

#include "routing/common/distance.h"
#include "routing/geo/travel.h"

static const char *const rt_geo_travel_names[RT_GEO_VEHICLE_COUNT] = {
	"walk", "bicycle", "tricycle", "van", "truck",
};

void
rt_geo_travel_model_default(struct rt_geo_travel_model *m)
{
	static const double kmh[RT_GEO_VEHICLE_COUNT] = {4.5, 12.0, 18.0, 25.0, 30.0};

	m->detour_factor = 1.3;
	memcpy(m->speed_kmh, kmh, sizeof kmh);
}

enum rt_status
rt_geo_travel_model_check(const struct rt_geo_travel_model *m, struct rt_err *err)
{
	if (!(m->detour_factor >= 1.0 && m->detour_factor <= 10.0))
		return rt_err_set(err, RT_E_INVAL, "travel: detour factor %g not in [1, 10]",
				  m->detour_factor);
	for (int v = 0; v < RT_GEO_VEHICLE_COUNT; v++)
		if (!(m->speed_kmh[v] > 0.0 && m->speed_kmh[v] <= 300.0))
			return rt_err_set(err, RT_E_INVAL,
					  "travel: speed of %s %g km/h not in (0, 300]",
					  rt_geo_travel_names[v], m->speed_kmh[v]);
	return RT_OK;
}

const char *
rt_geo_travel_vehicle_name(enum rt_geo_vehicle v)
{
	return (unsigned)v < RT_GEO_VEHICLE_COUNT ? rt_geo_travel_names[v] : NULL;
}

enum rt_status
rt_geo_travel_vehicle_parse(const char *name, enum rt_geo_vehicle *out)
{
	for (int v = 0; v < RT_GEO_VEHICLE_COUNT; v++) {
		if (strcmp(name, rt_geo_travel_names[v]) == 0) {
			*out = (enum rt_geo_vehicle)v;
			return RT_OK;
		}
	}
	return RT_E_INVAL;
}

enum rt_status
rt_geo_travel_estimate(const struct rt_geo_travel_model *m, enum rt_geo_vehicle v, double lon1,
		       double lat1, double lon2, double lat2, double *dist_m, double *time_s)
{
	double d;

	if ((unsigned)v >= RT_GEO_VEHICLE_COUNT || !(m->speed_kmh[v] > 0.0) ||
	    !rt_distance_lonlat_ok(lon1, lat1) || !rt_distance_lonlat_ok(lon2, lat2))
		return RT_E_INVAL;
	d = rt_distance_haversine_m(lon1, lat1, lon2, lat2) * m->detour_factor;
	if (dist_m != NULL)
		*dist_m = d;
	if (time_s != NULL)
		*time_s = d / (m->speed_kmh[v] / 3.6);
	return RT_OK;
}

enum rt_status
rt_geo_travel_matrix(const struct rt_geo_travel_model *m, enum rt_geo_vehicle v,
		     const double *lonlat, size_t n, double *dist_m, double *time_s)
{
	if ((unsigned)v >= RT_GEO_VEHICLE_COUNT || !(m->speed_kmh[v] > 0.0))
		return RT_E_INVAL;
	for (size_t i = 0; i < n; i++)
		if (!rt_distance_lonlat_ok(lonlat[2 * i], lonlat[2 * i + 1]))
			return RT_E_INVAL;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			double d = i == j ? 0.0
					  : rt_distance_haversine_m(
						    lonlat[2 * i], lonlat[2 * i + 1], lonlat[2 * j],
						    lonlat[2 * j + 1]) *
						    m->detour_factor;

			if (dist_m != NULL)
				dist_m[i * n + j] = d;
			if (time_s != NULL)
				time_s[i * n + j] = d / (m->speed_kmh[v] / 3.6);
		}
	}
	return RT_OK;
}
