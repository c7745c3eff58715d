/* The routing problem model: validation of caller-built problems and the
 * matrix helpers. Owns no memory: problems are the caller's plain data. The
 * search lives in solver.c, the independent checker in check.c. */
#include <math.h>

#include "routing/common/distance.h"
#include "routing/vrp/problem.h"

static int
rt_vrp_problem_finite_nonneg(double v)
{
	return isfinite(v) && v >= 0.0;
}

static enum rt_status
rt_vrp_problem_check_stop(const struct rt_vrp_problem *p, size_t i, struct rt_err *err)
{
	const struct rt_vrp_stop *s = &p->stops[i];

	if (s->loc >= p->n_locs)
		return rt_err_set(err, RT_E_INVAL, "stop %zu: location %u out of range (%zu)", i,
				  s->loc, p->n_locs);
	for (int d = 0; d < RT_VRP_DIMS; d++)
		if (!rt_vrp_problem_finite_nonneg(s->delivery[d]) ||
		    !rt_vrp_problem_finite_nonneg(s->pickup[d]))
			return rt_err_set(err, RT_E_INVAL,
					  "stop %zu: demand must be finite and >= 0", i);
	if (!isfinite(s->tw_open_s) || !isfinite(s->tw_close_s) || s->tw_open_s > s->tw_close_s)
		return rt_err_set(err, RT_E_INVAL, "stop %zu: window [%g, %g] is not ordered", i,
				  s->tw_open_s, s->tw_close_s);
	if (!rt_vrp_problem_finite_nonneg(s->service_s))
		return rt_err_set(err, RT_E_INVAL, "stop %zu: service time must be >= 0", i);
	return RT_OK;
}

static enum rt_status
rt_vrp_problem_check_vehicle(const struct rt_vrp_problem *p, size_t i, struct rt_err *err)
{
	const struct rt_vrp_vehicle *v = &p->vehicles[i];

	if (v->start_loc >= p->n_locs || v->end_loc >= p->n_locs)
		return rt_err_set(err, RT_E_INVAL, "vehicle %zu: start/end location out of range",
				  i);
	if (v->profile >= p->n_profiles)
		return rt_err_set(err, RT_E_INVAL, "vehicle %zu: profile %u out of range (%zu)", i,
				  v->profile, p->n_profiles);
	for (int d = 0; d < RT_VRP_DIMS; d++)
		if (!rt_vrp_problem_finite_nonneg(v->capacity[d]))
			return rt_err_set(err, RT_E_INVAL,
					  "vehicle %zu: capacity must be finite and >= 0", i);
	if (!isfinite(v->shift_start_s) || !isfinite(v->shift_end_s) ||
	    v->shift_start_s > v->shift_end_s)
		return rt_err_set(err, RT_E_INVAL, "vehicle %zu: shift [%g, %g] is not ordered", i,
				  v->shift_start_s, v->shift_end_s);
	if (!rt_vrp_problem_finite_nonneg(v->fixed_cost))
		return rt_err_set(err, RT_E_INVAL, "vehicle %zu: fixed cost must be >= 0", i);
	return RT_OK;
}

enum rt_status
rt_vrp_problem_check(const struct rt_vrp_problem *p, struct rt_err *err)
{
	enum rt_status st;

	if (p == NULL)
		return rt_err_set(err, RT_E_INVAL, "problem is NULL");
	if (p->n_locs == 0 || p->n_profiles == 0 || p->matrices == NULL)
		return rt_err_set(err, RT_E_INVAL, "problem needs locations and a matrix");
	if ((p->n_stops > 0 && p->stops == NULL) || (p->n_vehicles > 0 && p->vehicles == NULL))
		return rt_err_set(err, RT_E_INVAL, "problem has counts without arrays");
	if (p->n_stops > UINT32_MAX / 2 || p->n_locs > 65535 || p->n_vehicles > UINT32_MAX / 2)
		return rt_err_set(err, RT_E_INVAL, "problem too large");
	for (size_t k = 0; k < p->n_profiles; k++) {
		const struct rt_vrp_matrix *m = &p->matrices[k];
		if (m->dist_m == NULL || m->time_s == NULL)
			return rt_err_set(err, RT_E_INVAL, "profile %zu: missing matrix", k);
		for (size_t i = 0; i < p->n_locs * p->n_locs; i++)
			if (!rt_vrp_problem_finite_nonneg(m->dist_m[i]) ||
			    !rt_vrp_problem_finite_nonneg(m->time_s[i]))
				return rt_err_set(err, RT_E_INVAL,
						  "profile %zu: matrix entry %zu (%zu -> %zu) must "
						  "be finite and >= 0",
						  k, i, i / p->n_locs, i % p->n_locs);
	}
	for (size_t i = 0; i < p->n_stops; i++)
		if ((st = rt_vrp_problem_check_stop(p, i, err)) != RT_OK)
			return st;
	for (size_t i = 0; i < p->n_vehicles; i++)
		if ((st = rt_vrp_problem_check_vehicle(p, i, err)) != RT_OK)
			return st;
	return RT_OK;
}

void
rt_vrp_problem_matrix_euclidean(const double *xy, size_t n, double speed, double *dist_out,
				double *time_out)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			double dx = xy[2 * i] - xy[2 * j];
			double dy = xy[2 * i + 1] - xy[2 * j + 1];
			double d = sqrt(dx * dx + dy * dy);
			dist_out[i * n + j] = d;
			time_out[i * n + j] = d / speed;
		}
	}
}

void
rt_vrp_problem_matrix_haversine(const double *lonlat, size_t n, double detour, double speed_mps,
				double *dist_out, double *time_out)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			double d = rt_distance_haversine_m(lonlat[2 * i], lonlat[2 * i + 1],
							   lonlat[2 * j], lonlat[2 * j + 1]);
			d *= detour;
			dist_out[i * n + j] = d;
			time_out[i * n + j] = d / speed_mps;
		}
	}
}

const char *
rt_vrp_problem_reason_name(enum rt_vrp_reason reason)
{
	switch (reason) {
	case RT_VRP_REASON_SKILL:
		return "skill";
	case RT_VRP_REASON_CAPACITY:
		return "capacity";
	case RT_VRP_REASON_WINDOW:
		return "window";
	case RT_VRP_REASON_SHIFT:
		return "shift";
	case RT_VRP_REASON_NO_VEHICLE:
		return "no_vehicle";
	}
	return "unknown";
}
