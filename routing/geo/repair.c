/* Validation and repair of areas, and the report of what was done. Owns the
 * repair policy (GEOSMakeValid, structure method, polygon parts only) and the
 * report format; the area set owns the geometries it rewrites. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "routing/geo/impl.h"
#include "routing/geo/repair.h"

struct rt_geo_repair_parts {
	GEOSGeometry **v;
	size_t n, cap;
	bool fail;
	int dropped;
};

static void
rt_geo_repair_collect(GEOSContextHandle_t h, const GEOSGeometry *g, double min_part_m2,
		      struct rt_geo_repair_parts *p)
{
	int type = GEOSGeomTypeId_r(h, g);

	if (p->fail)
		return;
	if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
		int n = GEOSGetNumGeometries_r(h, g);

		for (int k = 0; k < n; k++)
			rt_geo_repair_collect(h, GEOSGetGeometryN_r(h, g, k), min_part_m2, p);
		return;
	}
	if (type != GEOS_POLYGON || GEOSisEmpty_r(h, g) != 0)
		return;
	if (rt_geo_areas_geom_m2(h, g) < min_part_m2) {
		p->dropped++;
		return;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		GEOSGeometry **v = realloc(p->v, cap * sizeof *v);

		if (v == NULL) {
			p->fail = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n] = GEOSGeom_clone_r(h, g);
	if (p->v[p->n] == NULL)
		p->fail = true;
	else
		p->n++;
}

GEOSGeometry *
rt_geo_repair_polygonal(GEOSContextHandle_t h, const GEOSGeometry *g, double min_part_m2,
			int *dropped)
{
	struct rt_geo_repair_parts p = {0};
	GEOSGeometry *out = NULL;

	rt_geo_repair_collect(h, g, min_part_m2, &p);
	if (!p.fail) {
		/* GEOS takes the parts; the array stays ours. */
		out = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, p.v, (unsigned int)p.n);
		if (out != NULL)
			p.n = 0;
	}
	for (size_t k = 0; k < p.n; k++)
		GEOSGeom_destroy_r(h, p.v[k]);
	free(p.v);
	if (dropped != NULL)
		*dropped = p.dropped;
	return out;
}

static int
rt_geo_repair_parts_count(GEOSContextHandle_t h, const GEOSGeometry *g)
{
	int type = GEOSGeomTypeId_r(h, g);

	if (type == GEOS_POLYGON)
		return GEOSisEmpty_r(h, g) == 0;
	if (type == GEOS_MULTIPOLYGON)
		return GEOSGetNumGeometries_r(h, g);
	return 0;
}

/* GEOSMakeValid (structure method) reduced to polygon parts; NULL on failure. */
static GEOSGeometry *
rt_geo_repair_make_valid(GEOSContextHandle_t h, const GEOSGeometry *g)
{
	GEOSMakeValidParams *mp = GEOSMakeValidParams_create_r(h);
	GEOSGeometry *fixed, *poly;

	if (mp == NULL)
		return NULL;
	if (!GEOSMakeValidParams_setMethod_r(h, mp, GEOS_MAKE_VALID_STRUCTURE) ||
	    !GEOSMakeValidParams_setKeepCollapsed_r(h, mp, 0)) {
		GEOSMakeValidParams_destroy_r(h, mp);
		return NULL;
	}
	fixed = GEOSMakeValidWithParams_r(h, g, mp);
	GEOSMakeValidParams_destroy_r(h, mp);
	if (fixed == NULL)
		return NULL;
	poly = rt_geo_repair_polygonal(h, fixed, RT_GEO_AREAS_MIN_PART_M2, NULL);
	GEOSGeom_destroy_r(h, fixed);
	return poly;
}

static enum rt_status
rt_geo_repair_one(struct rt_geo_areas *areas, size_t i, struct rt_err *err)
{
	GEOSContextHandle_t h = areas->ctx->h;
	struct rt_geo_area *a = &areas->v[i];
	struct rt_geo_area_report *r = &a->rep;
	char *reason = NULL;
	GEOSGeometry *loc = NULL, *fixed;
	char valid;

	memset(r, 0, sizeof *r);
	r->checked = true;
	r->area_parsed_m2 = rt_geo_areas_geom_m2(h, a->geom);
	r->parts_before = rt_geo_repair_parts_count(h, a->geom);
	rt_geo_ctx_clear(areas->ctx);
	valid = GEOSisValidDetail_r(h, a->geom, 0, &reason, &loc);
	if (valid == 2)
		return rt_geo_ctx_fail(areas->ctx, err, "isValidDetail");
	r->valid_before = valid == 1;
	if (reason != NULL) {
		snprintf(r->reason, sizeof r->reason, "%s", reason);
		GEOSFree_r(h, reason);
	}
	if (loc != NULL) {
		double x, y;

		if (GEOSGeomGetX_r(h, loc, &x) && GEOSGeomGetY_r(h, loc, &y)) {
			r->has_location = true;
			r->loc_lon = x;
			r->loc_lat = y;
		}
		GEOSGeom_destroy_r(h, loc);
	}
	if (!r->valid_before) {
		fixed = rt_geo_repair_make_valid(h, a->geom);
		if (fixed == NULL)
			return rt_geo_ctx_fail(areas->ctx, err, "MakeValid");
		if (GEOSisValid_r(h, fixed) != 1) {
			GEOSGeom_destroy_r(h, fixed);
			return rt_err_set(err, RT_E_GEOS, "MakeValid left an invalid geometry");
		}
		GEOSGeom_destroy_r(h, a->geom);
		a->geom = fixed;
		r->made_valid = true;
	}
	r->parts_after = rt_geo_repair_parts_count(h, a->geom);
	r->area_repaired_m2 = rt_geo_areas_geom_m2(h, a->geom);
	if (r->parts_after == 0 || r->area_repaired_m2 < RT_GEO_AREAS_MIN_PART_M2)
		return rt_err_set(err, RT_E_PARSE, "no surface left after repair (%.100s)",
				  r->valid_before ? "degenerate polygon" : r->reason);
	return RT_OK;
}

