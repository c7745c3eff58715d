/* The sample network generator and the Beijing spec. Owns station
 * allocation and placement, the seeded random stream and the output layout;
 * reading files and choosing the seed belong to the caller (dispatchctl). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/common/distance.h"
#include "routing/geo/impl.h"
#include "routing/geo/json.h"
#include "routing/geo/network.h"
#include "routing/geo/repair.h"
#include "routing/geo/voronoi.h"

/* ---- the Beijing spec ---- */

static const struct rt_geo_network_district rt_geo_network_bj_districts[] = {
	{"110101", "Dongcheng", 0.71},	 {"110102", "Xicheng", 1.11},
	{"110105", "Chaoyang", 3.45},	 {"110106", "Fengtai", 2.02},
	{"110107", "Shijingshan", 0.57}, {"110108", "Haidian", 3.13},
	{"110109", "Mentougou", 0.39},	 {"110111", "Fangshan", 1.31},
	{"110112", "Tongzhou", 1.84},	 {"110113", "Shunyi", 1.32},
	{"110114", "Changping", 2.27},	 {"110115", "Daxing", 1.99},
	{"110116", "Huairou", 0.44},	 {"110117", "Pinggu", 0.46},
	{"110118", "Miyun", 0.53},	 {"110119", "Yanqing", 0.35},
};

static const char *const rt_geo_network_bj_fdc1[] = {"110101", "110105", "110113", "110116",
						     "110117", "110118", NULL};
static const char *const rt_geo_network_bj_fdc2[] = {"110102", "110107", "110108", "110109",
						     "110114", "110119", NULL};
static const char *const rt_geo_network_bj_fdc3[] = {"110106", "110111", "110112", "110115", NULL};

static const struct rt_geo_network_warehouse rt_geo_network_bj_warehouses[] = {
	{"bj-rdc-01", "rdc", "Beijing RDC (Daxing)", "110115", 116.45, 39.72, NULL},
	{"bj-fdc-01", "fdc", "Beijing FDC Chaoyang", "110105", 116.53, 39.93,
	 rt_geo_network_bj_fdc1},
	{"bj-fdc-02", "fdc", "Beijing FDC Haidian", "110108", 116.27, 40.05,
	 rt_geo_network_bj_fdc2},
	{"bj-fdc-03", "fdc", "Beijing FDC Tongzhou", "110112", 116.68, 39.87,
	 rt_geo_network_bj_fdc3},
};

static const struct rt_geo_network_spec rt_geo_network_bj = {
	"bj",
	rt_geo_network_bj_districts,
	sizeof rt_geo_network_bj_districts / sizeof rt_geo_network_bj_districts[0],
	rt_geo_network_bj_warehouses,
	sizeof rt_geo_network_bj_warehouses / sizeof rt_geo_network_bj_warehouses[0],
};

const struct rt_geo_network_spec *
rt_geo_network_spec_beijing(void)
{
	return &rt_geo_network_bj;
}

/* ---- generation ---- */

#define RT_GEO_NETWORK_CANDIDATES 12
#define RT_GEO_NETWORK_GRID 1e-7 /* output coordinate grid, degrees */

struct rt_geo_network_station {
	char id[32];
	char name[64];
	size_t district; /* index in the spec */
	double lon, lat;
};

struct rt_geo_network_gen {
	struct rt_geo_ctx *ctx;
	const struct rt_geo_network_spec *spec;
	struct rt_geo_areas *districts; /* repaired and resolved */
	long *area_of;			/* spec district -> area index in districts */
	size_t *count;			/* stations per spec district */
	struct rt_geo_network_station *st;
	size_t nst;
	uint64_t rng;
	struct rt_err *err;
};

/* splitmix64: tiny, seedable, the same on every platform. */
static uint64_t
rt_geo_network_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rt_geo_network_uniform(uint64_t *s)
{
	return (double)(rt_geo_network_next(s) >> 11) * 0x1.0p-53;
}

static bool
rt_geo_network_serves(const struct rt_geo_network_warehouse *w, const char *code)
{
	if (w->serves == NULL)
		return true;
	for (const char *const *p = w->serves; *p != NULL; p++)
		if (strcmp(*p, code) == 0)
			return true;
	return false;
}

