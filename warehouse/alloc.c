/* The allocation policy: territory, stock coverage, and an exact search over
 * the few warehouses that serve a customer. Owns the ranking (shipments,
 * promise, cost, ids) and the cost model. It does not own promises (the
 * caller passes each warehouse's promise_s, usually from promise.c) nor the
 * reservation (the daemon's transaction). Everything is on the stack. */
#include <math.h>
#include <string.h>

#include "warehouse/alloc.h"

/* Candidate state used during one run. */
struct wh_alloc_cand {
	size_t index; /* into the caller's array */
	const struct wh_alloc_warehouse *w;
	uint64_t holds; /* bit i: holds line i in full */
};

struct wh_alloc_choice {
	unsigned mask; /* members, bits over the search array */
	int64_t promise_s;
	int64_t cost_milli;
	int8_t line_member[WH_ALLOC_MAX_LINES]; /* search index shipping each line */
};

void
wh_alloc_cost_defaults(struct wh_alloc_cost *cost)
{
	cost->per_shipment_milli = 4000;
	cost->per_tonne_km_milli = 20000;
}

bool
wh_alloc_serves(const struct wh_alloc_warehouse *w, const struct wh_alloc_order *order)
{
	if (w->kind == WH_ALLOC_REGIONAL)
		return w->region != NULL && order->region != NULL &&
		       strcmp(w->region, order->region) == 0;
	for (size_t i = 0; i < w->n_districts; i++)
		if (w->districts[i] == order->district)
			return true;
	return false;
}

static int64_t
wh_alloc_transport_milli(const struct wh_alloc_cost *cost, int64_t dist_m, int64_t weight_g)
{
	/* Doubles hold the product exactly up to 2^53; llround is deterministic. */
	return llround((double)dist_m * (double)weight_g * (double)cost->per_tonne_km_milli / 1e9);
}

static enum wh_status
wh_alloc_validate(const struct wh_alloc_order *order, const struct wh_alloc_warehouse *cands,
		  size_t n_cands, const struct wh_alloc_cost *cost, struct wh_err *err)
{
	if (order->n_lines == 0 || order->lines == NULL)
		return wh_err_set(err, WH_E_INVAL, "order has no lines");
	if (order->n_lines > WH_ALLOC_MAX_LINES)
		return wh_err_set(err, WH_E_LIMIT, "order has %zu lines, at most %d",
				  order->n_lines, WH_ALLOC_MAX_LINES);
	if (n_cands > WH_ALLOC_MAX_CANDIDATES)
		return wh_err_set(err, WH_E_LIMIT, "%zu candidate warehouses, at most %d", n_cands,
				  WH_ALLOC_MAX_CANDIDATES);
	if (n_cands > 0 && cands == NULL)
		return wh_err_set(err, WH_E_INVAL, "candidates: NULL array");
	if (cost->per_shipment_milli < 0 || cost->per_tonne_km_milli < 0)
		return wh_err_set(err, WH_E_INVAL, "cost model: negative rate");
	for (size_t i = 0; i < order->n_lines; i++) {
		const struct wh_alloc_line *l = &order->lines[i];
		if (l->sku == NULL || l->sku[0] == '\0')
			return wh_err_set(err, WH_E_INVAL, "line %zu: empty sku", i);
		if (l->qty <= 0 || l->qty > INT32_MAX)
			return wh_err_set(err, WH_E_INVAL, "line %zu: qty must be 1..%d", i,
					  INT32_MAX);
		if (l->unit_weight_g < 0 || l->unit_weight_g > 10000000)
			return wh_err_set(err, WH_E_INVAL, "line %zu: unit weight out of range", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(order->lines[j].sku, l->sku) == 0)
				return wh_err_set(err, WH_E_INVAL,
						  "line %zu: sku repeats line %zu (merge lines)", i,
						  j);
	}
	for (size_t i = 0; i < n_cands; i++) {
		const struct wh_alloc_warehouse *w = &cands[i];
		if (w->id == NULL || w->id[0] == '\0')
			return wh_err_set(err, WH_E_INVAL, "candidate %zu: empty id", i);
		if (w->dist_m < 0 || w->dist_m > 10000000)
			return wh_err_set(err, WH_E_INVAL, "candidate %s: distance out of range",
					  w->id);
		if ((w->n_districts > 0 && w->districts == NULL) ||
		    (w->n_stock > 0 && w->stock == NULL))
			return wh_err_set(err, WH_E_INVAL, "candidate %s: NULL array", w->id);
		for (size_t j = 0; j < i; j++)
			if (strcmp(cands[j].id, w->id) == 0)
				return wh_err_set(err, WH_E_INVAL, "candidate %s: duplicate id",
						  w->id);
	}
	return WH_OK;
}

