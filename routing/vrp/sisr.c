/* Slack Induction by String Removals (Christiaens & Vanden Berghe 2020):
 * the ruin step removes a few strings of consecutive stops from tours near a
 * random seed stop; the recreate step reinserts the removed stops one by one
 * at their cheapest feasible position, skipping each candidate position with
 * a small "blink" probability. Owns no memory: it edits the search state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "routing/vrp/search.h"

/* Average number of stops removed per ruin (the paper's c-bar). */
#define RT_VRP_SISR_AVG_REMOVED 10.0
/* Longest string removed from one tour (L_max). */
#define RT_VRP_SISR_MAX_STRING 10.0
/* Probability of the plain string removal versus the split string. */
#define RT_VRP_SISR_SPLIT_RATE 0.5
/* Stop probability when growing the preserved part of a split string. */
#define RT_VRP_SISR_SPLIT_DEPTH 0.01

static void
rt_vrp_sisr_remove(struct rt_vrp_search *s, uint32_t ti, uint32_t from, uint32_t len,
		   uint32_t keep_at, uint32_t keep_len)
{
	struct rt_vrp_tour *t = &s->tours[ti];
	uint32_t w = from;

	rt_vrp_search_touch(s, ti);
	for (uint32_t p = from; p < from + len; p++) {
		uint32_t c = t->stop[p];
		if (p >= keep_at && p < keep_at + keep_len) {
			t->stop[w++] = c;
			continue;
		}
		s->where[c] = RT_VRP_NONE;
		s->absent[s->n_absent++] = c;
	}
	memmove(&t->stop[w], &t->stop[from + len],
		(size_t)(t->n + 2 - from - len) * sizeof *t->stop);
	t->n -= from + len - w;
}

/* A tour whose times broke after a removal (possible only when the matrix
 * violates the triangle inequality): drop movable stops from the end until
 * it is feasible again. */
static void
rt_vrp_sisr_repair(struct rt_vrp_search *s, uint32_t ti)
{
	struct rt_vrp_tour *t = &s->tours[ti];

	while (!rt_vrp_tour_update(s, ti) && t->n > t->n_fixed)
		rt_vrp_sisr_remove(s, ti, t->n, 1, 0, 0);
}

static uint32_t
rt_vrp_sisr_string_start(struct rt_vrp_search *s, const struct rt_vrp_tour *t, uint32_t pc,
			 uint32_t len)
{
	uint32_t lo = t->n_fixed + 1, hi = t->n - len + 1;

	if (pc + 1 > lo + len)
		lo = pc + 1 - len;
	if (pc < hi)
		hi = pc;
	return lo + rt_vrp_search_below(s, hi - lo + 1);
}

static void
rt_vrp_sisr_ruin_tour(struct rt_vrp_search *s, uint32_t ti, uint32_t c, double ls_max)
{
	struct rt_vrp_tour *t = &s->tours[ti];
	uint32_t movable = t->n - t->n_fixed;
	double lmax = movable < ls_max ? movable : ls_max;
	uint32_t len = 1 + (uint32_t)floor(rt_vrp_search_unif(s) * lmax);
	uint32_t pc = s->pos[c];

	if (len > movable)
		len = movable;
	if (len == movable || len + 1 > movable || rt_vrp_search_unif(s) < RT_VRP_SISR_SPLIT_RATE) {
		uint32_t from = rt_vrp_sisr_string_start(s, t, pc, len);
		rt_vrp_sisr_remove(s, ti, from, len, 0, 0);
	} else {
		uint32_t keep = 1, from;
		while (len + keep < movable && rt_vrp_search_unif(s) >= RT_VRP_SISR_SPLIT_DEPTH)
			keep++;
		from = rt_vrp_sisr_string_start(s, t, pc, len + keep);
		rt_vrp_sisr_remove(s, ti, from, len + keep, from + rt_vrp_search_below(s, len + 1),
				   keep);
	}
	rt_vrp_sisr_repair(s, ti);
}

