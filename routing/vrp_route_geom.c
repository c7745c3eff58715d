/* Route geometry export: builds a LineString per route with the caller's
 * GEOS handle (reentrant _r API) and writes it as WKB or as GeoJSON (GEOS
 * writes the geometry, jansson the Feature around it). Owns the GEOS objects
 * for the duration of a call; returns plain malloc'd buffers. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "routing/vrp_route_geom.h"

static GEOSGeometry *
rt_vrp_route_geom_line(GEOSContextHandle_t ctx, const struct rt_vrp_problem *p,
		       const struct rt_vrp_route *r, const double *lonlat, struct rt_err *err)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[r->vehicle];
	unsigned int n = (unsigned int)r->n_visits + 2;
	GEOSCoordSequence *seq = GEOSCoordSeq_create_r(ctx, n, 2);
	GEOSGeometry *g;

	if (seq == NULL) {
		rt_err_set(err, RT_E_GEOS, "GEOSCoordSeq_create_r failed");
		return NULL;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint32_t loc = i == 0       ? v->start_loc
			       : i == n - 1 ? v->end_loc
					    : p->stops[r->visits[i - 1].stop].loc;
		if (!GEOSCoordSeq_setXY_r(ctx, seq, i, lonlat[2 * loc], lonlat[2 * loc + 1])) {
			GEOSCoordSeq_destroy_r(ctx, seq);
			rt_err_set(err, RT_E_GEOS, "GEOSCoordSeq_setXY_r failed");
			return NULL;
		}
	}
	g = GEOSGeom_createLineString_r(ctx, seq); /* takes seq, even on failure */
	if (g == NULL)
		rt_err_set(err, RT_E_GEOS, "GEOSGeom_createLineString_r failed");
	return g;
}

enum rt_status
rt_vrp_route_geom_wkb(GEOSContextHandle_t ctx, const struct rt_vrp_problem *p,
		      const struct rt_vrp_solution *sol, size_t ri, const double *lonlat,
		      unsigned char **out, size_t *len, struct rt_err *err)
{
	GEOSGeometry *g;
	GEOSWKBWriter *w;
	unsigned char *buf;
	size_t n = 0;
	enum rt_status st = RT_OK;

	*out = NULL;
	*len = 0;
	if (ctx == NULL || sol == NULL || ri >= sol->n_routes || lonlat == NULL)
		return rt_err_set(err, RT_E_INVAL, "bad route geometry arguments");
	if ((g = rt_vrp_route_geom_line(ctx, p, &sol->routes[ri], lonlat, err)) == NULL)
		return RT_E_GEOS;
	if ((w = GEOSWKBWriter_create_r(ctx)) == NULL) {
		GEOSGeom_destroy_r(ctx, g);
		return rt_err_set(err, RT_E_GEOS, "GEOSWKBWriter_create_r failed");
	}
	GEOSWKBWriter_setByteOrder_r(ctx, w, GEOS_WKB_NDR);
	buf = GEOSWKBWriter_write_r(ctx, w, g, &n);
	if (buf == NULL) {
		st = rt_err_set(err, RT_E_GEOS, "GEOSWKBWriter_write_r failed");
	} else if ((*out = malloc(n)) == NULL) {
		st = rt_err_set(err, RT_E_NOMEM, "out of memory");
	} else {
		memcpy(*out, buf, n);
		*len = n;
	}
	if (buf != NULL)
		GEOSFree_r(ctx, buf);
	GEOSWKBWriter_destroy_r(ctx, w);
	GEOSGeom_destroy_r(ctx, g);
	return st;
}

static json_t *
rt_vrp_route_geom_props(const struct rt_vrp_route *r)
{
	json_t *props = json_object(), *stops = json_array();

	if (props == NULL || stops == NULL) {
		json_decref(props);
		json_decref(stops);
		return NULL;
	}
	for (size_t k = 0; k < r->n_visits; k++) {
		const struct rt_vrp_visit *v = &r->visits[k];
		json_t *o =
		    json_pack("{s:I,s:f,s:f,s:f,s:[f,f]}", "stop", (json_int_t)v->stop, "arrival_s",
			      v->arrival_s, "start_s", v->start_s, "departure_s", v->departure_s,
			      "load", v->load[0], v->load[1]);
		if (o == NULL || json_array_append_new(stops, o) != 0) {
			json_decref(props);
			json_decref(stops);
			return NULL;
		}
	}
	if (json_object_set_new(props, "vehicle", json_integer(r->vehicle)) != 0 ||
	    json_object_set_new(props, "distance_m", json_real(r->dist_m)) != 0 ||
	    json_object_set_new(props, "depart_s", json_real(r->depart_s)) != 0 ||
	    json_object_set_new(props, "return_s", json_real(r->return_s)) != 0 ||
	    json_object_set_new(props, "stops", stops) != 0) {
		json_decref(props);
		return NULL;
	}
	return props;
}

