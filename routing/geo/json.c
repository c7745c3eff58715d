/* GeoJSON in and out for area sets. Owns the document checks (structure,
 * coordinates, ids, limits) and the text format we write; it builds GEOS
 * geometries but leaves their validation and repair to repair.c. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/common/distance.h"
#include "routing/geo/impl.h"
#include "routing/geo/json.h"

/* ---- text buffer ---- */

void
rt_geo_json_buf_add(struct rt_geo_json_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
rt_geo_json_buf_str(struct rt_geo_json_buf *b, const char *s)
{
	rt_geo_json_buf_add(b, s, strlen(s));
}

void
rt_geo_json_buf_fmt(struct rt_geo_json_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		b->oom = true; /* callers format short items only */
		return;
	}
	rt_geo_json_buf_add(b, tmp, (size_t)n);
}

void
rt_geo_json_buf_num(struct rt_geo_json_buf *b, double v)
{
	char tmp[64];
	int n = snprintf(tmp, sizeof tmp, "%.7f", v);

	while (n > 1 && tmp[n - 1] == '0')
		n--;
	if (n > 1 && tmp[n - 1] == '.')
		n--;
	tmp[n] = '\0';
	if (strcmp(tmp, "-0") == 0)
		rt_geo_json_buf_add(b, "0", 1);
	else
		rt_geo_json_buf_add(b, tmp, (size_t)n);
}

enum rt_status
rt_geo_json_buf_take(struct rt_geo_json_buf *b, enum rt_status st, char **out, struct rt_err *err)
{
	if (st == RT_OK && b->oom)
		st = rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	if (st != RT_OK) {
		free(b->p);
		b->p = NULL;
		return st;
	}
	*out = b->p;
	return RT_OK;
}

void
rt_geo_json_buf_quote(struct rt_geo_json_buf *b, const char *s)
{
	rt_geo_json_buf_add(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			rt_geo_json_buf_fmt(b, "\\%c", *p);
		else if (*p < 0x20)
			rt_geo_json_buf_fmt(b, "\\u%04x", *p);
		else
			rt_geo_json_buf_add(b, (const char *)p, 1);
	}
	rt_geo_json_buf_add(b, "\"", 1);
}

static bool
rt_geo_json_buf_ring(struct rt_geo_json_buf *b, GEOSContextHandle_t h, const GEOSGeometry *ring)
{
	const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
	unsigned int n = 0;

	if (cs == NULL || !GEOSCoordSeq_getSize_r(h, cs, &n))
		return false;
	rt_geo_json_buf_add(b, "[", 1);
	for (unsigned int k = 0; k < n; k++) {
		double x, y;

		if (!GEOSCoordSeq_getXY_r(h, cs, k, &x, &y))
			return false;
		rt_geo_json_buf_add(b, k ? ",[" : "[", k ? 2 : 1);
		rt_geo_json_buf_num(b, x);
		rt_geo_json_buf_add(b, ",", 1);
		rt_geo_json_buf_num(b, y);
		rt_geo_json_buf_add(b, "]", 1);
	}
	rt_geo_json_buf_add(b, "]", 1);
	return true;
}

static bool
rt_geo_json_buf_polygon(struct rt_geo_json_buf *b, GEOSContextHandle_t h, const GEOSGeometry *g)
{
	int holes = GEOSGetNumInteriorRings_r(h, g);
	const GEOSGeometry *shell = GEOSGetExteriorRing_r(h, g);

	if (holes < 0 || shell == NULL)
		return false;
	rt_geo_json_buf_add(b, "[", 1);
	if (!rt_geo_json_buf_ring(b, h, shell))
		return false;
	for (int k = 0; k < holes; k++) {
		rt_geo_json_buf_add(b, ",", 1);
		if (!rt_geo_json_buf_ring(b, h, GEOSGetInteriorRingN_r(h, g, k)))
			return false;
	}
	rt_geo_json_buf_add(b, "]", 1);
	return true;
}

enum rt_status
rt_geo_json_buf_geom(struct rt_geo_json_buf *b, GEOSContextHandle_t h, const GEOSGeometry *g,
		     struct rt_err *err)
{
	int type = GEOSGeomTypeId_r(h, g);
	bool ok = true;

