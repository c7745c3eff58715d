/* The planner's quality, guarded (routing/vrp/solver.c). Its budget is work,
 * not time, so a fixed set of Solomon instances solved at a fixed work
 * budget and seed gives the same plans on every machine: this test pins the
 * exact distances, and with them the mean gap to the best-known solutions
 * (bks.csv, distance objective). A change to the search that moves any of
 * them fails here and must update the numbers on purpose, with the bench
 * (make bench, vrp_mean_gap_pct) showing it is no worse.
 *
 * Determinism across builds: the solver uses IEEE double arithmetic only
 * (+ - * / sqrt, and exp from libm for the annealing), with no FMA
 * contraction (-std=c17 on x86-64 without -march), so RelWithDebInfo and
 * Debug+ASan builds produce bit-identical plans; both were checked when the
 * numbers below were recorded. To stay robust should a compiler ever
 * reorder a floating-point sum, the per-instance distances are compared
 * rounded to 1e-6 and the mean gap to 1e-9, far below any real change of
 * plan (one different leg moves a distance by more than 0.1). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "routing/vrp/check.h"
#include "routing/vrp/solver.h"
#include "fixture.h"

/* About 0.15 s per instance in a release build. */
#define QUALITY_WORK 20000000
#define QUALITY_SEED 1

struct quality_case {
	const char *name;
	double dist;     /* the planner's distance at QUALITY_WORK, QUALITY_SEED */
	size_t vehicles; /* routes used */
};

/* Two instances of each Solomon class (C1, C2, R1, R2, RC1, RC2), all 100
 * customers. */
static const struct quality_case quality_cases[] = {
    {"C101", 828.936866943, 10},   {"C105", 828.936866943, 10},
    {"C201", 591.556556672, 3},    {"C205", 588.875962653, 3},
    {"R101", 1642.876874710, 20},  {"R105", 1385.353609093, 15},
    {"R201", 1157.437345277, 7},   {"R205", 955.963563789, 5},
    {"RC101", 1654.546550260, 16}, {"RC105", 1533.420620128, 16},
    {"RC201", 1286.336070269, 8},  {"RC205", 1169.496362419, 8},
};
/* Mean of 100 * (dist - bks) / bks over the cases. */
#define QUALITY_MEAN_GAP_PCT 0.568500031934

static double
quality_bks(const struct vrp_fixture_bks *bks, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(bks[i].name, name) == 0 && strcmp(bks[i].objective, "distance_only") == 0)
			return bks[i].dist;
	fail_msg("%s: no distance_only row in bks.csv", name);
	return 0.0;
}

static void
test_fixed_budget_mean_gap(void **state)
{
	(void)state;
	static struct vrp_fixture_bks bks[256];
	int n_bks = vrp_fixture_bks_load(bks, sizeof bks / sizeof bks[0]);
	size_t n = sizeof quality_cases / sizeof quality_cases[0];
	double gap_sum = 0.0;
	int mismatches = 0;

	assert_true(n_bks > 0);
	for (size_t i = 0; i < n; i++) {
		const struct quality_case *c = &quality_cases[i];
		struct rt_vrp_solomon *inst = vrp_fixture_solomon(c->name);
		struct rt_vrp_params pr;
		struct rt_vrp_solution *sol = NULL;
		struct rt_err err = {0};
		double best = quality_bks(bks, n_bks, c->name);

		assert_non_null(inst);
		rt_vrp_solver_params_init(&pr);
		pr.objective = RT_VRP_OBJ_DISTANCE;
		pr.work_limit = QUALITY_WORK;
		pr.seed = QUALITY_SEED;
		if (rt_vrp_solver_solve(&inst->problem, &pr, NULL, &sol, &err) != RT_OK)
			fail_msg("%s: solver: %s", c->name, err.msg);
		if (rt_vrp_check_solution(&inst->problem, sol, NULL, &err) != RT_OK)
			fail_msg("%s: validator: %s", c->name, err.msg);
		assert_int_equal(sol->n_unassigned, 0);
		gap_sum += 100.0 * (sol->dist_m - best) / best;
		/* All cases are reported before failing, so one run prints the new table. */
		printf("    {\"%s\", %.9f, %zu},\n", c->name, sol->dist_m, sol->n_routes);
		if (fabs(sol->dist_m - c->dist) > 1e-6 || sol->n_routes != c->vehicles) {
			printf("    ^ %s: want %.9f with %zu vehicles\n", c->name, c->dist,
			       c->vehicles);
			mismatches++;
		}
		rt_vrp_solution_free(sol);
		rt_vrp_solomon_free(inst);
	}
	printf("    mean gap %.12f %%\n", gap_sum / (double)n);
	assert_int_equal(mismatches, 0);
	assert_true(fabs(gap_sum / (double)n - QUALITY_MEAN_GAP_PCT) < 1e-9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixed_budget_mean_gap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
