/* Search state of the route planner: set-up from a problem (compact stop
 * copies, tours, vehicle classes, neighbour lists, stops that no vehicle can
 * serve and why), the random number generator, and the undo journal of one
 * ruin-and-recreate step. Owns all search memory; the problem is borrowed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/search.h"

/* Neighbour lists longer than this add nothing to string removals. */
#define RT_VRP_SEARCH_MAX_ADJ 200

/* Vehicle-count weight of the hierarchical objective: larger than any
 * distance sum a route plan can reach on realistic inputs, so one vehicle
 * less always wins. */
#define RT_VRP_SEARCH_VEHICLE_WEIGHT 1e9

static uint64_t
rt_vrp_search_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t
rt_vrp_search_rand(struct rt_vrp_search *s)
{
	uint64_t *r = s->rng;
	uint64_t x = r[1] * 5;
	uint64_t res = ((x << 7) | (x >> 57)) * 9;
	uint64_t t = r[1] << 17;

	r[2] ^= r[0];
	r[3] ^= r[1];
	r[1] ^= r[2];
	r[0] ^= r[3];
	r[2] ^= t;
	r[3] = (r[3] << 45) | (r[3] >> 19);
	return res;
}

double
rt_vrp_search_unif(struct rt_vrp_search *s)
{
	return (double)(rt_vrp_search_rand(s) >> 11) * 0x1.0p-53;
}

uint32_t
rt_vrp_search_below(struct rt_vrp_search *s, uint32_t n)
{
	return (uint32_t)(((rt_vrp_search_rand(s) >> 32) * (uint64_t)n) >> 32);
}

double
rt_vrp_search_cost(const struct rt_vrp_search *s)
{
	double c = 0.0;

	for (size_t i = 0; i < s->nv; i++)
		if (s->tours[i].n > 0)
			c += s->tours[i].dist + s->tours[i].open_cost;
	return c;
}

size_t
rt_vrp_search_used(const struct rt_vrp_search *s)
{
	size_t u = 0;

	for (size_t i = 0; i < s->nv; i++)
		u += s->tours[i].n > 0;
	return u;
}

/* The furthest check a stop passes on vehicle v alone: 0 if v can serve it. */
static enum rt_vrp_reason
rt_vrp_search_alone(const struct rt_vrp_search *s, const struct rt_vrp_sstop *c,
		    const struct rt_vrp_vehicle *v)
{
	const struct rt_vrp_matrix *m = &s->p->matrices[v->profile];
	double arr, start;

	if ((c->skills & v->skills) != c->skills)
		return RT_VRP_REASON_SKILL;
	for (int d = 0; d < RT_VRP_DIMS; d++)
		if (c->del[d] > v->capacity[d] || c->pick[d] > v->capacity[d])
			return RT_VRP_REASON_CAPACITY;
	arr = v->shift_start_s + m->time_s[(size_t)v->start_loc * s->nl + c->loc];
	start = arr > c->open ? arr : c->open;
	if (start > c->close)
		return RT_VRP_REASON_WINDOW;
	if (start + c->svc + m->time_s[(size_t)c->loc * s->nl + v->end_loc] > v->shift_end_s)
		return RT_VRP_REASON_SHIFT;
	return 0;
}

static void
rt_vrp_search_exclusions(struct rt_vrp_search *s)
{
	for (size_t i = 0; i < s->n; i++) {
		enum rt_vrp_reason worst = RT_VRP_REASON_SKILL;
		int ok = 0;

		if (s->nv == 0)
			worst = RT_VRP_REASON_NO_VEHICLE;
		for (size_t v = 0; v < s->nv && !ok; v++) {
			enum rt_vrp_reason r =
			    rt_vrp_search_alone(s, &s->st[i], &s->p->vehicles[v]);
			if (r == 0)
				ok = 1;
			else if (r > worst)
				worst = r;
		}
		s->excluded[i] = ok ? 0 : (unsigned char)worst;
	}
}

