/* The sample network generator: from a city's district boundaries and
 * populations, place warehouses and delivery stations and derive each
 * station's service area, reproducibly from a seed.
 *
 * Steps: parse, repair and resolve the districts; give each district
 * max(1, round(stations * pop / total)) stations (largest remainder, ties by
 * district order); place them by best-candidate sampling (12 uniform
 * candidates inside the district, keep the one farthest from the district's
 * stations so far); split each district among its stations (voronoi.h);
 * a warehouse's area is the union of the districts it serves. Coordinates are
 * snapped to a 1e-7 degree grid so the text round-trips exactly.
 *
 * Output: a GeoJSON FeatureCollection with a "generator" member
 * {"seed","stations"}, the warehouses first (properties id, kind "rdc"|"fdc",
 * name, district, lon, lat, serves[]), then stations <prefix>-st-NNN
 * (properties id, kind "station", name, district, district_name,
 * district_name_zh, lon, lat, fdc, rdc). The same input, seed, count and GEOS
 * version give byte-identical output. */
#ifndef RT_GEO_NETWORK_H
#define RT_GEO_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "routing/common/err.h"
#include "routing/geo/ctx.h"

#define RT_GEO_NETWORK_DEFAULT_SEED 2020
#define RT_GEO_NETWORK_DEFAULT_STATIONS 80

/* A district and its population. */
struct rt_geo_network_district {
	const char *code; /* feature id in the districts file (GB/T 2260 code) */
	const char *name; /* English name, used in station names */
	double pop_m;	  /* population, millions */
};

/* A warehouse at a fixed point. */
struct rt_geo_network_warehouse {
	const char *id;		   /* e.g. "bj-rdc-01" */
	const char *kind;	   /* "rdc" or "fdc" */
	const char *name;	   /* display name */
	const char *district;	   /* code of the district it stands in (checked) */
	double lon, lat;	   /* degrees */
	const char *const *serves; /* NULL-terminated district codes; NULL: all */
};

/* Everything about a city but its boundaries. */
struct rt_geo_network_spec {
	const char *prefix; /* station ids are <prefix>-st-NNN */
	const struct rt_geo_network_district *districts;
	size_t ndistricts;
	const struct rt_geo_network_warehouse *warehouses;
	size_t nwarehouses;
};

/* The Beijing spec: 16 districts (2020 census), bj-rdc-01 in Daxing, front
 * warehouses bj-fdc-01 (Chaoyang), bj-fdc-02 (Haidian), bj-fdc-03 (Tongzhou).
 * Static storage. */
const struct rt_geo_network_spec *rt_geo_network_spec_beijing(void);

/* Generate the network (see the file comment) from `len` bytes of district
 * GeoJSON whose feature ids are exactly the spec's district codes. `stations`
 * must be in [ndistricts, 999]. On success *out (malloc'd, NUL-terminated,
 * *out_len bytes) is the caller's to free(). Errors: RT_E_PARSE for bad
 * district data, RT_E_INVAL for a spec or count that does not fit it,
 * RT_E_GEOS, RT_E_NOMEM. Run on a worker: it takes about a second. */
RT_MUST_CHECK enum rt_status rt_geo_network_generate(struct rt_geo_ctx *ctx,
						     const char *districts_json, size_t len,
						     const struct rt_geo_network_spec *spec,
						     uint64_t seed, size_t stations, char **out,
						     size_t *out_len, struct rt_err *err);

#endif