enum rt_status
rt_geo_repair_run(struct rt_geo_areas *areas, struct rt_err *err)
{
	for (size_t i = 0; i < areas->n; i++) {
		enum rt_status st = rt_geo_repair_one(areas, i, err);

		if (st != RT_OK) {
			if (err != NULL) {
				char msg[sizeof err->msg];

				memcpy(msg, err->msg, sizeof msg);
				rt_err_set(err, st, "feature %ld (id \"%.64s\"): %.160s",
					   areas->v[i].src_index >= 0 ? areas->v[i].src_index
								      : (long)i,
					   areas->v[i].id, msg);
			}
			return st;
		}
	}
	areas->repaired = true;
	return RT_OK;
}

void
rt_geo_repair_summary(const struct rt_geo_areas *areas, struct rt_geo_repair_summary *sum)
{
	memset(sum, 0, sizeof *sum);
	sum->areas = areas->n;
	for (size_t i = 0; i < areas->n; i++) {
		const struct rt_geo_area_report *r = &areas->v[i].rep;

		sum->invalid += r->checked && !r->valid_before;
		sum->repaired += r->made_valid;
		sum->overlapped += r->resolved && r->overlapped_by > 0;
		sum->emptied += r->resolved && r->area_resolved_m2 <= 0.0;
	}
}

static json_t *
rt_geo_repair_feature_json(const struct rt_geo_areas *areas, size_t i)
{
	const struct rt_geo_area *a = &areas->v[i];
	const struct rt_geo_area_report *r = &a->rep;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "index", json_integer(a->src_index >= 0 ? a->src_index : (long)i));
	json_object_set_new(o, "id", json_string(a->id));
	if (a->name != NULL)
		json_object_set_new(o, "name", json_string(a->name));
	if (r->checked) {
		json_object_set_new(o, "valid", json_boolean(r->valid_before));
		if (!r->valid_before)
			json_object_set_new(o, "reason", json_string(r->reason));
		if (!r->valid_before && r->has_location)
			json_object_set_new(o, "location",
					    json_pack("[ff]", r->loc_lon, r->loc_lat));
		json_object_set_new(o, "action",
				    json_string(r->made_valid ? "make_valid" : "none"));
		json_object_set_new(o, "parts_before", json_integer(r->parts_before));
		json_object_set_new(o, "parts_after", json_integer(r->parts_after));
		json_object_set_new(o, "area_input_m2", json_integer(llround(r->area_parsed_m2)));
		json_object_set_new(o, "area_repaired_m2",
				    json_integer(llround(r->area_repaired_m2)));
	}
	if (r->resolved) {
		json_object_set_new(o, "area_resolved_m2",
				    json_integer(llround(r->area_resolved_m2)));
		json_object_set_new(o, "overlapped_by", json_integer(r->overlapped_by));
		json_object_set_new(o, "slivers_dropped", json_integer(r->slivers_dropped));
	}
	return o;
}

enum rt_status
rt_geo_repair_report_json(const struct rt_geo_areas *areas, char **out, struct rt_err *err)
{
	struct rt_geo_repair_summary sum;
	json_t *root = json_object(), *feats = json_array();

	*out = NULL;
	if (root == NULL || feats == NULL)
		goto nomem;
	rt_geo_repair_summary(areas, &sum);
	json_object_set_new(root, "areas", json_integer((json_int_t)sum.areas));
	json_object_set_new(root, "invalid", json_integer((json_int_t)sum.invalid));
	json_object_set_new(root, "repaired", json_integer((json_int_t)sum.repaired));
	json_object_set_new(root, "overlapped", json_integer((json_int_t)sum.overlapped));
	json_object_set_new(root, "emptied", json_integer((json_int_t)sum.emptied));
	for (size_t i = 0; i < areas->n; i++) {
		json_t *f = rt_geo_repair_feature_json(areas, i);

		if (f == NULL || json_array_append_new(feats, f) != 0)
			goto nomem;
	}
	json_object_set(root, "features", feats);
	*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(feats);
	json_decref(root);
	if (*out == NULL)
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	return RT_OK;
nomem:
	json_decref(feats);
	json_decref(root);
	return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
}
