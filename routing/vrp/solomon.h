/* Reader for Solomon (1987) VRPTW instances, from a byte buffer (the caller
 * reads the file). The result owns the problem arrays it builds: Euclidean
 * distances in double precision, travel time = distance, one vehicle type. */
#ifndef RT_VRP_SOLOMON_H
#define RT_VRP_SOLOMON_H

#include <stddef.h>

#include "routing/common/err.h"
#include "routing/vrp/problem.h"

/* Instances larger than this are refused (bounds the allocation). */
#define RT_VRP_SOLOMON_MAX_CUSTOMERS 20000

/* A parsed instance. Customer i (1-based in the file) is stop i-1 at
 * location i; location 0 is the depot. */
struct rt_vrp_solomon {
	char name[64];
	size_t n_customers;
	size_t fleet;
	double capacity;
	double *xy;                      /* 2 * (n_customers + 1): x, y per location */
	double *dist;                    /* (n_customers + 1)^2 */
	double *time;                    /* (n_customers + 1)^2, equal to dist */
	struct rt_vrp_stop *stops;       /* n_customers */
	struct rt_vrp_vehicle *vehicles; /* fleet, all alike */
	struct rt_vrp_matrix matrix;
	struct rt_vrp_problem problem; /* points into the arrays above */
};

/* Parse len bytes (need not be NUL terminated). Returns a new instance owned
 * by the caller (rt_vrp_solomon_free), or NULL with err set: RT_E_PARSE with
 * the line and what was expected, RT_E_INVAL for inconsistent numbers,
 * RT_E_NOMEM. */
struct rt_vrp_solomon *rt_vrp_solomon_parse(const char *buf, size_t len, struct rt_err *err);

/* Free an instance. NULL is a no-op. */
void rt_vrp_solomon_free(struct rt_vrp_solomon *inst);

#endif