/* Map spec districts to areas and check the warehouses against them. */
static enum rt_status
rt_geo_network_check(struct rt_geo_network_gen *g)
{
	const struct rt_geo_network_spec *spec = g->spec;

	if (rt_geo_areas_count(g->districts) != spec->ndistricts)
		return rt_err_set(g->err, RT_E_INVAL,
				  "districts file has %zu districts, the spec %zu",
				  rt_geo_areas_count(g->districts), spec->ndistricts);
	for (size_t d = 0; d < spec->ndistricts; d++) {
		g->area_of[d] = rt_geo_areas_find(g->districts, spec->districts[d].code);
		if (g->area_of[d] < 0)
			return rt_err_set(g->err, RT_E_INVAL, "district %s missing from the file",
					  spec->districts[d].code);
		if (!(spec->districts[d].pop_m > 0.0))
			return rt_err_set(g->err, RT_E_INVAL, "district %s: population not > 0",
					  spec->districts[d].code);
	}
	for (size_t w = 0; w < spec->nwarehouses; w++) {
		const struct rt_geo_network_warehouse *wh = &spec->warehouses[w];

		for (const char *const *p = wh->serves; p != NULL && *p != NULL; p++)
			if (rt_geo_areas_find(g->districts, *p) < 0)
				return rt_err_set(g->err, RT_E_INVAL,
						  "warehouse %s serves unknown district %s", wh->id,
						  *p);
		if (rt_geo_areas_find(g->districts, wh->district) < 0)
			return rt_err_set(g->err, RT_E_INVAL,
					  "warehouse %s stands in unknown district %s", wh->id,
					  wh->district);
	}
	return RT_OK;
}

/* Stations per district: max(1, floor(quota)), then largest remainders. */
static void
rt_geo_network_allocate(struct rt_geo_network_gen *g, size_t stations)
{
	const struct rt_geo_network_spec *spec = g->spec;
	double total = 0.0;
	size_t sum = 0;

	for (size_t d = 0; d < spec->ndistricts; d++)
		total += spec->districts[d].pop_m;
	for (size_t d = 0; d < spec->ndistricts; d++) {
		double q = stations * spec->districts[d].pop_m / total;

		g->count[d] = q < 1.0 ? 1 : (size_t)q;
		sum += g->count[d];
	}
	while (sum != stations) {
		size_t pick = spec->ndistricts;
		double best = 0.0;

		for (size_t d = 0; d < spec->ndistricts; d++) {
			double r =
				stations * spec->districts[d].pop_m / total - (double)g->count[d];

			if (sum > stations && g->count[d] < 2)
				continue;
			if (pick == spec->ndistricts || (sum < stations ? r > best : r < best)) {
				pick = d;
				best = r;
			}
		}
		if (sum < stations) {
			g->count[pick]++;
			sum++;
		} else {
			g->count[pick]--;
			sum--;
		}
	}
}

/* One uniform point inside district area `a` (rejection in its envelope). */
static enum rt_status
rt_geo_network_sample(struct rt_geo_network_gen *g, const GEOSPreparedGeometry *prep,
		      const double box[4], double *lon, double *lat)
{
	GEOSContextHandle_t h = g->ctx->h;

	for (int tries = 0; tries < 100000; tries++) {
		double x = box[0] + (box[2] - box[0]) * rt_geo_network_uniform(&g->rng);
		double y = box[1] + (box[3] - box[1]) * rt_geo_network_uniform(&g->rng);
		GEOSGeometry *pt;
		char in;

		/* Round to 1e-6 degree (0.1 m) so the published lon/lat are exact. */
		x = round(x * 1e6) / 1e6;
		y = round(y * 1e6) / 1e6;
		pt = GEOSGeom_createPointFromXY_r(h, x, y);
		in = pt ? GEOSPreparedContainsProperly_r(h, prep, pt) : 2;
		if (pt != NULL)
			GEOSGeom_destroy_r(h, pt);
		if (in == 2)
			return rt_geo_ctx_fail(g->ctx, g->err, "contains");
		if (in == 1) {
			*lon = x;
			*lat = y;
			return RT_OK;
		}
	}
	return rt_err_set(g->err, RT_E_INVAL, "cannot sample a point inside a district");
}