	if (type == GEOS_POLYGON) {
		rt_geo_json_buf_str(b, "{\"type\":\"Polygon\",\"coordinates\":");
		ok = GEOSisEmpty_r(h, g) ? (rt_geo_json_buf_str(b, "[]"), true)
					 : rt_geo_json_buf_polygon(b, h, g);
	} else if (type == GEOS_MULTIPOLYGON) {
		int n = GEOSGetNumGeometries_r(h, g);

		rt_geo_json_buf_str(b, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
		for (int k = 0; ok && k < n; k++) {
			if (k)
				rt_geo_json_buf_add(b, ",", 1);
			ok = rt_geo_json_buf_polygon(b, h, GEOSGetGeometryN_r(h, g, k));
		}
		rt_geo_json_buf_add(b, "]", 1);
	} else {
		return rt_err_set(err, RT_E_INVAL, "geometry is not polygonal");
	}
	rt_geo_json_buf_add(b, "}", 1);
	if (!ok)
		return rt_err_set(err, RT_E_GEOS, "cannot read geometry coordinates");
	return b->oom ? rt_err_set(err, RT_E_NOMEM, "geo: out of memory") : RT_OK;
}

enum rt_status
rt_geo_json_write(const struct rt_geo_areas *areas, const char *members, char **out, size_t *len,
		  struct rt_err *err)
{
	struct rt_geo_json_buf b = {0};
	enum rt_status st = RT_OK;

	*out = NULL;
	*len = 0;
	rt_geo_json_buf_str(&b, "{\"type\":\"FeatureCollection\",");
	if (members != NULL) {
		rt_geo_json_buf_str(&b, members);
		rt_geo_json_buf_str(&b, ",");
	}
	rt_geo_json_buf_str(&b, "\"features\":[\n");
	for (size_t i = 0; i < areas->n && st == RT_OK; i++) {
		const struct rt_geo_area *a = &areas->v[i];

		rt_geo_json_buf_str(&b, "{\"type\":\"Feature\",\"id\":");
		rt_geo_json_buf_quote(&b, a->id);
		rt_geo_json_buf_str(&b, ",\"properties\":");
		if (a->props_json != NULL) {
			rt_geo_json_buf_str(&b, a->props_json);
		} else {
			rt_geo_json_buf_str(&b, "{\"name\":");
			rt_geo_json_buf_quote(&b, a->name ? a->name : a->id);
			if (a->kind != NULL) {
				rt_geo_json_buf_str(&b, ",\"kind\":");
				rt_geo_json_buf_quote(&b, a->kind);
			}
			rt_geo_json_buf_str(&b, "}");
		}
		rt_geo_json_buf_str(&b, ",\"geometry\":");
		st = rt_geo_json_buf_geom(&b, areas->ctx->h, a->geom, err);
		rt_geo_json_buf_str(&b, i + 1 < areas->n ? "},\n" : "}\n");
	}
	rt_geo_json_buf_str(&b, "]}\n");
	st = rt_geo_json_buf_take(&b, st, out, err);
	if (st == RT_OK)
		*len = b.len;
	return st;
}

/* ---- reader ---- */

void
rt_geo_json_opts_default(struct rt_geo_json_opts *opts)
{
	opts->max_bytes = (size_t)64 << 20;
	opts->max_features = 100000;
	opts->max_vertices = 5000000;
	opts->max_feature_vertices = 1000000;
	opts->max_id_len = 64;
	opts->kind = NULL;
}

/* State of one parse: limits, running counts and the feature being read. */
struct rt_geo_json_rd {
	struct rt_geo_ctx *ctx;
	const struct rt_geo_json_opts *opts;
	struct rt_err *err;
	size_t vertices;      /* positions read so far in the document */
	size_t feat_vertices; /* positions read so far in this feature */
	size_t feature;	      /* index of the feature being read */
	char id[80];	      /* its id, "" until known */
	double *xy;	      /* scratch for one ring, lon/lat pairs */
	size_t xy_cap;	      /* in pairs */
};

/* Fail naming the current feature; returns RT_E_PARSE (or `code`). */
static enum rt_status __attribute__((format(printf, 3, 4)))
rt_geo_json_fail(struct rt_geo_json_rd *rd, enum rt_status code, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (rd->id[0] != '\0')
		return rt_err_set(rd->err, code, "feature %zu (id \"%s\"): %s", rd->feature, rd->id,
				  what);
	return rt_err_set(rd->err, code, "feature %zu: %s", rd->feature, what);
}

static enum rt_status
rt_geo_json_position(struct rt_geo_json_rd *rd, const json_t *pos, int poly, int ring, size_t k)
{
	double x, y;

	if (!json_is_array(pos) || json_array_size(pos) < 2 ||
	    !json_is_number(json_array_get(pos, 0)) || !json_is_number(json_array_get(pos, 1)))
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"polygon %d ring %d position %zu is not [lon, lat]", poly,
					ring, k);
	x = json_number_value(json_array_get(pos, 0));
	y = json_number_value(json_array_get(pos, 1));
	if (!isfinite(x) || !isfinite(y))
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"polygon %d ring %d position %zu is not finite", poly, ring,
					k);
	if (!rt_distance_lonlat_ok(x, y))
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"polygon %d ring %d position %zu (%.6g, %.6g) out of range "
					"(|lon| <= 180, |lat| <= 90)",
					poly, ring, k, x, y);
	rd->xy[2 * k] = x;
	rd->xy[2 * k + 1] = y;
	return RT_OK;
}

