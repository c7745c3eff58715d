/* The geo suite: load the Beijing sample stations from the vendored network
 * file, build the point-to-station index, and measure lookups on one core
 * over random points inside the coverage. Prints name=value lines, the last
 * being geo_lookups_per_s. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"
#include "routing/geo/index.h"
#include "routing/geo/json.h"
#include "routing/geo/repair.h"

#define BENCH_GEO_POINTS (1u << 20)

static char *
bench_geo_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static uint64_t
bench_geo_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int
bench_geo_main(int argc, char **argv)
{
	const char *path = DISPATCH_SOURCE_DIR "/data/beijing/network.geojson";
	double seconds = 3.0, t0, t1, xmin = 115.4, xmax = 117.6, ymin = 39.4, ymax = 41.1;
	struct rt_geo_json_opts opts;
	struct rt_geo_index_stats st;
	struct rt_geo_areas *areas = NULL;
	struct rt_geo_index *idx = NULL;
	struct rt_geo_ctx *ctx = NULL;
	struct rt_err err = {0};
	uint64_t seed = 1, lookups = 0, found = 0;
	double *pts = NULL;
	size_t len = 0, npts = 0;
	char *buf = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stations") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else {
			fprintf(stderr,
				"usage: dispatch-bench geo [--stations FILE] [--seconds S]\n");
			return 2;
		}
	}
	buf = bench_geo_read(path, &len);
	if (buf == NULL) {
		fprintf(stderr, "dispatch-bench geo: cannot read %s\n", path);
		return 1;
	}
	rt_geo_json_opts_default(&opts);
	opts.kind = "station";
	ctx = rt_geo_ctx_new(&err);
	t0 = bench_now_s();
	if (ctx == NULL || rt_geo_json_parse(ctx, buf, len, &opts, &areas, &err) != RT_OK ||
	    rt_geo_repair_run(areas, &err) != RT_OK || rt_geo_areas_resolve(areas, &err) != RT_OK)
		goto fail;
	t1 = bench_now_s();
	idx = rt_geo_index_new(ctx, areas, NULL, &err);
	if (idx == NULL)
		goto fail;
	printf("geo_stations=%zu\n", rt_geo_areas_count(areas));
	printf("geo_import_ms=%.1f\n", (t1 - t0) * 1e3);
	printf("geo_index_build_ms=%.1f\n", (bench_now_s() - t1) * 1e3);
	rt_geo_index_stats(idx, &st);
	printf("geo_index_cells=%zu\ngeo_index_cells_inside=%zu\ngeo_index_cells_edge=%zu\n",
	       st.cells, st.cells_inside, st.cells_edge);
	printf("geo_index_cell_m=%.0f\ngeo_index_bytes=%zu\n", st.cell_m, st.bytes);

	/* Points inside the coverage (the service question), drawn up front. */
	pts = malloc(BENCH_GEO_POINTS * 2 * sizeof *pts);
	if (pts == NULL)
		goto fail;
	while (npts < BENCH_GEO_POINTS) {
		double lon =
			xmin + (xmax - xmin) * (double)(bench_geo_rand(&seed) >> 11) * 0x1.0p-53;
		double lat =
			ymin + (ymax - ymin) * (double)(bench_geo_rand(&seed) >> 11) * 0x1.0p-53;
		struct rt_geo_hit hit;

		if (rt_geo_index_locate(idx, lon, lat, &hit) == RT_OK && hit.area >= 0) {
			pts[2 * npts] = lon;
			pts[2 * npts + 1] = lat;
			npts++;
		}
	}
	t0 = bench_now_s();
	do {
		for (size_t i = 0; i < npts; i++) {
			struct rt_geo_hit hit;

			if (rt_geo_index_locate(idx, pts[2 * i], pts[2 * i + 1], &hit) == RT_OK)
				found += hit.area >= 0;
		}
		lookups += npts;
		t1 = bench_now_s();
	} while (t1 - t0 < seconds);
	printf("geo_points=%zu\ngeo_lookups=%llu\ngeo_found=%llu\n", npts,
	       (unsigned long long)lookups, (unsigned long long)found);
	printf("geo_ns_per_lookup=%.1f\n", (t1 - t0) * 1e9 / (double)lookups);
	printf("geo_lookups_per_s=%.0f\n", (double)lookups / (t1 - t0));
	rc = found == lookups ? 0 : 1;
	goto done;
fail:
	fprintf(stderr, "dispatch-bench geo: %s\n", err.msg[0] ? err.msg : "out of memory");
done:
	free(pts);
	rt_geo_index_free(idx);
	rt_geo_areas_free(areas);
	rt_geo_ctx_free(ctx);
	free(buf);
	return rc;
}