static int
rt_vrp_search_same_class(const struct rt_vrp_vehicle *a, const struct rt_vrp_vehicle *b)
{
	for (int d = 0; d < RT_VRP_DIMS; d++)
		if (a->capacity[d] != b->capacity[d])
			return 0;
	return a->shift_start_s == b->shift_start_s && a->shift_end_s == b->shift_end_s &&
	       a->start_loc == b->start_loc && a->end_loc == b->end_loc &&
	       a->profile == b->profile && a->fixed_cost == b->fixed_cost && a->skills == b->skills;
}

static enum rt_status
rt_vrp_search_tours(struct rt_vrp_search *s, enum rt_vrp_objective obj)
{
	const struct rt_vrp_problem *p = s->p;

	for (size_t v = 0; v < s->nv; v++) {
		struct rt_vrp_tour *t = &s->tours[v];
		const struct rt_vrp_vehicle *veh = &p->vehicles[v];

		t->vehicle = (uint32_t)v;
		t->D = p->matrices[veh->profile].dist_m;
		t->T = p->matrices[veh->profile].time_s;
		memcpy(t->capy, veh->capacity, sizeof t->capy);
		t->shift_start = veh->shift_start_s;
		t->shift_end = veh->shift_end_s;
		t->open_cost = veh->fixed_cost;
		if (obj == RT_VRP_OBJ_HIERARCHICAL)
			t->open_cost += RT_VRP_SEARCH_VEHICLE_WEIGHT;
		t->skills = veh->skills;
		t->vclass = (uint32_t)v;
		for (size_t u = 0; u < v; u++)
			if (rt_vrp_search_same_class(veh, &p->vehicles[u])) {
				t->vclass = s->tours[u].vclass;
				break;
			}
		if (rt_vrp_tour_reserve(t, 8) != RT_OK)
			return RT_E_NOMEM;
		rt_vrp_tour_update(s, (uint32_t)v);
	}
	return RT_OK;
}

struct rt_vrp_search_key {
	double d;
	uint32_t id;
};

static int
rt_vrp_search_key_cmp(const void *a, const void *b)
{
	const struct rt_vrp_search_key *x = a, *y = b;

	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static enum rt_status
rt_vrp_search_neighbours(struct rt_vrp_search *s)
{
	struct rt_vrp_search_key *keys;

	s->n_adj = s->n < RT_VRP_SEARCH_MAX_ADJ ? s->n : RT_VRP_SEARCH_MAX_ADJ;
	s->adj = malloc((s->n * s->n_adj + 1) * sizeof *s->adj);
	keys = malloc((s->n + 1) * sizeof *keys);
	if (s->adj == NULL || keys == NULL) {
		free(keys);
		return RT_E_NOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->n; j++) {
			/* symmetric closeness: a string is removed around i either way */
			keys[j].d = i == j ? -1.0
					   : s->D0[(size_t)s->st[i].loc * s->nl + s->st[j].loc] +
						 s->D0[(size_t)s->st[j].loc * s->nl + s->st[i].loc];
			keys[j].id = (uint32_t)j;
		}
		qsort(keys, s->n, sizeof *keys, rt_vrp_search_key_cmp);
		for (size_t k = 0; k < s->n_adj; k++)
			s->adj[i * s->n_adj + k] = keys[k].id;
	}
	free(keys);
	return RT_OK;
}

enum rt_status
rt_vrp_search_init(struct rt_vrp_search *s, const struct rt_vrp_problem *p,
		   enum rt_vrp_objective obj, uint64_t seed, struct rt_err *err)
{
	uint64_t x = seed;