/* Place every district's stations by best-candidate sampling. */
static enum rt_status
rt_geo_network_place(struct rt_geo_network_gen *g)
{
	GEOSContextHandle_t h = g->ctx->h;
	const struct rt_geo_network_spec *spec = g->spec;
	enum rt_status st = RT_OK;

	for (size_t d = 0; d < spec->ndistricts && st == RT_OK; d++) {
		const GEOSGeometry *geom = g->districts->v[g->area_of[d]].geom;
		const GEOSPreparedGeometry *prep = GEOSPrepare_r(h, geom);
		size_t first = g->nst;
		double box[4];

		if (prep == NULL || !GEOSGeom_getXMin_r(h, geom, &box[0]) ||
		    !GEOSGeom_getYMin_r(h, geom, &box[1]) ||
		    !GEOSGeom_getXMax_r(h, geom, &box[2]) ||
		    !GEOSGeom_getYMax_r(h, geom, &box[3])) {
			if (prep != NULL)
				GEOSPreparedGeom_destroy_r(h, prep);
			return rt_geo_ctx_fail(g->ctx, g->err, "district envelope");
		}
		for (size_t k = 0; k < g->count[d] && st == RT_OK; k++) {
			struct rt_geo_network_station *s = &g->st[g->nst];
			double best = -1.0;

			for (int c = 0; c < RT_GEO_NETWORK_CANDIDATES && st == RT_OK; c++) {
				double x = 0.0, y = 0.0, near = INFINITY;

				st = rt_geo_network_sample(g, prep, box, &x, &y);
				for (size_t j = first; st == RT_OK && j < g->nst; j++)
					near = fmin(near,
						    rt_distance_haversine_m(x, y, g->st[j].lon,
									    g->st[j].lat));
				if (st == RT_OK && near > best) {
					best = near;
					s->lon = x;
					s->lat = y;
				}
			}
			s->district = d;
			snprintf(s->id, sizeof s->id, "%s-st-%03zu", spec->prefix, g->nst + 1);
			snprintf(s->name, sizeof s->name, "%s %02zu", spec->districts[d].name,
				 k + 1);
			g->nst++;
		}
		GEOSPreparedGeom_destroy_r(h, prep);
	}
	return st;
}

/* First warehouse of `kind` serving district `code`, or NULL. */
static const char *
rt_geo_network_server(const struct rt_geo_network_spec *spec, const char *kind, const char *code)
{
	for (size_t w = 0; w < spec->nwarehouses; w++)
		if (strcmp(spec->warehouses[w].kind, kind) == 0 &&
		    rt_geo_network_serves(&spec->warehouses[w], code))
			return spec->warehouses[w].id;
	return NULL;
}

static void
rt_geo_network_prop_str(struct rt_geo_json_buf *b, const char *key, const char *val, bool first)
{
	if (!first)
		rt_geo_json_buf_add(b, ",", 1);
	rt_geo_json_buf_quote(b, key);
	rt_geo_json_buf_add(b, ":", 1);
	if (val == NULL)
		rt_geo_json_buf_str(b, "null");
	else
		rt_geo_json_buf_quote(b, val);
}

static void
rt_geo_network_prop_num(struct rt_geo_json_buf *b, const char *key, double val)
{
	rt_geo_json_buf_add(b, ",", 1);
	rt_geo_json_buf_quote(b, key);
	rt_geo_json_buf_add(b, ":", 1);
	rt_geo_json_buf_num(b, val);
}

