/* The independent validator: recomputes every route of a solution from its
 * stop order alone and checks it against the problem. It shares no code
 * with the solver or with rt_vrp_solution_new(), on purpose. */
#ifndef RT_VRP_CHECK_H
#define RT_VRP_CHECK_H

#include "routing/common/err.h"
#include "routing/vrp/problem.h"
#include "routing/vrp/solution.h"

/* Check sol against p: vehicles used at most once, every stop exactly once
 * (served or unassigned), skills, capacity in every dimension at every point
 * of every route (deliveries loaded at the start, pickups added stop by stop),
 * windows, shift ends, and that the reported ETAs, loads and distances match
 * a fresh forward simulation. If warm is not NULL, fixed prefixes must be kept
 * on their vehicle, in order, at the head of the route. Returns RT_OK, or
 * RT_E_INFEASIBLE (RT_E_INVAL for a malformed solution) naming the first
 * violation in err. Pure and reentrant. */
RT_MUST_CHECK enum rt_status rt_vrp_check_solution(const struct rt_vrp_problem *p,
						   const struct rt_vrp_solution *sol,
						   const struct rt_vrp_warm *warm,
						   struct rt_err *err);

#endif