void
rt_vrp_sisr_ruin(struct rt_vrp_search *s)
{
	size_t used = 0, stops = 0, ruined = 0;
	double ls_max, ks_max;
	uint32_t seed, ks;

	for (size_t v = 0; v < s->nv; v++)
		if (s->tours[v].n > s->tours[v].n_fixed) {
			used++;
			stops += s->tours[v].n - s->tours[v].n_fixed;
		}
	if (used == 0)
		return;
	ls_max = (double)stops / (double)used;
	if (ls_max > RT_VRP_SISR_MAX_STRING)
		ls_max = RT_VRP_SISR_MAX_STRING;
	ks_max = 4.0 * RT_VRP_SISR_AVG_REMOVED / (1.0 + ls_max) - 1.0;
	ks = 1 + (uint32_t)floor(rt_vrp_search_unif(s) * ks_max);
	do /* a seed among the movable stops */
		seed = rt_vrp_search_below(s, (uint32_t)s->n);
	while (s->where[seed] == RT_VRP_NONE || s->pos[seed] <= s->tours[s->where[seed]].n_fixed);
	for (size_t k = 0; k < s->n_adj && ruined < ks; k++) {
		uint32_t c = s->adj[(size_t)seed * s->n_adj + k];
		uint32_t ti = s->where[c];
		if (ti == RT_VRP_NONE || s->touched_mark[ti] || s->pos[c] <= s->tours[ti].n_fixed)
			continue;
		rt_vrp_sisr_ruin_tour(s, ti, c, ls_max);
		ruined++;
	}
	s->work += 4 * (uint64_t)s->n_adj;
}

/* Orders of reinsertion (the paper's random / demand / far / close, plus
 * two time-window orders for VRPTW), with their selection weights. */
enum rt_vrp_sisr_order {
	RT_VRP_SISR_RANDOM,
	RT_VRP_SISR_DEMAND,
	RT_VRP_SISR_FAR,
	RT_VRP_SISR_CLOSE,
	RT_VRP_SISR_TW_WIDTH,
	RT_VRP_SISR_TW_CLOSE,
	RT_VRP_SISR_N_ORDERS,
};

static const double rt_vrp_sisr_order_weight[RT_VRP_SISR_N_ORDERS] = {4, 4, 2, 1, 2, 2};

struct rt_vrp_sisr_key {
	double k;
	uint32_t c;
};

static int
rt_vrp_sisr_key_cmp(const void *a, const void *b)
{
	const struct rt_vrp_sisr_key *x = a, *y = b;

	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return x->c < y->c ? -1 : x->c > y->c;
}

static double
rt_vrp_sisr_key(const struct rt_vrp_search *s, enum rt_vrp_sisr_order o, uint32_t c)
{
	const struct rt_vrp_sstop *cs = &s->st[c];
	const struct rt_vrp_vehicle *v0 = &s->p->vehicles[0];
	double d0 = s->D0[(size_t)v0->start_loc * s->nl + cs->loc];

	switch (o) {
	case RT_VRP_SISR_DEMAND:
		return -(cs->del[0] + cs->pick[0] + cs->del[1] + cs->pick[1]);
	case RT_VRP_SISR_FAR:
		return -d0;
	case RT_VRP_SISR_CLOSE:
		return d0;
	case RT_VRP_SISR_TW_WIDTH:
		return cs->close - cs->open;
	case RT_VRP_SISR_TW_CLOSE:
		return cs->close;
	default:
		return 0.0;
	}
}

static void
rt_vrp_sisr_sort(struct rt_vrp_search *s, struct rt_vrp_sisr_key *keys)
{
	double total = 0.0, u;
	int o = 0;

	for (int i = 0; i < RT_VRP_SISR_N_ORDERS; i++)
		total += rt_vrp_sisr_order_weight[i];
	u = rt_vrp_search_unif(s) * total;
	while (o < RT_VRP_SISR_N_ORDERS - 1 && u >= rt_vrp_sisr_order_weight[o])
		u -= rt_vrp_sisr_order_weight[o++];
	if (o == RT_VRP_SISR_RANDOM || s->nv == 0) {
		for (size_t i = s->n_absent; i > 1; i--) {
			uint32_t j = rt_vrp_search_below(s, (uint32_t)i);
			uint32_t tmp = s->absent[i - 1];
			s->absent[i - 1] = s->absent[j];
			s->absent[j] = tmp;
		}
		return;
	}
	for (size_t i = 0; i < s->n_absent; i++) {
		keys[i].c = s->absent[i];
		keys[i].k = rt_vrp_sisr_key(s, (enum rt_vrp_sisr_order)o, s->absent[i]);
	}
	qsort(keys, s->n_absent, sizeof *keys, rt_vrp_sisr_key_cmp);
	for (size_t i = 0; i < s->n_absent; i++)
		s->absent[i] = keys[i].c;
}

