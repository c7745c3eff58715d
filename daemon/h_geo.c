/* Geography resources: locate a point (station, district, serving
 * warehouses), list the stations, and one station with its service area as
 * GeoJSON. They read the current areas snapshot (geo.c); none waits on a
 * backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/geo.h"
#include "daemon/http.h"
#include "daemon/routes.h"

static json_t *
dm_h_geo_place_json(const struct dm_geo_place *p)
{
	json_t *whs = json_array();
	for (int i = 0; i < p->nwarehouses; i++)
		json_array_append_new(whs, json_pack("{s:s,s:s,s:f,s:f,s:f}", "id",
						     p->warehouses[i].id, "kind", p->warehouses[i].kind,
						     "lon", p->warehouses[i].lon, "lat",
						     p->warehouses[i].lat, "distance_m",
						     round(p->warehouses[i].dist_m)));
	return json_pack("{s:{s:s,s:s,s:f,s:f},s:{s:s,s:s},s:o}", "station", "id", p->station_id,
			 "name", p->station_name, "lon", p->station_lon, "lat", p->station_lat,
			 "district", "id", p->district_id, "name", p->district_name, "warehouses",
			 whs);
}

static void
dm_h_geo_not_loaded(struct dm_req *r)
{
	dm_req_problem(r, 503, "no service areas loaded yet (import them with dispatchctl areas "
			       "import, then reload)",
		       NULL);
}

static void
dm_h_geo_locate(struct dm_req *r)
{
	double lat = 0, lon = 0;
	json_t *errors = json_array();
	if (dm_req_query_latlon(r, &lat, &lon, errors) != 0) {
		dm_req_problem(r, 422, "invalid coordinates", json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	struct dm_geo *geo = dm_geo_current(r->d);
	struct dm_geo_place place;
	switch (dm_geo_locate(geo, lon, lat, &place)) {
	case DM_GEO_OK: {
		json_t *body = dm_h_geo_place_json(&place);
		json_object_set_new(body, "match", json_string(place.near ? "nearest" : "inside"));
		json_object_set_new(body, "distance_m", json_real(round(place.dist_m)));
		dm_req_reply_json(r, 200, body);
		break;
	}
	case DM_GEO_OUTSIDE:
		dm_req_problem(r, 422, "outside coverage: no delivery station serves this point",
			       json_pack("{s:f,s:f}", "lat", lat, "lon", lon));
		break;
	default:
		dm_h_geo_not_loaded(r);
		break;
	}
	dm_geo_unref(geo);
}

static void
dm_h_geo_stations(struct dm_req *r)
{
	struct dm_geo *geo = dm_geo_current(r->d);
	size_t n = dm_geo_station_count(geo);
	if (n == 0) {
		dm_h_geo_not_loaded(r);
		dm_geo_unref(geo);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct dm_geo_place p;
		if (dm_geo_station(geo, dm_geo_station_id(geo, i), &p) == DM_GEO_OK)
			json_array_append_new(list, dm_h_geo_place_json(&p));
	}
	dm_geo_unref(geo);
	dm_req_reply_json(r, 200, json_pack("{s:o,s:i}", "stations", list, "count", (int)n));
}

static void
dm_h_geo_station(struct dm_req *r)
{
	struct dm_geo *geo = dm_geo_current(r->d);
	struct dm_geo_place p;
	switch (dm_geo_station(geo, r->params[0], &p)) {
	case DM_GEO_OK: {
		json_t *body = dm_h_geo_place_json(&p);
		json_t *area = json_loads(dm_geo_station_area_geojson(geo, r->params[0]), 0, NULL);
		json_object_set_new(body, "area", area != NULL ? area : json_null());
		dm_req_reply_json(r, 200, body);
		break;
	}
	case DM_GEO_UNKNOWN:
		dm_req_problem(r, 404, "no such station", NULL);
		break;
	default:
		dm_h_geo_not_loaded(r);
		break;
	}
	dm_geo_unref(geo);
}

static const struct dm_route dm_h_geo_routes[] = {
	{EVHTTP_REQ_GET, "/v1/locate", dm_h_geo_locate, 1},
	{EVHTTP_REQ_GET, "/v1/stations", dm_h_geo_stations, 1},
	{EVHTTP_REQ_GET, "/v1/stations/{id}", dm_h_geo_station, 1},
};

const struct dm_route_table dm_h_geo_table = {
	dm_h_geo_routes, sizeof dm_h_geo_routes / sizeof dm_h_geo_routes[0]};
