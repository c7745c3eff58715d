/* Planning from cached state: builds the core's plan input (candidates with
 * their chains and stock hints, lines with weights) and runs it. */
#include <math.h>

#include "daemon/svc/order_planner.h"

/* The warehouses serving the customer's station that the cache knows, each
 * with its stock hints for the order's SKUs. Territory was applied by the
 * geography (the station's district), so every candidate serves the order. */
static size_t
dm_order_planner_candidates(const struct dm_stock_hints *cache, const struct dm_order_planner_request *req,
		   struct wh_plan_candidate *cands,
		   struct wh_stock_level (*levels)[WH_ALLOC_MAX_LINES])
{
	size_t n = 0;
	for (int g = 0; g < req->place->nwarehouses; g++) {
		const struct dm_areas_warehouse *gw = &req->place->warehouses[g];
		long w = dm_stock_hints_wh_find(cache, gw->id);
		if (w < 0 || dm_stock_hints_wh(cache, (size_t)w)->gone)
			continue;
		const struct dm_stock_hints_wh *wh = dm_stock_hints_wh(cache, (size_t)w);
		for (size_t i = 0; i < req->n; i++) {
			const struct dm_stock_hints_sku *e = dm_stock_hints_sku(cache, req->skus[i]);
			levels[n][i] = (struct wh_stock_level){.sku = req->skus[i], .available = 0};
			for (size_t k = 0; e != NULL && k < e->nlevels; k++)
				if (e->levels[k].wh == (size_t)w)
					levels[n][i].available = e->levels[k].available;
		}
		cands[n] = (struct wh_plan_candidate){
			.wh = {.id = wh->id,
			       /* territory is the geography's: each serves here */
			       .kind = WH_ALLOC_REGIONAL,
			       .region = "",
			       .stock = levels[n],
			       .n_stock = req->n,
			       .dist_m = llround(gw->dist_m)},
			.chain = wh->chain,
		};
		n++;
	}
	return n;
}

enum wh_status
dm_order_planner_run(const struct dm_stock_hints *cache, const struct dm_order_planner_request *req,
	    struct dm_order_planner_result *out, struct wh_err *err)
{
	struct wh_plan_candidate cands[DM_AREAS_MAX_SERVING];
	struct wh_stock_level levels[DM_AREAS_MAX_SERVING][WH_ALLOC_MAX_LINES];
	struct wh_alloc_line lines[WH_ALLOC_MAX_LINES];
	struct wh_alloc_cost cost;

	if (req->n > WH_ALLOC_MAX_LINES)
		return wh_err_set(err, WH_E_LIMIT, "at most %d lines", WH_ALLOC_MAX_LINES);
	for (size_t i = 0; i < req->n; i++) {
		const struct dm_stock_hints_sku *e = dm_stock_hints_sku(cache, req->skus[i]);
		lines[i] = (struct wh_alloc_line){.sku = req->skus[i],
						  .qty = req->qty[i],
						  .unit_weight_g = e != NULL ? e->weight_g : 0,
						  .large = e != NULL && e->large};
	}
	size_t nc = dm_order_planner_candidates(cache, req, cands, levels);
	struct wh_alloc_order order = {.lines = lines, .n_lines = req->n, .region = ""};
	struct wh_station station = {.id = req->place->station_id, .offers_slots = true};
	wh_alloc_cost_defaults(&cost);
	struct wh_plan_input in = {
		.cfg = req->cfg,
		.station = &station,
		.capacity = req->capacity,
		.now_local_s = req->now_local_s,
		.order = &order,
		.cands = cands,
		.n_cands = nc,
		.cost = &cost,
		.install = req->install,
	};
	enum wh_status st = wh_plan_order(&in, &out->plan, err);
	if (st == WH_OK || st == WH_E_NO_CAPACITY)
		for (size_t k = 0; k < out->plan.alloc.n_shipments; k++)
			out->ship_wh[k] = cands[out->plan.alloc.shipments[k].warehouse].wh.id;
	return st;
}