/* Positions to evaluate before the next blink: geometric with parameter
 * blink, so one random draw serves about 1/blink positions. */
static uint64_t
rt_vrp_sisr_blink_gap(struct rt_vrp_search *s, double blink)
{
	double u = 1.0 - rt_vrp_search_unif(s); /* (0, 1] */

	if (blink <= 0.0)
		return UINT64_MAX;
	return (uint64_t)floor(log(u) / log1p(-blink));
}

/* Cheapest feasible insertion of c over all tours; *bt = RT_VRP_NONE if none.
 * *gap counts down to the next blinked (skipped) position. */
static void
rt_vrp_sisr_best(struct rt_vrp_search *s, uint32_t c, double blink, uint64_t *gap, uint32_t *bt,
		 uint32_t *bp, unsigned char *class_seen)
{
	const struct rt_vrp_sstop *cs = &s->st[c];
	const size_t nl = s->nl;
	size_t used = rt_vrp_search_used(s);
	double best = INFINITY;
	uint64_t evals = 0;

	*bt = RT_VRP_NONE;
	for (size_t ti = 0; ti < s->nv; ti++) {
		const struct rt_vrp_tour *t = &s->tours[ti];
		int fits = (cs->skills & t->skills) == cs->skills;

		for (int d = 0; d < RT_VRP_DIMS; d++)
			fits &= t->del[d] + cs->del[d] <= t->capy[d];
		if (!fits)
			continue;
		if (t->n == 0) {
			if (used >= s->max_used || class_seen[t->vclass])
				continue;
			class_seen[t->vclass] = 1;
		}
		for (uint32_t p = t->n_fixed; p <= t->n; p++) {
			double d;
			if (t->dep[p] + t->T[(size_t)t->loc[p] * nl + cs->loc] > cs->close)
				break; /* later positions are later still */
			evals++;
			if (*gap == 0) {
				*gap = rt_vrp_sisr_blink_gap(s, blink);
				continue;
			}
			(*gap)--;
			d = rt_vrp_tour_insert_delta(s, t, c, p, best);
			if (d < best) {
				best = d;
				*bt = (uint32_t)ti;
				*bp = p;
			}
		}
	}
	for (size_t ti = 0; ti < s->nv; ti++)
		class_seen[s->tours[ti].vclass] = 0;
	s->work += evals + s->nv;
}

enum rt_status
rt_vrp_sisr_recreate(struct rt_vrp_search *s, double blink)
{
	struct rt_vrp_sisr_key *keys = malloc((s->n_absent + 1) * sizeof *keys);
	unsigned char *class_seen = calloc(s->nv + 1, 1);
	size_t keep = 0;
	uint64_t gap = rt_vrp_sisr_blink_gap(s, blink);
	enum rt_status st = RT_OK;

	if (keys == NULL || class_seen == NULL) {
		st = RT_E_NOMEM;
		goto out;
	}
	rt_vrp_sisr_sort(s, keys);
	for (size_t i = 0; i < s->n_absent; i++) {
		uint32_t c = s->absent[i], bt, bp = 0;
		rt_vrp_sisr_best(s, c, blink, &gap, &bt, &bp, class_seen);
		if (bt == RT_VRP_NONE) {
			s->absent[keep++] = c;
			continue;
		}
		if (rt_vrp_tour_reserve(&s->tours[bt], s->tours[bt].n + 1) != RT_OK) {
			st = RT_E_NOMEM;
			for (size_t j = i; j < s->n_absent; j++)
				s->absent[keep++] = s->absent[j];
			break;
		}
		rt_vrp_search_touch(s, bt);
		rt_vrp_tour_insert(s, bt, c, bp);
	}
	s->n_absent = keep;
out:
	free(keys);
	free(class_seen);
	return st;
}