/* Evaluates one subset; false when it leaves a line uncovered or a member unused. */
static bool
wh_alloc_eval(const struct wh_alloc_order *order, const struct wh_alloc_cand *s, size_t m,
	      unsigned mask, const struct wh_alloc_cost *cost, struct wh_alloc_choice *c)
{
	int64_t weight[WH_ALLOC_MAX_SEARCH] = {0};
	unsigned used = 0;

	c->mask = mask;
	c->promise_s = INT64_MIN;
	c->cost_milli = 0;
	for (size_t i = 0; i < order->n_lines; i++) {
		int best = -1;
		for (size_t j = 0; j < m; j++) {
			if (!(mask >> j & 1) || !(s[j].holds >> i & 1))
				continue;
			/* Nearest holder ships the line; s[] is in id order, so ties go to the
			 * smaller id. */
			if (best < 0 || s[j].w->dist_m < s[best].w->dist_m)
				best = (int)j;
		}
		if (best < 0)
			return false;
		c->line_member[i] = (int8_t)best;
		used |= 1u << best;
		weight[best] += order->lines[i].qty * order->lines[i].unit_weight_g;
	}
	if (used != mask)
		return false;
	for (size_t j = 0; j < m; j++) {
		if (!(mask >> j & 1))
			continue;
		if (s[j].w->promise_s > c->promise_s)
			c->promise_s = s[j].w->promise_s;
		c->cost_milli += cost->per_shipment_milli +
				 wh_alloc_transport_milli(cost, s[j].w->dist_m, weight[j]);
	}
	return true;
}

/* True when a ranks before b (same number of shipments). */
static bool
wh_alloc_better(const struct wh_alloc_choice *a, const struct wh_alloc_choice *b)
{
	unsigned x, y;

	if (a->promise_s != b->promise_s)
		return a->promise_s < b->promise_s;
	if (a->cost_milli != b->cost_milli)
		return a->cost_milli < b->cost_milli;
	/* Member lists in id order, compared lexicographically: the lowest differing
	 * member decides, and the set that has it ranks first. */
	x = a->mask ^ b->mask;
	y = x & -x;
	return (a->mask & y) != 0;
}

static void
wh_alloc_fill(const struct wh_alloc_order *order, const struct wh_alloc_cand *s, size_t m,
	      const struct wh_alloc_choice *c, const struct wh_alloc_cost *cost,
	      struct wh_alloc_result *out)
{
	int ship_of[WH_ALLOC_MAX_SEARCH];

	out->n_shipments = 0;
	for (size_t j = 0; j < m; j++) {
		ship_of[j] = -1;
		if (!(c->mask >> j & 1))
			continue;
		ship_of[j] = (int)out->n_shipments;
		memset(&out->shipments[out->n_shipments], 0, sizeof out->shipments[0]);
		out->shipments[out->n_shipments].warehouse = s[j].index;
		out->shipments[out->n_shipments].promise_s = s[j].w->promise_s;
		out->n_shipments++;
	}
	for (size_t i = 0; i < order->n_lines; i++) {
		struct wh_alloc_shipment *sh = &out->shipments[ship_of[c->line_member[i]]];
		out->lines[i].status = WH_ALLOC_LINE_OK;
		out->lines[i].shipment = ship_of[c->line_member[i]];
		sh->n_lines++;
		sh->weight_g += order->lines[i].qty * order->lines[i].unit_weight_g;
		sh->large = sh->large || order->lines[i].large;
	}
	for (size_t j = 0; j < m; j++) {
		struct wh_alloc_shipment *sh;
		if (ship_of[j] < 0)
			continue;
		sh = &out->shipments[ship_of[j]];
		sh->cost_milli = cost->per_shipment_milli +
				 wh_alloc_transport_milli(cost, s[j].w->dist_m, sh->weight_g);
	}
	out->cost_milli = c->cost_milli;
	out->promise_s = c->promise_s;
}