/* Stations' areas, district by district, appended to `out` (kind "station"). */
static enum rt_status
rt_geo_network_stations(struct rt_geo_network_gen *g, struct rt_geo_areas *out)
{
	const struct rt_geo_network_spec *spec = g->spec;
	struct rt_geo_voronoi_site *sites = calloc(g->nst ? g->nst : 1, sizeof *sites);
	struct rt_geo_json_buf *props = calloc(g->nst ? g->nst : 1, sizeof *props);
	enum rt_status st = RT_OK;
	size_t at = 0;

	if (sites == NULL || props == NULL) {
		st = rt_err_set(g->err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	for (size_t i = 0; i < g->nst; i++) {
		const struct rt_geo_network_station *s = &g->st[i];
		const struct rt_geo_network_district *d = &spec->districts[s->district];
		struct rt_geo_json_buf *b = &props[i];

		rt_geo_json_buf_add(b, "{", 1);
		rt_geo_network_prop_str(b, "id", s->id, true);
		rt_geo_network_prop_str(b, "kind", "station", false);
		rt_geo_network_prop_str(b, "name", s->name, false);
		rt_geo_network_prop_str(b, "district", d->code, false);
		rt_geo_network_prop_str(b, "district_name", d->name, false);
		rt_geo_network_prop_str(
			b, "district_name_zh",
			rt_geo_areas_name(g->districts, (size_t)g->area_of[s->district]), false);
		rt_geo_network_prop_num(b, "lon", s->lon);
		rt_geo_network_prop_num(b, "lat", s->lat);
		rt_geo_network_prop_str(b, "fdc", rt_geo_network_server(spec, "fdc", d->code),
					false);
		rt_geo_network_prop_str(b, "rdc", rt_geo_network_server(spec, "rdc", d->code),
					false);
		rt_geo_json_buf_add(b, "}", 1);
		if (b->oom) {
			st = rt_err_set(g->err, RT_E_NOMEM, "geo: out of memory");
			goto done;
		}
		sites[i] = (struct rt_geo_voronoi_site){s->lon, s->lat, s->id, s->name, b->p};
	}
	for (size_t d = 0; d < spec->ndistricts && st == RT_OK; d++) {
		st = rt_geo_voronoi_split(g->districts, (size_t)g->area_of[d], sites + at,
					  g->count[d], "station", out, g->err);
		at += g->count[d];
	}
done:
	for (size_t i = 0; props != NULL && i < g->nst; i++)
		free(props[i].p);
	free(props);
	free(sites);
	return st;
}

/* One warehouse: checked to stand in its district; area = union of served districts. */
static enum rt_status
rt_geo_network_warehouse(struct rt_geo_network_gen *g, const struct rt_geo_network_warehouse *w,
			 struct rt_geo_areas *out)
{
	GEOSContextHandle_t h = g->ctx->h;
	const struct rt_geo_network_spec *spec = g->spec;
	GEOSGeometry **parts = calloc(spec->ndistricts, sizeof *parts), *coll = NULL, *uni = NULL;
	GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, w->lon, w->lat), *poly;
	struct rt_geo_json_buf b = {0};
	enum rt_status st = RT_OK;
	size_t n = 0;
	char in;

	if (parts == NULL || pt == NULL) {
		st = rt_err_set(g->err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	in = GEOSIntersects_r(h, g->districts->v[rt_geo_areas_find(g->districts, w->district)].geom,
			      pt);
	if (in != 1) {
		st = in == 2 ? rt_geo_ctx_fail(g->ctx, g->err, "intersects")
			     : rt_err_set(g->err, RT_E_INVAL, "warehouse %s is not in district %s",
					  w->id, w->district);
		goto done;
	}
	rt_geo_json_buf_add(&b, "{", 1);
	rt_geo_network_prop_str(&b, "id", w->id, true);
	rt_geo_network_prop_str(&b, "kind", w->kind, false);
	rt_geo_network_prop_str(&b, "name", w->name, false);
	rt_geo_network_prop_str(&b, "district", w->district, false);
	rt_geo_network_prop_num(&b, "lon", w->lon);
	rt_geo_network_prop_num(&b, "lat", w->lat);
	rt_geo_json_buf_str(&b, ",\"serves\":[");
	for (size_t d = 0; d < spec->ndistricts; d++) {
		if (!rt_geo_network_serves(w, spec->districts[d].code))
			continue;
		if (n)
			rt_geo_json_buf_add(&b, ",", 1);
		rt_geo_json_buf_quote(&b, spec->districts[d].code);
		parts[n] = GEOSGeom_clone_r(h, g->districts->v[g->area_of[d]].geom);
		if (parts[n++] == NULL) {
			st = rt_geo_ctx_fail(g->ctx, g->err, "clone");
			goto done;
		}
	}
	rt_geo_json_buf_str(&b, "]}");
	coll = GEOSGeom_createCollection_r(h, GEOS_GEOMETRYCOLLECTION, parts, (unsigned int)n);
	if (coll == NULL) {
		st = rt_geo_ctx_fail(g->ctx, g->err, "collection");
		goto done;
	}
	n = 0; /* the parts belong to coll */
	uni = GEOSUnaryUnion_r(h, coll);
	poly = uni ? rt_geo_repair_polygonal(h, uni, RT_GEO_AREAS_MIN_PART_M2, NULL) : NULL;
	if (poly == NULL) {
		st = rt_geo_ctx_fail(g->ctx, g->err, "union");
		goto done;
	}
	if (b.oom) {
		GEOSGeom_destroy_r(h, poly);
		st = rt_err_set(g->err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	st = rt_geo_areas_push(out, w->id, w->name, w->kind, b.p, -1, poly, g->err);
done:
	for (size_t k = 0; k < n; k++)
		GEOSGeom_destroy_r(h, parts[k]);
	free(parts);
	if (coll != NULL)
		GEOSGeom_destroy_r(h, coll);
	if (uni != NULL)
		GEOSGeom_destroy_r(h, uni);
	if (pt != NULL)
		GEOSGeom_destroy_r(h, pt);
	free(b.p);
	return st;
}

/* Snap every output geometry to the 1e-7 degree grid (GEOS keeps it valid). */
static enum rt_status
rt_geo_network_snap(struct rt_geo_network_gen *g, struct rt_geo_areas *out)
{
	GEOSContextHandle_t h = g->ctx->h;

	for (size_t i = 0; i < out->n; i++) {
		GEOSGeometry *s =
			GEOSGeom_setPrecision_r(h, out->v[i].geom, RT_GEO_NETWORK_GRID, 0);
		GEOSGeometry *p =
			s ? rt_geo_repair_polygonal(h, s, RT_GEO_AREAS_MIN_PART_M2, NULL) : NULL;

		if (s != NULL)
			GEOSGeom_destroy_r(h, s);
		if (p == NULL)
			return rt_geo_ctx_fail(g->ctx, g->err, "set precision");
		if (GEOSisValid_r(h, p) != 1 || GEOSisEmpty_r(h, p) != 0) {
			GEOSGeom_destroy_r(h, p);
			return rt_err_set(g->err, RT_E_GEOS, "area %s: invalid after snapping",
					  out->v[i].id);
		}
		GEOSGeom_destroy_r(h, out->v[i].geom);
		out->v[i].geom = p;
	}
	return RT_OK;
}

enum rt_status
rt_geo_network_generate(struct rt_geo_ctx *ctx, const char *districts_json, size_t len,
			const struct rt_geo_network_spec *spec, uint64_t seed, size_t stations,
			char **out, size_t *out_len, struct rt_err *err)
{
	struct rt_geo_network_gen g = {.ctx = ctx, .spec = spec, .rng = seed, .err = err};
	struct rt_geo_areas *net = NULL;
	char members[160];
	enum rt_status st;

	*out = NULL;
	*out_len = 0;
	if (stations < spec->ndistricts || stations > 999)
		return rt_err_set(err, RT_E_INVAL, "stations must be in [%zu, 999], not %zu",
				  spec->ndistricts, stations);
	st = rt_geo_json_parse(ctx, districts_json, len, NULL, &g.districts, err);
	if (st == RT_OK)
		st = rt_geo_repair_run(g.districts, err);
	if (st == RT_OK)
		st = rt_geo_areas_resolve(g.districts, err);
	if (st != RT_OK)
		goto done;
	g.area_of = calloc(spec->ndistricts, sizeof *g.area_of);
	g.count = calloc(spec->ndistricts, sizeof *g.count);
	g.st = calloc(stations, sizeof *g.st);
	net = rt_geo_areas_new(ctx, err);
	if (g.area_of == NULL || g.count == NULL || g.st == NULL || net == NULL) {
		st = rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
		goto done;
	}
	st = rt_geo_network_check(&g);
	if (st != RT_OK)
		goto done;
	rt_geo_network_allocate(&g, stations);
	st = rt_geo_network_place(&g);
	for (size_t w = 0; st == RT_OK && w < spec->nwarehouses; w++)
		st = rt_geo_network_warehouse(&g, &spec->warehouses[w], net);
	if (st == RT_OK)
		st = rt_geo_network_stations(&g, net);
	if (st == RT_OK)
		st = rt_geo_network_snap(&g, net);
	snprintf(members, sizeof members,
		 "\"generator\":{\"name\":\"rt_geo_network_generate\",\"seed\":%llu,"
		 "\"stations\":%zu}",
		 (unsigned long long)seed, stations);
	if (st == RT_OK)
		st = rt_geo_json_write(net, members, out, out_len, err);
done:
	rt_geo_areas_free(net);
	rt_geo_areas_free(g.districts);
	free(g.area_of);
	free(g.count);
	free(g.st);
	return st;
}
