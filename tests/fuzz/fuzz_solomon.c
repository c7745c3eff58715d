/* libFuzzer harness: the Solomon VRPTW reader (routing/vrp/solomon.c),
 * which takes the bytes of an instance file (`dispatchctl solve`, the
 * benchmarks). It promises to take any bytes and return either an instance
 * or an error (parse, inconsistent numbers, out of memory) with a
 * terminated message. An instance it returns is one the planner accepts
 * (rt_vrp_problem_check says RT_OK: the reader never hands the solver a
 * problem its input checker refuses), with at most
 * RT_VRP_SOLOMON_MAX_CUSTOMERS stops, one per customer at its location,
 * and Euclidean matrices: zero diagonal, symmetric, time equal to distance. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "routing/vrp/problem.h"
#include "routing/vrp/solomon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_solomon_check(const struct rt_vrp_solomon *s)
{
	struct rt_err err;
	const struct rt_vrp_problem *p = &s->problem;
	size_t n = s->n_customers + 1;
	if (rt_vrp_problem_check(p, &err) != RT_OK)
		__builtin_trap();
	if (s->n_customers > RT_VRP_SOLOMON_MAX_CUSTOMERS || p->n_stops != s->n_customers ||
	    p->n_locs != n || p->n_vehicles != s->fleet || memchr(s->name, '\0', sizeof s->name) == NULL)
		__builtin_trap();
	for (size_t i = 0; i < p->n_stops; i++)
		if (p->stops[i].loc != i + 1)
			__builtin_trap();
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (s->dist[i * n + j] != s->dist[j * n + i] ||
			    s->time[i * n + j] != s->dist[i * n + j] ||
			    (i == j && s->dist[i * n + j] != 0.0))
				__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rt_err err;
	memset(&err, 'x', sizeof err);
	struct rt_vrp_solomon *s = rt_vrp_solomon_parse((const char *)data, size, &err);
	if (s == NULL) {
		if ((err.code != RT_E_PARSE && err.code != RT_E_INVAL && err.code != RT_E_NOMEM) ||
		    memchr(err.msg, '\0', sizeof err.msg) == NULL)
			__builtin_trap();
		return 0;
	}
	fuzz_solomon_check(s);
	rt_vrp_solomon_free(s);
	return 0;
}