static enum rt_status
rt_geo_json_ring(struct rt_geo_json_rd *rd, const json_t *jr, int poly, int ring,
		 GEOSGeometry **out)
{
	GEOSContextHandle_t h = rd->ctx->h;
	size_t n = json_is_array(jr) ? json_array_size(jr) : 0;
	GEOSCoordSequence *cs;
	enum rt_status st;

	*out = NULL;
	if (!json_is_array(jr))
		return rt_geo_json_fail(rd, RT_E_PARSE, "polygon %d ring %d is not an array", poly,
					ring);
	if (n == 0)
		return rt_geo_json_fail(rd, RT_E_PARSE, "polygon %d ring %d is empty", poly, ring);
	rd->vertices += n;
	rd->feat_vertices += n;
	if (rd->vertices > rd->opts->max_vertices)
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"too large: the document has more than %zu positions",
					rd->opts->max_vertices);
	if (rd->feat_vertices > rd->opts->max_feature_vertices)
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"too large: more than %zu positions in one feature",
					rd->opts->max_feature_vertices);
	if (n > rd->xy_cap) {
		double *xy = realloc(rd->xy, n * 2 * sizeof *xy);

		if (xy == NULL)
			return rt_err_set(rd->err, RT_E_NOMEM, "geo: out of memory");
		rd->xy = xy;
		rd->xy_cap = n;
	}
	for (size_t k = 0; k < n; k++) {
		st = rt_geo_json_position(rd, json_array_get(jr, k), poly, ring, k);
		if (st != RT_OK)
			return st;
	}
	if (rd->xy[0] != rd->xy[2 * (n - 1)] || rd->xy[1] != rd->xy[2 * (n - 1) + 1])
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"polygon %d ring %d is not closed (first position != last)",
					poly, ring);
	if (n < 4)
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"polygon %d ring %d has %zu positions, a ring needs 4",
					poly, ring, n);
	rt_geo_ctx_clear(rd->ctx);
	cs = GEOSCoordSeq_copyFromBuffer_r(h, rd->xy, (unsigned int)n, 0, 0);
	*out = cs ? GEOSGeom_createLinearRing_r(h, cs) : NULL;
	if (*out == NULL)
		return rt_geo_ctx_fail(rd->ctx, rd->err, "ring");
	return RT_OK;
}

static enum rt_status
rt_geo_json_polygon(struct rt_geo_json_rd *rd, const json_t *jp, int poly, GEOSGeometry **out)
{
	GEOSContextHandle_t h = rd->ctx->h;
	size_t n = json_is_array(jp) ? json_array_size(jp) : 0;
	GEOSGeometry *shell = NULL, **holes = NULL;
	enum rt_status st;
	size_t nh = 0;

	*out = NULL;
	if (!json_is_array(jp))
		return rt_geo_json_fail(rd, RT_E_PARSE, "polygon %d is not an array of rings",
					poly);
	if (n == 0)
		return rt_geo_json_fail(rd, RT_E_PARSE, "polygon %d has no rings", poly);
	st = rt_geo_json_ring(rd, json_array_get(jp, 0), poly, 0, &shell);
	if (st != RT_OK)
		return st;
	holes = calloc(n, sizeof *holes);
	if (holes == NULL) {
		st = rt_err_set(rd->err, RT_E_NOMEM, "geo: out of memory");
		goto fail;
	}
	for (nh = 0; nh + 1 < n; nh++) {
		st = rt_geo_json_ring(rd, json_array_get(jp, nh + 1), poly, (int)nh + 1,
				      &holes[nh]);
		if (st != RT_OK)
			goto fail;
	}
	*out = GEOSGeom_createPolygon_r(h, shell, holes, (unsigned int)nh);
	if (*out == NULL) {
		st = rt_geo_ctx_fail(rd->ctx, rd->err, "polygon");
		goto fail;
	}
	free(holes);
	return RT_OK;
fail:
	if (shell != NULL)
		GEOSGeom_destroy_r(h, shell);
	for (size_t k = 0; holes != NULL && k < nh; k++)
		GEOSGeom_destroy_r(h, holes[k]);
	free(holes);
	return st;
}

