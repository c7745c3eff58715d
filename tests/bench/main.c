/* dispatch-bench: the benchmark driver. It owns argument dispatch to the
 * suites and the shared clock; each suite owns its own workload. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

static const struct bench_suite bench_suites[] = {
	{"vrp", "vrp --solomon DIR --seconds S [--seed N] [--objective distance|hierarchical]",
	 bench_vrp_main},
	{"geo", "geo [--stations FILE] [--seconds S]", bench_geo_main},
};

double
bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_usage(FILE *out)
{
	fprintf(out, "usage: dispatch-bench SUITE [options]\nsuites:\n");
	for (size_t i = 0; i < sizeof bench_suites / sizeof bench_suites[0]; i++)
		fprintf(out, "  %s\n", bench_suites[i].usage);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		bench_usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof bench_suites / sizeof bench_suites[0]; i++)
		if (strcmp(argv[1], bench_suites[i].name) == 0)
			return bench_suites[i].run(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		bench_usage(stdout);
		return 0;
	}
	fprintf(stderr, "dispatch-bench: unknown suite '%s'\n", argv[1]);
	bench_usage(stderr);
	return 2;
}
