/* One vehicle's tour inside the search: storage, the forward/backward
 * recomputation after a change, and the O(1) insertion evaluation. It owns
 * the tour arrays; the search state (search.c) owns the tours. */
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/search.h"

enum rt_status
rt_vrp_tour_reserve(struct rt_vrp_tour *t, uint32_t need)
{
	uint32_t cap = t->cap ? t->cap : 8;
	void *np;

	if (need + 2 <= t->cap)
		return RT_OK;
	while (cap < need + 2)
		cap *= 2;
#define RT_VRP_TOUR_GROW(field, per)                                                               \
	do {                                                                                       \
		np = realloc(t->field, (size_t)cap * (per) * sizeof *t->field);                    \
		if (np == NULL)                                                                    \
			return RT_E_NOMEM;                                                         \
		t->field = np;                                                                     \
	} while (0)
	RT_VRP_TOUR_GROW(stop, 1);
	RT_VRP_TOUR_GROW(loc, 1);
	RT_VRP_TOUR_GROW(snap, 1);
	RT_VRP_TOUR_GROW(dep, 1);
	RT_VRP_TOUR_GROW(latest, 1);
	RT_VRP_TOUR_GROW(pmax, RT_VRP_DIMS);
	RT_VRP_TOUR_GROW(smax, RT_VRP_DIMS);
#undef RT_VRP_TOUR_GROW
	t->cap = cap;
	return RT_OK;
}

static void
rt_vrp_tour_loads(struct rt_vrp_search *s, struct rt_vrp_tour *t)
{
	const uint32_t n = t->n;

	for (int d = 0; d < RT_VRP_DIMS; d++)
		t->del[d] = 0.0;
	for (uint32_t p = 1; p <= n; p++)
		for (int d = 0; d < RT_VRP_DIMS; d++)
			t->del[d] += s->st[t->stop[p]].del[d];
	for (int d = 0; d < RT_VRP_DIMS; d++) {
		double load = t->del[d];
		t->pmax[d] = load;
		t->smax[d] = load;
		for (uint32_t p = 1; p <= n; p++) {
			const struct rt_vrp_sstop *c = &s->st[t->stop[p]];
			double prev = t->pmax[(p - 1) * RT_VRP_DIMS + d];
			load += c->pick[d] - c->del[d];
			t->smax[p * RT_VRP_DIMS + d] = load;
			t->pmax[p * RT_VRP_DIMS + d] = load > prev ? load : prev;
		}
		t->pmax[(n + 1) * RT_VRP_DIMS + d] = t->pmax[n * RT_VRP_DIMS + d];
		t->smax[(n + 1) * RT_VRP_DIMS + d] = load;
		for (uint32_t p = n + 1; p-- > 0;) {
			double next = t->smax[(p + 1) * RT_VRP_DIMS + d];
			if (next > t->smax[p * RT_VRP_DIMS + d])
				t->smax[p * RT_VRP_DIMS + d] = next;
		}
	}
}

int
rt_vrp_tour_update(struct rt_vrp_search *s, uint32_t ti)
{
	struct rt_vrp_tour *t = &s->tours[ti];
	const struct rt_vrp_vehicle *v = &s->p->vehicles[t->vehicle];
	const uint32_t n = t->n;
	const size_t nl = s->nl;
	int ok = 1;

	t->stop[0] = RT_VRP_NONE;
	t->stop[n + 1] = RT_VRP_NONE;
	t->loc[0] = v->start_loc;
	t->loc[n + 1] = v->end_loc;
	t->dep[0] = t->shift_start;
	t->dist = 0.0;
	for (uint32_t p = 1; p <= n; p++) {
		const struct rt_vrp_sstop *c = &s->st[t->stop[p]];
		size_t e = (size_t)t->loc[p - 1] * nl + c->loc;
		double arr = t->dep[p - 1] + t->T[e];
		double start = arr > c->open ? arr : c->open;

		t->loc[p] = c->loc;
		if (start > c->close)
			ok = 0;
		t->dep[p] = start + c->svc;
		t->dist += t->D[e];
		s->where[t->stop[p]] = ti;
		s->pos[t->stop[p]] = p;
	}
	t->dep[n + 1] = t->dep[n] + t->T[(size_t)t->loc[n] * nl + t->loc[n + 1]];
	t->dist += t->D[(size_t)t->loc[n] * nl + t->loc[n + 1]];
	if (t->dep[n + 1] > t->shift_end)
		ok = 0;
	t->latest[n + 1] = t->shift_end;
	for (uint32_t p = n; p >= 1; p--) {
		const struct rt_vrp_sstop *c = &s->st[t->stop[p]];
		double l = t->latest[p + 1] - t->T[(size_t)t->loc[p] * nl + t->loc[p + 1]] - c->svc;
		t->latest[p] = l < c->close ? l : c->close;
	}
	t->latest[0] = t->latest[1] - t->T[(size_t)t->loc[0] * nl + t->loc[1]];
	rt_vrp_tour_loads(s, t);
	s->work += 2 * (uint64_t)n + 4;
	return ok;
}

int
rt_vrp_tour_feasible(struct rt_vrp_search *s, uint32_t ti)
{
	struct rt_vrp_tour *t = &s->tours[ti];

	if (!rt_vrp_tour_update(s, ti))
		return 0;
	for (int d = 0; d < RT_VRP_DIMS; d++)
		if (t->pmax[t->n * RT_VRP_DIMS + d] > t->capy[d] || t->smax[d] > t->capy[d])
			return 0;
	for (uint32_t p = 1; p <= t->n; p++) {
		uint64_t need = s->st[t->stop[p]].skills;
		if ((need & t->skills) != need)
			return 0;
	}
	return 1;
}

void
rt_vrp_tour_insert(struct rt_vrp_search *s, uint32_t ti, uint32_t c, uint32_t p)
{
	struct rt_vrp_tour *t = &s->tours[ti];

	memmove(&t->stop[p + 2], &t->stop[p + 1], (size_t)(t->n + 1 - p) * sizeof *t->stop);
	t->stop[p + 1] = c;
	t->n++;
	rt_vrp_tour_update(s, ti);
}
