/* Order planning glue. Owns the order of operations between allocation and
 * promise: candidate promises for the ranking, then the promises of the chosen
 * shipments. Owns no policy of its own beyond that; alloc.c and promise.c do. */
#include <string.h>

#include "warehouse/plan.h"

static bool
wh_plan_has_large(const struct wh_alloc_order *order)
{
	for (size_t i = 0; i < order->n_lines; i++)
		if (order->lines[i].large)
			return true;
	return false;
}

enum wh_status
wh_plan_order(const struct wh_plan_input *in, struct wh_plan *out, struct wh_err *err)
{
	struct wh_alloc_warehouse whs[WH_ALLOC_MAX_CANDIDATES];
	bool large = wh_plan_has_large(in->order);
	enum wh_status rc;

	memset(out, 0, sizeof *out);
	if (in->n_cands > WH_ALLOC_MAX_CANDIDATES)
		return wh_err_set(err, WH_E_LIMIT, "%zu candidate warehouses, at most %d",
				  in->n_cands, WH_ALLOC_MAX_CANDIDATES);
	if (in->n_cands > 0 && in->cands == NULL)
		return wh_err_set(err, WH_E_INVAL, "candidates: NULL array");
	for (size_t i = 0; i < in->n_cands; i++) {
		struct wh_promise p;
		struct wh_err perr;
		whs[i] = in->cands[i].wh;
		whs[i].promise_s = WH_ALLOC_PROMISE_NONE;
		if ((rc = wh_promise_chain_check(&in->cands[i].chain, err)) != WH_OK)
			return rc;
		if (!wh_alloc_serves(&whs[i], in->order))
			continue;
		/* The whole order on this warehouse's chain: large if any line is. */
		if (wh_promise_via_chain(in->cfg, in->station, &in->cands[i].chain,
					 in->now_local_s, in->capacity, large, in->install, &p,
					 NULL, &perr) == WH_OK)
			whs[i].promise_s = p.deliver_by_s;
	}
	if ((rc = wh_alloc_run(in->order, whs, in->n_cands, in->cost, &out->alloc, err)) != WH_OK)
		return rc;
	for (size_t k = 0; k < out->alloc.n_shipments; k++) {
		const struct wh_alloc_shipment *sh = &out->alloc.shipments[k];
		int64_t at;
		wh_promise_chain_times(&in->cands[sh->warehouse].chain, in->now_local_s,
				       &out->legs[k]);
		at = out->legs[k].at_station_s;
		if (sh->large) {
			if (!out->has_large || at > out->large_at_station_s)
				out->large_at_station_s = at;
			out->has_large = true;
		} else {
			if (!out->has_standard || at > out->standard_at_station_s)
				out->standard_at_station_s = at;
			out->has_standard = true;
		}
	}
	if (out->has_standard &&
	    (rc = wh_promise_at_station(in->cfg, in->station, in->now_local_s,
					out->standard_at_station_s, in->capacity, false, false,
					&out->standard, err)) != WH_OK)
		return rc;
	if (out->has_large &&
	    (rc = wh_promise_at_station(in->cfg, in->station, in->now_local_s,
					out->large_at_station_s, in->capacity, true, in->install,
					&out->large, err)) != WH_OK)
		return rc;
	return WH_OK;
}