/* One Feature for route ri, or NULL with err set. */
static json_t *
rt_vrp_route_geom_feature(GEOSContextHandle_t ctx, GEOSGeoJSONWriter *w,
			  const struct rt_vrp_problem *p, const struct rt_vrp_route *r,
			  const double *lonlat, struct rt_err *err)
{
	GEOSGeometry *g = rt_vrp_route_geom_line(ctx, p, r, lonlat, err);
	char *text;
	json_t *geom = NULL, *props, *feat = NULL;

	if (g == NULL)
		return NULL;
	text = GEOSGeoJSONWriter_writeGeometry_r(ctx, w, g, -1);
	GEOSGeom_destroy_r(ctx, g);
	if (text == NULL) {
		rt_err_set(err, RT_E_GEOS, "GEOSGeoJSONWriter_writeGeometry_r failed");
		return NULL;
	}
	geom = json_loads(text, 0, NULL);
	GEOSFree_r(ctx, text);
	props = rt_vrp_route_geom_props(r);
	if (geom != NULL && props != NULL)
		feat = json_pack("{s:s,s:o,s:o}", "type", "Feature", "geometry", geom, "properties",
				 props);
	else {
		json_decref(geom);
		json_decref(props);
	}
	if (feat == NULL)
		rt_err_set(err, RT_E_NOMEM, "out of memory building a route feature");
	return feat;
}

static json_t *
rt_vrp_route_geom_unassigned(const struct rt_vrp_solution *sol)
{
	json_t *list = json_array();

	for (size_t i = 0; list != NULL && i < sol->n_unassigned; i++) {
		json_t *o =
		    json_pack("{s:I,s:s}", "stop", (json_int_t)sol->unassigned[i].stop, "reason",
			      rt_vrp_problem_reason_name(sol->unassigned[i].reason));
		if (o == NULL || json_array_append_new(list, o) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	if (list == NULL)
		return NULL;
	return json_pack("{s:s,s:n,s:{s:o}}", "type", "Feature", "geometry", "properties",
			 "unassigned", list);
}

enum rt_status
rt_vrp_route_geom_geojson(GEOSContextHandle_t ctx, const struct rt_vrp_problem *p,
			  const struct rt_vrp_solution *sol, const double *lonlat, char **out,
			  struct rt_err *err)
{
	GEOSGeoJSONWriter *w;
	json_t *feats, *fc = NULL, *un;
	enum rt_status st = RT_OK;

	*out = NULL;
	if (ctx == NULL || p == NULL || sol == NULL || lonlat == NULL)
		return rt_err_set(err, RT_E_INVAL, "bad route geometry arguments");
	if ((w = GEOSGeoJSONWriter_create_r(ctx)) == NULL)
		return rt_err_set(err, RT_E_GEOS, "GEOSGeoJSONWriter_create_r failed");
	if ((feats = json_array()) == NULL) {
		st = rt_err_set(err, RT_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t ri = 0; ri < sol->n_routes; ri++) {
		json_t *f = rt_vrp_route_geom_feature(ctx, w, p, &sol->routes[ri], lonlat, err);
		if (f == NULL || json_array_append_new(feats, f) != 0) {
			st = err != NULL && err->code != RT_OK ? err->code : RT_E_NOMEM;
			goto out;
		}
	}
	if ((un = rt_vrp_route_geom_unassigned(sol)) == NULL ||
	    json_array_append_new(feats, un) != 0 ||
	    (fc = json_pack("{s:s,s:O}", "type", "FeatureCollection", "features", feats)) == NULL ||
	    (*out = json_dumps(fc, JSON_COMPACT | JSON_REAL_PRECISION(10))) == NULL)
		st = rt_err_set(err, RT_E_NOMEM, "out of memory writing GeoJSON");
out:
	json_decref(fc);
	json_decref(feats);
	GEOSGeoJSONWriter_destroy_r(ctx, w);
	return st;
}
