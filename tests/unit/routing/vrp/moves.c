/* Unit tests of the planner's move evaluation (routing/vrp/tour.c,
 * sisr.c, search.c): the O(1) insertion check (time windows by
 * forward departure / backward latest start, capacity by prefix / suffix
 * maximum load with pickups and deliveries mixed) agrees with the
 * independent validator on random moves, and a ruin-and-recreate step rolls
 * back exactly. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing/vrp/check.h"
#include "routing/vrp/search.h"
#include "routing/vrp/solution.h"
#include "fixture.h"

/* Validate a single route (vehicle veh serving seq) with every other stop
 * unassigned; returns the status and the route distance. */
static enum rt_status
check_one_route(const struct rt_vrp_problem *p, uint32_t veh, const uint32_t *seq, size_t len,
		double *dist)
{
	struct rt_vrp_unassigned *un = malloc(p->n_stops * sizeof *un);
	unsigned char *in = calloc(p->n_stops, 1);
	size_t nu = 0, start[2] = {0, len};
	struct rt_err err;
	struct rt_vrp_solution *sol;
	enum rt_status st;

	for (size_t k = 0; k < len; k++)
		in[seq[k]] = 1;
	for (size_t i = 0; i < p->n_stops; i++)
		if (!in[i]) {
			un[nu].stop = (uint32_t)i;
			un[nu++].reason = RT_VRP_REASON_NO_VEHICLE;
		}
	sol = rt_vrp_solution_new(p, 1, &veh, start, seq, un, nu, &err);
	assert_non_null(sol);
	st = rt_vrp_check_solution(p, sol, NULL, &err);
	*dist = sol->dist_m;
	rt_vrp_solution_free(sol);
	free(un);
	free(in);
	return st;
}

static void
setup_search(struct rt_vrp_search *s, struct vrp_fixture *f, uint64_t seed)
{
	struct rt_err err;

	vrp_fixture_random(f, 40, 6, seed);
	/* vehicles differ, so capacity and shift bind differently */
	f->veh[1].capacity[0] = 40;
	f->veh[2].capacity[1] = 8;
	f->veh[3].shift_end_s = 600;
	f->veh[4].shift_start_s = 300;
	assert_int_equal(rt_vrp_search_init(s, &f->p, RT_VRP_OBJ_DISTANCE, seed, &err), RT_OK);
	for (uint32_t c = 0; c < f->p.n_stops; c++)
		s->absent[s->n_absent++] = c;
	rt_vrp_search_begin(s);
	assert_int_equal(rt_vrp_sisr_recreate(s, 0.0), RT_OK);
	rt_vrp_search_commit(s);
}

static void
test_insertion_agrees_with_validator(void **state)
{
	(void)state;
	int feasible = 0, infeasible = 0;

	for (uint64_t seed = 1; seed <= 6; seed++) {
		struct vrp_fixture f;
		struct rt_vrp_search s;
		uint64_t x = seed * 7919;
		uint32_t *seq;

		setup_search(&s, &f, seed);
		seq = malloc((f.p.n_stops + 2) * sizeof *seq);
		for (int trial = 0; trial < 1500; trial++) {
			uint32_t ti = (uint32_t)(vrp_fixture_rand(&x) % s.nv);
			struct rt_vrp_tour *t = &s.tours[ti];
			uint32_t c = (uint32_t)(vrp_fixture_rand(&x) % s.n);
			uint32_t p = (uint32_t)(vrp_fixture_rand(&x) % (t->n + 1));
			double delta, dist = 0.0;
			size_t len = 0;
			enum rt_status st;

			if (s.where[c] == ti)
				continue;
			delta = rt_vrp_tour_insert_delta(&s, t, c, p, INFINITY);
			for (uint32_t k = 1; k <= t->n; k++) {
				seq[len++] = t->stop[k];
				if (k == p)
					seq[len++] = c;
			}
			if (p == 0) {
				memmove(seq + 1, seq, len * sizeof *seq);
				seq[0] = c;
				len++;
			}
			st = check_one_route(&f.p, t->vehicle, seq, len, &dist);
			if (isinf(delta)) {
				assert_int_equal(st, RT_E_INFEASIBLE);
				infeasible++;
			} else {
				assert_int_equal(st, RT_OK);
				assert_true(fabs((t->n ? t->dist : 0.0) + delta - dist) < 1e-9);
				feasible++;
			}
		}
		rt_vrp_search_fini(&s);
		vrp_fixture_free(&f);
		free(seq);
	}
	/* both outcomes are exercised many times */
	assert_true(feasible > 500);
	assert_true(infeasible > 500);
}

static void
test_current_plan_is_valid(struct rt_vrp_search *s, const struct rt_vrp_problem *p)
{
	uint32_t *veh = malloc(s->nv * sizeof *veh), *seq = malloc(s->n * sizeof *seq);
	size_t *start = malloc((s->nv + 1) * sizeof *start), k = 0, nu = 0;
	struct rt_vrp_unassigned *un = malloc(s->n * sizeof *un);
	struct rt_vrp_solution *sol;
	struct rt_err err;

	for (size_t v = 0; v < s->nv; v++) {
		veh[v] = (uint32_t)v;
		start[v] = k;
		for (uint32_t q = 1; q <= s->tours[v].n; q++) {
			assert_int_equal(s->where[s->tours[v].stop[q]], v);
			assert_int_equal(s->pos[s->tours[v].stop[q]], q);
			seq[k++] = s->tours[v].stop[q];
		}
	}
	start[s->nv] = k;
	for (size_t i = 0; i < s->n_absent; i++) {
		assert_int_equal(s->where[s->absent[i]], RT_VRP_NONE);
		un[nu].stop = s->absent[i];
		un[nu++].reason = RT_VRP_REASON_NO_VEHICLE;
	}
	sol = rt_vrp_solution_new(p, s->nv, veh, start, seq, un, nu, &err);
	assert_non_null(sol);
	assert_int_equal(rt_vrp_check_solution(p, sol, NULL, &err), RT_OK);
	assert_true(fabs(sol->dist_m - rt_vrp_search_cost(s)) < 1e-6);
	rt_vrp_solution_free(sol);
	free(veh);
	free(seq);
	free(start);
	free(un);
}

static void
test_ruin_recreate_rollback(void **state)
{
	(void)state;
	struct vrp_fixture f;
	struct rt_vrp_search s;

	setup_search(&s, &f, 42);
	for (int step = 0; step < 400; step++) {
		double before = rt_vrp_search_cost(&s);
		size_t abs_before = s.n_absent;

		rt_vrp_search_begin(&s);
		rt_vrp_sisr_ruin(&s);
		assert_int_equal(rt_vrp_sisr_recreate(&s, 0.01), RT_OK);
		if (step % 3 == 0) {
			rt_vrp_search_rollback(&s);
			assert_true(fabs(rt_vrp_search_cost(&s) - before) < 1e-9);
			assert_int_equal(s.n_absent, abs_before);
		} else {
			rt_vrp_search_commit(&s);
		}
		test_current_plan_is_valid(&s, &f.p);
	}
	rt_vrp_search_fini(&s);
	vrp_fixture_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_insertion_agrees_with_validator),
	    cmocka_unit_test(test_ruin_recreate_rollback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