	memset(s, 0, sizeof *s);
	s->p = p;
	s->n = p->n_stops;
	s->nv = p->n_vehicles;
	s->nl = p->n_locs;
	s->D0 = p->matrices[0].dist_m;
	s->max_used = s->nv;
	for (int i = 0; i < 4; i++)
		s->rng[i] = rt_vrp_search_splitmix(&x);
	s->st = calloc(s->n + 1, sizeof *s->st);
	s->tours = calloc(s->nv + 1, sizeof *s->tours);
	s->where = malloc((s->n + 1) * sizeof *s->where);
	s->pos = calloc(s->n + 1, sizeof *s->pos);
	s->absent = malloc((s->n + 1) * sizeof *s->absent);
	s->absent_snap = malloc((s->n + 1) * sizeof *s->absent_snap);
	s->excluded = calloc(s->n + 1, 1);
	s->touched = malloc((s->nv + 1) * sizeof *s->touched);
	s->touched_mark = calloc(s->nv + 1, 1);
	if (!s->st || !s->tours || !s->where || !s->pos || !s->absent || !s->absent_snap ||
	    !s->excluded || !s->touched || !s->touched_mark)
		goto nomem;
	for (size_t i = 0; i < s->n; i++) {
		const struct rt_vrp_stop *in = &p->stops[i];
		struct rt_vrp_sstop *c = &s->st[i];
		c->loc = in->loc;
		c->open = in->tw_open_s;
		c->close = in->tw_close_s;
		c->svc = in->service_s;
		memcpy(c->del, in->delivery, sizeof c->del);
		memcpy(c->pick, in->pickup, sizeof c->pick);
		c->skills = in->skills;
		s->where[i] = RT_VRP_NONE;
	}
	if (rt_vrp_search_tours(s, obj) != RT_OK || rt_vrp_search_neighbours(s) != RT_OK)
		goto nomem;
	rt_vrp_search_exclusions(s);
	s->work = 0;
	return RT_OK;
nomem:
	rt_vrp_search_fini(s);
	return rt_err_set(err, RT_E_NOMEM, "out of memory setting up the route search");
}

void
rt_vrp_search_fini(struct rt_vrp_search *s)
{
	if (s->tours != NULL) {
		for (size_t v = 0; v < s->nv; v++) {
			struct rt_vrp_tour *t = &s->tours[v];
			free(t->stop);
			free(t->loc);
			free(t->snap);
			free(t->dep);
			free(t->latest);
			free(t->pmax);
			free(t->smax);
		}
	}
	free(s->tours);
	free(s->st);
	free(s->where);
	free(s->pos);
	free(s->absent);
	free(s->absent_snap);
	free(s->excluded);
	free(s->adj);
	free(s->touched);
	free(s->touched_mark);
	memset(s, 0, sizeof *s);
}

void
rt_vrp_search_begin(struct rt_vrp_search *s)
{
	memcpy(s->absent_snap, s->absent, s->n_absent * sizeof *s->absent);
	s->n_absent_snap = s->n_absent;
	s->n_touched = 0;
}

void
rt_vrp_search_touch(struct rt_vrp_search *s, uint32_t ti)
{
	struct rt_vrp_tour *t = &s->tours[ti];

	if (s->touched_mark[ti])
		return;
	s->touched_mark[ti] = 1;
	s->touched[s->n_touched++] = ti;
	memcpy(t->snap, t->stop + 1, t->n * sizeof *t->stop);
	t->snap_n = t->n;
}

void
rt_vrp_search_rollback(struct rt_vrp_search *s)
{
	for (size_t i = 0; i < s->n_touched; i++) {
		struct rt_vrp_tour *t = &s->tours[s->touched[i]];
		for (uint32_t p = 1; p <= t->n; p++)
			s->where[t->stop[p]] = RT_VRP_NONE;
	}
	for (size_t i = 0; i < s->n_touched; i++) {
		uint32_t ti = s->touched[i];
		struct rt_vrp_tour *t = &s->tours[ti];
		/* the tour only shrank or grew since the snapshot: snap fits in cap */
		memcpy(t->stop + 1, t->snap, t->snap_n * sizeof *t->stop);
		t->n = t->snap_n;
		rt_vrp_tour_update(s, ti);
		s->touched_mark[ti] = 0;
	}
	memcpy(s->absent, s->absent_snap, s->n_absent_snap * sizeof *s->absent);
	s->n_absent = s->n_absent_snap;
	for (size_t i = 0; i < s->n_absent; i++)
		s->where[s->absent[i]] = RT_VRP_NONE;
	s->n_touched = 0;
}

void
rt_vrp_search_commit(struct rt_vrp_search *s)
{
	for (size_t i = 0; i < s->n_touched; i++)
		s->touched_mark[s->touched[i]] = 0;
	s->n_touched = 0;
}
