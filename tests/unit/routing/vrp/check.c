/* Unit tests of the independent validator (routing/vrp/check.c): a correct
 * plan passes, and each kind of violation, or a misreported figure, is
 * caught and named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "routing/vrp/check.h"
#include "fixture.h"

/* Depot at 0; stops 1..3 on a line, each 10 apart; one vehicle, capacity 10. */
struct line {
	double xy[8], dist[16], tim[16];
	struct rt_vrp_stop st[3];
	struct rt_vrp_vehicle v[2];
	struct rt_vrp_matrix m;
	struct rt_vrp_problem p;
};

static void
line_init(struct line *l)
{
	memset(l, 0, sizeof *l);
	for (int i = 0; i < 4; i++)
		l->xy[2 * i] = 10.0 * i;
	rt_vrp_problem_matrix_euclidean(l->xy, 4, 1.0, l->dist, l->tim);
	for (int i = 0; i < 3; i++) {
		l->st[i].loc = (uint32_t)(i + 1);
		l->st[i].tw_close_s = 100;
		l->st[i].delivery[0] = 3;
		l->st[i].service_s = 5;
	}
	for (int v = 0; v < 2; v++) {
		l->v[v].capacity[0] = 10;
		l->v[v].shift_end_s = 200;
	}
	l->m = (struct rt_vrp_matrix){l->dist, l->tim};
	l->p = (struct rt_vrp_problem){4, 3, 2, 1, l->st, l->v, &l->m};
}

static struct rt_vrp_solution *
build(struct line *l, const uint32_t *seq, size_t len, const struct rt_vrp_unassigned *un,
      size_t nu)
{
	uint32_t veh = 0;
	size_t start[2] = {0, len};
	struct rt_err err;
	struct rt_vrp_solution *sol = rt_vrp_solution_new(&l->p, 1, &veh, start, seq, un, nu, &err);

	assert_non_null(sol);
	return sol;
}

static void
expect(struct line *l, struct rt_vrp_solution *sol, const struct rt_vrp_warm *warm,
       enum rt_status code, const char *needle)
{
	struct rt_err err = {0};
	enum rt_status st = rt_vrp_check_solution(&l->p, sol, warm, &err);

	if (st != code || (needle != NULL && strstr(err.msg, needle) == NULL))
		fail_msg("got %d '%s', want %d '%s'", st, err.msg, code, needle ? needle : "");
	rt_vrp_solution_free(sol);
}

static void
test_valid_plan_passes(void **state)
{
	(void)state;
	struct line l;
	uint32_t seq[] = {0, 1, 2};

	line_init(&l);
	l.st[0].delivery[0] = 0;
	l.st[0].pickup[0] = 4; /* loads 6 -> 10 -> 7 -> 4: full after the pickup */
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_OK, NULL);
}

static void
test_violations_are_caught(void **state)
{
	(void)state;
	struct line l;
	uint32_t seq[] = {0, 1, 2}, dup[] = {0, 1, 1};
	struct rt_vrp_unassigned un = {2, RT_VRP_REASON_NO_VEHICLE};
	struct rt_vrp_solution *sol;
	struct rt_vrp_warm_route wr = {0, 2, (const uint32_t[]){1, 0}, 2};
	struct rt_vrp_warm warm = {1, &wr};

	line_init(&l);
	l.st[2].tw_close_s = 40; /* reached at 30 + 2 * 5 service = 40: tight but fine */
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_OK, NULL);
	l.st[2].tw_close_s = 39.9;
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_E_INFEASIBLE, "after its window closes");
	line_init(&l);
	l.st[1].delivery[0] = 5; /* 3 + 5 + 3 = 11 > 10 at the start */
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_E_INFEASIBLE, "exceeds capacity");
	line_init(&l);
	l.st[1].delivery[0] = 0;
	l.st[1].pickup[0] = 8; /* 6 -> 3 -> 11 */
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_E_INFEASIBLE, "after stop 1 exceeds");
	line_init(&l);
	l.v[0].shift_end_s = 74; /* back at 30 + 15 + 30 = 75 */
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_E_INFEASIBLE, "after shift end");
	line_init(&l);
	l.st[1].skills = 2;
	expect(&l, build(&l, seq, 3, NULL, 0), NULL, RT_E_INFEASIBLE, "skills");
	line_init(&l);
	expect(&l, build(&l, dup, 3, NULL, 0), NULL, RT_E_INFEASIBLE, "served twice");
	expect(&l, build(&l, seq, 2, NULL, 0), NULL, RT_E_INFEASIBLE, "silently dropped");
	expect(&l, build(&l, seq, 3, &un, 1), NULL, RT_E_INFEASIBLE, "both served and unassigned");
	expect(&l, build(&l, seq, 2, &un, 1), NULL, RT_OK, NULL);
	/* misreported figures */
	sol = build(&l, seq, 3, NULL, 0);
	sol->routes[0].visits[1].start_s += 1;
	expect(&l, sol, NULL, RT_E_INFEASIBLE, "ETAs");
	sol = build(&l, seq, 3, NULL, 0);
	sol->dist_m += 1;
	expect(&l, sol, NULL, RT_E_INFEASIBLE, "total distance");
	sol = build(&l, seq, 3, NULL, 0);
	sol->routes[0].visits[2].load[0] = 0.5;
	expect(&l, sol, NULL, RT_E_INFEASIBLE, "reported");
	/* a fixed prefix that moved */
	expect(&l, build(&l, seq, 3, NULL, 0), &warm, RT_E_INFEASIBLE, "fixed stop 0 changed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_plan_passes),
	    cmocka_unit_test(test_violations_are_caught),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
