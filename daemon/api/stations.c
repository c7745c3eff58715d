/* Geography resources: locate a point (station, district, serving
 * warehouses), list the stations, and one station with its service area as
 * GeoJSON. They read the current areas snapshot (svc/areas.c); none waits on a
 * backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/io/http.h"
#include "daemon/api/stations.h"
#include "daemon/api/tables.h"

static json_t *
dm_api_stations_place_json(const struct dm_areas_place *p)
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
dm_api_stations_not_loaded(struct dm_req *r)
{
	dm_req_problem(r, DM_PROBLEM_NOT_READY, "no service areas loaded yet (import them with dispatchctl areas "
			       "import, then reload)",
		       NULL);
}

int
dm_api_stations_find(struct dm_req *r, const char *id, struct dm_areas_place *place)
{
	struct dm_areas_place scratch;
	struct dm_areas_snap *geo = dm_areas_current(r->d);
	enum dm_areas_status gs = geo != NULL
				      ? dm_areas_station(geo, id, place != NULL ? place : &scratch)
				      : DM_AREAS_NOT_LOADED;
	dm_areas_unref(geo);
	if (gs == DM_AREAS_OK)
		return 0;
	if (gs == DM_AREAS_NOT_LOADED)
		dm_req_problem(r, DM_PROBLEM_NOT_READY, "no service areas loaded yet", NULL);
	else
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such station", NULL);
	return -1;
}

static void
dm_api_stations_locate(struct dm_req *r)
{
	double lat = 0, lon = 0;
	json_t *errors = json_array();
	if (dm_req_query_latlon(r, &lat, &lon, errors) != 0) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid coordinates", json_pack("{s:o}", "errors", errors));
		return;
	}
	json_decref(errors);
	struct dm_areas_snap *geo = dm_areas_current(r->d);
	struct dm_areas_place place;
	switch (dm_areas_locate(geo, lon, lat, &place)) {
	case DM_AREAS_OK: {
		json_t *body = dm_api_stations_place_json(&place);
		json_object_set_new(body, "match", json_string(place.near ? "nearest" : "inside"));
		json_object_set_new(body, "distance_m", json_real(round(place.dist_m)));
		dm_req_reply_json(r, 200, body);
		break;
	}
	case DM_AREAS_OUTSIDE:
		dm_req_problem(r, DM_PROBLEM_OUTSIDE_COVERAGE, "outside coverage: no delivery station serves this point",
			       json_pack("{s:f,s:f}", "lat", lat, "lon", lon));
		break;
	default:
		dm_api_stations_not_loaded(r);
		break;
	}
	dm_areas_unref(geo);
}

static void
dm_api_stations_stations(struct dm_req *r)
{
	struct dm_areas_snap *geo = dm_areas_current(r->d);
	size_t n = dm_areas_station_count(geo);
	if (n == 0) {
		dm_api_stations_not_loaded(r);
		dm_areas_unref(geo);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct dm_areas_place p;
		if (dm_areas_station(geo, dm_areas_station_id(geo, i), &p) == DM_AREAS_OK)
			json_array_append_new(list, dm_api_stations_place_json(&p));
	}
	dm_areas_unref(geo);
	dm_req_reply_json(r, 200, json_pack("{s:o,s:i}", "stations", list, "count", (int)n));
}

static void
dm_api_stations_station(struct dm_req *r)
{
	struct dm_areas_snap *geo = dm_areas_current(r->d);
	struct dm_areas_place p;
	switch (dm_areas_station(geo, r->params[0], &p)) {
	case DM_AREAS_OK: {
		json_t *body = dm_api_stations_place_json(&p);
		json_t *area = json_loads(dm_areas_station_area_geojson(geo, r->params[0]), 0, NULL);
		json_object_set_new(body, "area", area != NULL ? area : json_null());
		dm_req_reply_json(r, 200, body);
		break;
	}
	case DM_AREAS_UNKNOWN:
		dm_req_problem(r, DM_PROBLEM_NOT_FOUND, "no such station", NULL);
		break;
	default:
		dm_api_stations_not_loaded(r);
		break;
	}
	dm_areas_unref(geo);
}

static const struct dm_route dm_api_stations_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/locate",
	 .handler = dm_api_stations_locate,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations",
	 .handler = dm_api_stations_stations,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE)},
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/stations/{id}",
	 .handler = dm_api_stations_station,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLE(ADMIN) | DM_ROLE(ORDER_SERVICE) | DM_ROLE(STATION),
	 .scope_param = 1},
};

const struct dm_route_table dm_api_stations_table = {
	dm_api_stations_routes, sizeof dm_api_stations_routes / sizeof dm_api_stations_routes[0]};