static enum rt_status
rt_geo_json_geometry(struct rt_geo_json_rd *rd, const json_t *jg, GEOSGeometry **out)
{
	GEOSContextHandle_t h = rd->ctx->h;
	const char *type = json_string_value(json_object_get(jg, "type"));
	const json_t *coords = json_object_get(jg, "coordinates");
	GEOSGeometry **parts = NULL;
	enum rt_status st = RT_OK;
	size_t n, k = 0;

	*out = NULL;
	if (jg == NULL || json_is_null(jg))
		return rt_geo_json_fail(rd, RT_E_PARSE, "no geometry");
	if (!json_is_object(jg) || type == NULL)
		return rt_geo_json_fail(rd, RT_E_PARSE, "geometry is not a GeoJSON object");
	if (strcmp(type, "Polygon") == 0)
		return rt_geo_json_polygon(rd, coords, 0, out);
	if (strcmp(type, "MultiPolygon") != 0)
		return rt_geo_json_fail(rd, RT_E_PARSE,
					"geometry type %.40s is not Polygon or MultiPolygon", type);
	if (!json_is_array(coords) || json_array_size(coords) == 0)
		return rt_geo_json_fail(rd, RT_E_PARSE, "MultiPolygon has no polygons");
	n = json_array_size(coords);
	parts = calloc(n, sizeof *parts);
	if (parts == NULL)
		return rt_err_set(rd->err, RT_E_NOMEM, "geo: out of memory");
	for (k = 0; k < n; k++) {
		st = rt_geo_json_polygon(rd, json_array_get(coords, k), (int)k, &parts[k]);
		if (st != RT_OK)
			goto fail;
	}
	*out = GEOSGeom_createCollection_r(h, GEOS_MULTIPOLYGON, parts, (unsigned int)n);
	if (*out == NULL) {
		st = rt_geo_ctx_fail(rd->ctx, rd->err, "multipolygon");
		goto fail;
	}
	free(parts);
	return RT_OK;
fail:
	for (size_t j = 0; j < k; j++)
		GEOSGeom_destroy_r(h, parts[j]);
	free(parts);
	return st;
}

