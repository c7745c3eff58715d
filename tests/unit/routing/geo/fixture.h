/* Helpers shared by the routing/geo unit tests (a header, so it is not a test of its own). */
#ifndef TESTS_GEO_FIXTURE_H
#define TESTS_GEO_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"
#include "routing/geo/json.h"
#include "routing/geo/repair.h"

/* Base point of the hand-made polygons (Beijing), degrees. */
#define GEO_X0 116.0
#define GEO_Y0 40.0

/* Read DISPATCH_SOURCE_DIR/rel into a malloc'd NUL-terminated buffer, or NULL. */
static inline char *
geo_fixture_read(const char *rel, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/%s", DISPATCH_SOURCE_DIR, rel);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf != NULL) {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	return buf;
}

/* Append a rectangle feature (offsets in degrees from GEO_X0/GEO_Y0) to `out`. */
static inline void
geo_fixture_rect(char *out, size_t cap, const char *id, double x0, double y0, double x1, double y1)
{
	size_t n = strlen(out);

	snprintf(out + n, cap - n,
		 "%s{\"type\":\"Feature\",\"id\":\"%s\",\"properties\":{\"name\":\"%s\"},"
		 "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[%.9f,%.9f],[%.9f,%.9f],"
		 "[%.9f,%.9f],[%.9f,%.9f],[%.9f,%.9f]]]}}",
		 n > 0 && out[n - 1] == '}' ? "," : "", id, id, GEO_X0 + x0, GEO_Y0 + y0,
		 GEO_X0 + x1, GEO_Y0 + y0, GEO_X0 + x1, GEO_Y0 + y1, GEO_X0 + x0, GEO_Y0 + y1,
		 GEO_X0 + x0, GEO_Y0 + y0);
}

/* Wrap features text into a FeatureCollection (malloc'd). */
static inline char *
geo_fixture_fc(const char *features)
{
	size_t n = strlen(features) + 64;
	char *s = malloc(n);

	snprintf(s, n, "{\"type\":\"FeatureCollection\",\"features\":[%s]}", features);
	return s;
}

/* Parse, repair and resolve; NULL (and err) on failure. */
static inline struct rt_geo_areas *
geo_fixture_areas(struct rt_geo_ctx *ctx, const char *json, struct rt_err *err)
{
	struct rt_geo_areas *a = NULL;

	if (rt_geo_json_parse(ctx, json, strlen(json), NULL, &a, err) != RT_OK)
		return NULL;
	if (rt_geo_repair_run(a, err) != RT_OK || rt_geo_areas_resolve(a, err) != RT_OK) {
		rt_geo_areas_free(a);
		return NULL;
	}
	return a;
}

/* splitmix64 for reproducible test points. */
static inline double
geo_fixture_rand(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

#endif