enum wh_status
wh_alloc_run(const struct wh_alloc_order *order, const struct wh_alloc_warehouse *cands,
	     size_t n_cands, const struct wh_alloc_cost *cost, struct wh_alloc_result *out,
	     struct wh_err *err)
{
	struct wh_alloc_cand s[WH_ALLOC_MAX_SEARCH];
	size_t order_idx[WH_ALLOC_MAX_CANDIDATES];
	size_t m = 0, n_serving = 0;
	uint64_t coverable = 0;
	enum wh_status rc;

	memset(out, 0, sizeof *out);
	if ((rc = wh_alloc_validate(order, cands, n_cands, cost, err)) != WH_OK)
		return rc;
	out->n_lines = order->n_lines;
	for (size_t i = 0; i < order->n_lines; i++) {
		out->lines[i].status = WH_ALLOC_LINE_UNASSIGNED;
		out->lines[i].shipment = -1;
	}
	/* Candidates in id order: every later tie-break relies on it. */
	for (size_t i = 0; i < n_cands; i++) {
		size_t j = i;
		for (; j > 0 && strcmp(cands[order_idx[j - 1]].id, cands[i].id) > 0; j--)
			order_idx[j] = order_idx[j - 1];
		order_idx[j] = i;
	}
	for (size_t k = 0; k < n_cands; k++) {
		const struct wh_alloc_warehouse *w = &cands[order_idx[k]];
		uint64_t holds = 0;
		if (!wh_alloc_serves(w, order))
			continue;
		n_serving++;
		for (size_t i = 0; i < order->n_lines; i++) {
			int64_t av = wh_stock_available(w->stock, w->n_stock, order->lines[i].sku);
			if (av > out->lines[i].best_available)
				out->lines[i].best_available = av;
			if (wh_stock_covers(av, order->lines[i].qty))
				holds |= UINT64_C(1) << i;
		}
		if (holds == 0)
			continue; /* never useful: it would ship nothing */
		if (m == WH_ALLOC_MAX_SEARCH)
			return wh_err_set(err, WH_E_LIMIT,
					  "more than %d serving warehouses hold stock; pre-filter "
					  "the candidates",
					  WH_ALLOC_MAX_SEARCH);
		s[m].index = order_idx[k];
		s[m].w = w;
		s[m].holds = holds;
		coverable |= holds;
		m++;
	}
	for (size_t i = 0; i < order->n_lines; i++)
		if (!(coverable >> i & 1))
			out->lines[i].status =
				n_serving == 0 ? WH_ALLOC_LINE_NOT_SERVED : WH_ALLOC_LINE_NO_STOCK;
	for (size_t i = 0; i < order->n_lines; i++)
		if (out->lines[i].status != WH_ALLOC_LINE_UNASSIGNED)
			return wh_err_set(err, WH_E_NO_STOCK, "line %zu (%s): %s", i,
					  order->lines[i].sku,
					  n_serving == 0 ? "no warehouse serves the district"
							 : "not in stock");
	/* Every line is held somewhere, so the set of all m is feasible: search by size. */
	for (unsigned k = 1; k <= m; k++) {
		struct wh_alloc_choice best = {0}, cur = {0};
		bool found = false;
		for (unsigned mask = 1; mask < (1u << m); mask++) {
			if ((unsigned)__builtin_popcount(mask) != k)
				continue;
			if (!wh_alloc_eval(order, s, m, mask, cost, &cur))
				continue;
			if (!found || wh_alloc_better(&cur, &best)) {
				best = cur;
				found = true;
			}
		}
		if (found) {
			wh_alloc_fill(order, s, m, &best, cost, out);
			return WH_OK;
		}
	}
	/* Unreachable: the full set covers every line. */
	return wh_err_set(err, WH_E_INVAL, "allocation search found no cover");
}
