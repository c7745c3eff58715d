/* libFuzzer harness: the GeoJSON reader promises to accept any bytes and
 * either return areas or an error, never crash or leak; accepted areas go
 * through repair and overlap resolution too. */
#include <stddef.h>
#include <stdint.h>

#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"
#include "routing/geo/json.h"
#include "routing/geo/repair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_err err;
	struct rt_geo_areas *areas = NULL;
	struct rt_geo_json_opts opts;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	if (ctx == NULL)
		return 0;
	rt_geo_json_opts_default(&opts);
	opts.max_vertices = 20000; /* keep each run fast */
	if (rt_geo_json_parse(ctx, (const char *)data, size, &opts, &areas, &err) == RT_OK) {
		if (rt_geo_repair_run(areas, &err) == RT_OK)
			(void)!rt_geo_areas_resolve(areas, &err);
		rt_geo_areas_free(areas);
	}
	rt_geo_ctx_free(ctx);
	return 0;
}
