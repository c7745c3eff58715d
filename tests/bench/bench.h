/* dispatch-bench suites. Each suite is one file, bench_<name>.c, exporting
 * one entry point; main.c holds the table. Suites print one figure a line on
 * stdout as name=value, every name starting with the suite's name and "_"
 * (geo_lookups_per_s, vrp_mean_gap_pct), the last line being the headline
 * figure; detail that is not a figure goes on lines starting with "# ".
 * scripts/bench.sh refuses any other line. */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

/* A suite's entry point: argv[0] is the suite name. Returns a process exit code. */
typedef int bench_main_fn(int argc, char **argv);

struct bench_suite {
	const char *name;
	const char *usage;
	bench_main_fn *run;
};

/* Monotonic clock in seconds, for timing inside suites. */
double bench_now_s(void);

int bench_vrp_main(int argc, char **argv);
int bench_geo_main(int argc, char **argv);

#endif