/* The feature's id into rd->id; fails when missing, empty, too long or with control bytes. */
static enum rt_status
rt_geo_json_id(struct rt_geo_json_rd *rd, const json_t *feat, const json_t *props)
{
	const json_t *jid = json_object_get(feat, "id");
	const char *s;

	if (jid == NULL || json_is_null(jid))
		jid = json_object_get(props, "id");
	if (json_is_integer(jid)) {
		snprintf(rd->id, sizeof rd->id, "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
		return RT_OK;
	}
	if (!json_is_string(jid))
		return rt_geo_json_fail(rd, RT_E_PARSE, "missing id (string or integer)");
	s = json_string_value(jid);
	if (s[0] == '\0')
		return rt_geo_json_fail(rd, RT_E_PARSE, "empty id");
	if (strlen(s) > rd->opts->max_id_len || strlen(s) >= sizeof rd->id)
		return rt_geo_json_fail(rd, RT_E_PARSE, "id longer than %zu bytes",
					rd->opts->max_id_len);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return rt_geo_json_fail(rd, RT_E_PARSE, "id contains control characters");
	snprintf(rd->id, sizeof rd->id, "%s", s);
	return RT_OK;
}

static enum rt_status
rt_geo_json_feature(struct rt_geo_json_rd *rd, const json_t *feat, struct rt_geo_areas *areas)
{
	const json_t *props = json_object_get(feat, "properties");
	const char *ftype = json_string_value(json_object_get(feat, "type"));
	const char *kind = json_string_value(json_object_get(props, "kind"));
	const char *name = json_string_value(json_object_get(props, "name"));
	GEOSGeometry *g = NULL;
	char *props_json = NULL;
	enum rt_status st;

	rd->id[0] = '\0';
	rd->feat_vertices = 0;
	if (!json_is_object(feat) || ftype == NULL || strcmp(ftype, "Feature") != 0)
		return rt_geo_json_fail(rd, RT_E_PARSE, "not a GeoJSON Feature object");
	if (props != NULL && !json_is_null(props) && !json_is_object(props))
		return rt_geo_json_fail(rd, RT_E_PARSE, "properties is not an object");
	st = rt_geo_json_id(rd, feat, props);
	if (st != RT_OK)
		return st;
	if (rd->opts->kind != NULL && (kind == NULL || strcmp(kind, rd->opts->kind) != 0))
		return RT_OK;
	st = rt_geo_json_geometry(rd, json_object_get(feat, "geometry"), &g);
	if (st != RT_OK)
		return st;
	if (json_is_object(props)) {
		props_json = json_dumps(props, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (props_json == NULL) {
			GEOSGeom_destroy_r(rd->ctx->h, g);
			return rt_err_set(rd->err, RT_E_NOMEM, "geo: out of memory");
		}
	}
	st = rt_geo_areas_push(areas, rd->id, name, kind, props_json, (long)rd->feature, g,
			       rd->err);
	free(props_json);
	return st;
}

static int
rt_geo_json_by_id(const void *a, const void *b, void *arg)
{
	const struct rt_geo_areas *areas = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(areas->v[ia].id, areas->v[ib].id);

	return c ? c : (ia < ib ? -1 : ia > ib);
}

static enum rt_status
rt_geo_json_check_ids(const struct rt_geo_areas *areas, struct rt_err *err)
{
	size_t *order;
	enum rt_status st = RT_OK;

	if (areas->n < 2)
		return RT_OK;
	order = malloc(areas->n * sizeof *order);
	if (order == NULL)
		return rt_err_set(err, RT_E_NOMEM, "geo: out of memory");
	for (size_t i = 0; i < areas->n; i++)
		order[i] = i;
	qsort_r(order, areas->n, sizeof *order, rt_geo_json_by_id, (void *)areas);
	for (size_t k = 1; k < areas->n && st == RT_OK; k++) {
		const struct rt_geo_area *a = &areas->v[order[k - 1]], *b = &areas->v[order[k]];

		if (strcmp(a->id, b->id) == 0)
			st = rt_err_set(err, RT_E_PARSE,
					"feature %ld (id \"%s\"): duplicate id, also used by "
					"feature %ld",
					b->src_index, b->id, a->src_index);
	}
	free(order);
	return st;
}

enum rt_status
rt_geo_json_parse(struct rt_geo_ctx *ctx, const char *buf, size_t len,
		  const struct rt_geo_json_opts *opts, struct rt_geo_areas **out,
		  struct rt_err *err)
{
	struct rt_geo_json_opts defaults;
	struct rt_geo_json_rd rd = {.ctx = ctx, .err = err};
	struct rt_geo_areas *areas = NULL;
	json_error_t jerr;
	json_t *root = NULL, *feats;
	const char *type;
	enum rt_status st;

	*out = NULL;
	if (opts == NULL) {
		rt_geo_json_opts_default(&defaults);
		opts = &defaults;
	}
	rd.opts = opts;
	if (len > opts->max_bytes)
		return rt_err_set(err, RT_E_PARSE, "too large: document is %zu bytes, limit %zu",
				  len, opts->max_bytes);
	root = json_loadb(buf, len, 0, &jerr);
	if (root == NULL)
		return rt_err_set(err, RT_E_PARSE, "malformed JSON at line %d column %d: %.150s",
				  jerr.line, jerr.column, jerr.text);
	type = json_string_value(json_object_get(root, "type"));
	feats = json_object_get(root, "features");
	if (type == NULL || strcmp(type, "FeatureCollection") != 0 || !json_is_array(feats)) {
		st = rt_err_set(err, RT_E_PARSE,
				"not a GeoJSON FeatureCollection with a features array");
		goto fail;
	}
	if (json_array_size(feats) > opts->max_features) {
		st = rt_err_set(err, RT_E_PARSE, "too large: %zu features, limit %zu",
				json_array_size(feats), opts->max_features);
		goto fail;
	}
	areas = rt_geo_areas_new(ctx, err);
	if (areas == NULL) {
		st = RT_E_NOMEM;
		goto fail;
	}
	for (rd.feature = 0; rd.feature < json_array_size(feats); rd.feature++) {
		st = rt_geo_json_feature(&rd, json_array_get(feats, rd.feature), areas);
		if (st != RT_OK)
			goto fail;
	}
	st = rt_geo_json_check_ids(areas, err);
	if (st != RT_OK)
		goto fail;
	json_decref(root);
	free(rd.xy);
	*out = areas;
	return RT_OK;
fail:
	rt_geo_areas_free(areas);
	json_decref(root);
	free(rd.xy);
	return st;
}
