/* dispatchctl network generate: regenerate the sample delivery network
 * (warehouses, stations and their service areas) from a districts GeoJSON
 * file. Owns the file I/O and the command line; the generator itself is the
 * pure rt_geo_network_generate (routing/geo/network.h). The output file is
 * replaced atomically (write to FILE.tmp, then rename).
 *
 *   dispatchctl network generate --districts FILE --out FILE [--seed N] [--stations N]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/ctl.h"
#include "daemon/base/file.h"
#include "routing/geo/ctx.h"
#include "routing/geo/network.h"

#define CTL_NETWORK_MAX_INPUT ((size_t)64 << 20)



static void
ctl_network_usage(FILE *out)
{
	fprintf(out, "usage: dispatchctl network generate --districts FILE --out FILE "
		     "[--seed N] [--stations N]\n");
}

static int
ctl_network_write(const char *path, const char *buf, size_t len)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		fprintf(stderr, "dispatchctl: output path too long\n");
		return -1;
	}
	f = fopen(tmp, "wb");
	if (f == NULL) {
		fprintf(stderr, "dispatchctl: cannot create %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	if (fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "dispatchctl: cannot write %s: %s\n", tmp, strerror(errno));
		remove(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "dispatchctl: cannot rename %s: %s\n", tmp, strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}

static int
ctl_network_number(const char *flag, const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *s == '\0' || *s == '-' || *end != '\0' || *out > max) {
		fprintf(stderr, "dispatchctl: %s wants a number up to %llu, not '%s'\n", flag, max,
			s);
		return -1;
	}
	return 0;
}

int
ctl_network_main(int argc, char **argv)
{
	const char *districts = NULL, *out = NULL;
	unsigned long long seed = RT_GEO_NETWORK_DEFAULT_SEED;
	unsigned long long stations = RT_GEO_NETWORK_DEFAULT_STATIONS;
	struct rt_err err = {0};
	struct rt_geo_ctx *ctx = NULL;
	char *in = NULL, *text = NULL;
	size_t in_len = 0, text_len = 0;
	int rc = 1;

	if (argc < 2 || strcmp(argv[1], "generate") != 0) {
		ctl_network_usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ctl_network_usage(stdout);
			return 0;
		}
		if (val == NULL) {
			ctl_network_usage(stderr);
			return 2;
		}
		if (strcmp(argv[i], "--districts") == 0)
			districts = val;
		else if (strcmp(argv[i], "--out") == 0)
			out = val;
		else if (strcmp(argv[i], "--seed") == 0) {
			if (ctl_network_number("--seed", val, UINT64_MAX, &seed) != 0)
				return 2;
		} else if (strcmp(argv[i], "--stations") == 0) {
			if (ctl_network_number("--stations", val, 999, &stations) != 0)
				return 2;
		} else {
			ctl_network_usage(stderr);
			return 2;
		}
		i++;
	}
	if (districts == NULL || out == NULL) {
		ctl_network_usage(stderr);
		return 2;
	}
	char why[512];
	in = dm_file_read(districts, CTL_NETWORK_MAX_INPUT, &in_len, why, sizeof why);
	if (in == NULL) {
		fprintf(stderr, "dispatchctl: %s\n", why);
		return 1;
	}
	ctx = rt_geo_ctx_new(&err);
	if (ctx == NULL ||
	    rt_geo_network_generate(ctx, in, in_len, rt_geo_network_spec_beijing(), seed,
				    (size_t)stations, &text, &text_len, &err) != RT_OK) {
		fprintf(stderr, "dispatchctl: network generate: %s\n", err.msg);
		goto done;
	}
	if (ctl_network_write(out, text, text_len) != 0)
		goto done;
	fprintf(stderr, "dispatchctl: wrote %s (%zu bytes, %llu stations, seed %llu)\n", out,
		text_len, stations, seed);
	rc = 0;
done:
	free(text);
	free(in);
	rt_geo_ctx_free(ctx);
	return rc;
}
