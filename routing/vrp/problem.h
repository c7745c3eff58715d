/* The courier routing problem (VRPTW with mixed pickups and deliveries) and
 * its solution, as plain data. The caller owns every array a problem points
 * to; planner functions borrow them for the duration of a call only.
 *
 * Conventions: times are seconds on any fixed origin (e.g. seconds since the
 * wave's midnight), distances metres (or any unit, the objective just sums
 * them). A time window bounds the START of service: arriving early waits,
 * starting after tw_close_s is infeasible, service may end after it. */
#ifndef RT_VRP_PROBLEM_H
#define RT_VRP_PROBLEM_H

#include <stddef.h>
#include <stdint.h>

#include "routing/common/err.h"

/* Number of capacity dimensions: 0 = weight, 1 = volume (units are the caller's). */
#define RT_VRP_DIMS 2

/* One travel profile (vehicle type): row-major n_locs x n_locs matrices. */
struct rt_vrp_matrix {
	const double *dist_m; /* dist_m[i * n_locs + j]: distance from location i to j */
	const double *time_s; /* time_s[i * n_locs + j]: travel time from i to j */
};

/* A courier / vehicle. Routes start at start_loc no earlier than shift_start_s
 * and must be back at end_loc no later than shift_end_s. */
struct rt_vrp_vehicle {
	double capacity[RT_VRP_DIMS]; /* load limit per dimension, >= 0 */
	double shift_start_s;         /* earliest departure from start_loc */
	double shift_end_s;           /* latest arrival at end_loc */
	uint32_t start_loc;           /* location index of the route start (the depot) */
	uint32_t end_loc;             /* location index of the route end (the depot) */
	uint32_t profile;             /* index into problem->matrices */
	double fixed_cost;            /* added once if the vehicle is used (distance objective) */
	uint64_t skills;              /* skills this vehicle offers (bitmask) */
};

/* A stop: a delivery (goods loaded at the depot), a pickup (goods brought back
 * to the depot), or both at once. */
struct rt_vrp_stop {
	uint32_t loc;                 /* location index */
	double delivery[RT_VRP_DIMS]; /* dropped here, carried from the depot */
	double pickup[RT_VRP_DIMS];   /* collected here, carried to the route end */
	double tw_open_s;             /* earliest start of service */
	double tw_close_s;            /* latest start of service */
	double service_s;             /* service duration, >= 0 */
	uint64_t skills;              /* skills required (all bits must be offered) */
};

/* The problem. All pointers are borrowed from the caller. */
struct rt_vrp_problem {
	size_t n_locs;
	size_t n_stops;
	size_t n_vehicles;
	size_t n_profiles;
	const struct rt_vrp_stop *stops;       /* n_stops */
	const struct rt_vrp_vehicle *vehicles; /* n_vehicles */
	const struct rt_vrp_matrix *matrices;  /* n_profiles */
};

enum rt_vrp_objective {
	RT_VRP_OBJ_DISTANCE = 0,     /* distance + fixed cost of used vehicles */
	RT_VRP_OBJ_HIERARCHICAL = 1, /* fewest vehicles first, then distance */
};

/* Why a stop is left unassigned. */
enum rt_vrp_reason {
	RT_VRP_REASON_SKILL = 1,    /* no vehicle offers the required skills */
	RT_VRP_REASON_CAPACITY = 2, /* its demand exceeds every eligible vehicle's capacity */
	RT_VRP_REASON_WINDOW = 3,   /* its window cannot be reached from any start in time */
	RT_VRP_REASON_SHIFT = 4, /* served in its window, no vehicle can return before shift end */
	RT_VRP_REASON_NO_VEHICLE = 5, /* feasible alone, but the fleet cannot absorb it */
};

/* Warm start: a previous plan for this problem. Route r gives vehicle r's
 * stops in order; its first n_fixed stops are already done or committed and
 * stay exactly as they are (same vehicle, same order, at the route head).
 * The other stops are a starting point the search may move. */
struct rt_vrp_warm_route {
	uint32_t vehicle;
	size_t n_stops;
	const uint32_t *stops; /* stop indices, borrowed */
	size_t n_fixed;        /* length of the fixed prefix, <= n_stops */
};

struct rt_vrp_warm {
	size_t n_routes;
	const struct rt_vrp_warm_route *routes; /* borrowed; one entry per vehicle at most */
};

/* Check a problem's sizes, indices and numbers (finite, non-negative,
 * windows ordered, profiles in range). Returns RT_OK or RT_E_INVAL naming
 * the first offending item in err. */
RT_MUST_CHECK enum rt_status rt_vrp_problem_check(const struct rt_vrp_problem *p,
						  struct rt_err *err);

/* Fill caller-allocated n x n matrices from planar coordinates (xy[2*i], xy[2*i+1]):
 * dist = Euclidean distance, time = dist / speed. speed must be > 0. */
void rt_vrp_problem_matrix_euclidean(const double *xy, size_t n, double speed, double *dist_out,
				     double *time_out);

/* Fill caller-allocated n x n matrices from WGS84 lon/lat degrees (lonlat[2*i],
 * lonlat[2*i+1]): dist = haversine * detour (>= 1 typical), time = dist / speed_mps. */
void rt_vrp_problem_matrix_haversine(const double *lonlat, size_t n, double detour,
				     double speed_mps, double *dist_out, double *time_out);

/* A short stable name for a reason ("skill", "capacity", ...). Static storage. */
const char *rt_vrp_problem_reason_name(enum rt_vrp_reason reason);

#endif
