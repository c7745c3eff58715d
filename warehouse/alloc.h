/* Warehouse allocation: which warehouse(s) ship an order. Pure policy over a
 * stock snapshot the caller read; the reservation itself (one conditional
 * UPDATE per line) is the daemon's. See docs/warehouse.md for the policy and
 * cost model. No allocation, no pointers kept after a call. */
#ifndef WH_ALLOC_H
#define WH_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/err.h"
#include "warehouse/stock.h"

#define WH_ALLOC_MAX_LINES 64	   /* order lines (distinct SKUs) per order */
#define WH_ALLOC_MAX_CANDIDATES 32 /* warehouses passed in */
#define WH_ALLOC_MAX_SEARCH 8	   /* serving warehouses holding some line: exact search bound */
#define WH_ALLOC_PROMISE_NONE INT64_MAX /* a warehouse that cannot promise at all (ranks last) */

enum wh_alloc_kind {
	WH_ALLOC_REGIONAL = 0, /* RDC: serves every district of its region */
	WH_ALLOC_FRONT	       /* FDC: serves only its listed districts */
};

/* One order line. */
struct wh_alloc_line {
	const char *sku;       /* borrowed, NUL terminated, unique within the order */
	int64_t qty;	       /* units, > 0 */
	int64_t unit_weight_g; /* grams per unit, >= 0 */
	bool large;	       /* large item (appliance): large-item schedule (promise) */
};

/* One candidate warehouse, as the caller knows it for this order. */
struct wh_alloc_warehouse {
	const char *id;			     /* borrowed; unique; ties go to the smaller (strcmp) */
	enum wh_alloc_kind kind;
	const char *region;		     /* borrowed; the region it belongs to ("north") */
	const uint32_t *districts;	     /* FRONT: borrowed GB/T 2260 codes it serves */
	size_t n_districts;
	const struct wh_stock_level *stock;  /* borrowed snapshot; only the order's SKUs needed */
	size_t n_stock;
	int64_t dist_m;			     /* road distance to the customer's station, metres */
	int64_t promise_s;		     /* deliver-by (local s) it can promise for this order,
					      * e.g. wh_promise_via_chain's deliver_by_s; lower is
					      * better; equal values tie; WH_ALLOC_PROMISE_NONE */
};

/* The order as allocation sees it. */
struct wh_alloc_order {
	const struct wh_alloc_line *lines; /* borrowed */
	size_t n_lines;
	const char *region; /* borrowed; customer's region */
	uint32_t district;  /* customer's district (GB/T 2260), from the station lookup */
};

/* Cost model: per shipment, a fixed cost plus distance x weight. Integer milli-units of
 * money: cost = per_shipment_milli + round(dist_m * weight_g * per_tonne_km_milli / 1e9). */
struct wh_alloc_cost {
	int64_t per_shipment_milli; /* >= 0 */
	int64_t per_tonne_km_milli; /* >= 0 */
};

enum wh_alloc_line_status {
	WH_ALLOC_LINE_OK = 0,	   /* assigned to a shipment */
	WH_ALLOC_LINE_NOT_SERVED,  /* no candidate serves the customer's district */
	WH_ALLOC_LINE_NO_STOCK,	   /* no serving warehouse holds the full quantity */
	WH_ALLOC_LINE_UNASSIGNED   /* fine itself; the order failed on another line */
};

struct wh_alloc_line_result {
	enum wh_alloc_line_status status;
	int shipment;		/* index into shipments[], -1 when not assigned */
	int64_t best_available; /* most units of the SKU in one serving warehouse */
};

struct wh_alloc_shipment {
	size_t warehouse; /* index into the caller's candidate array */
	size_t n_lines;
	int64_t weight_g;
	int64_t cost_milli;
	int64_t promise_s; /* the warehouse's promise_s */
	bool large;	   /* carries a large line */
};

/* The allocation. Plain data (fixed arrays): embed it or put it in the request arena. */
struct wh_alloc_result {
	size_t n_shipments; /* 0 when the order cannot be filled */
	struct wh_alloc_shipment shipments[WH_ALLOC_MAX_SEARCH]; /* ordered by warehouse id */
	size_t n_lines;
	struct wh_alloc_line_result lines[WH_ALLOC_MAX_LINES]; /* same order as the input */
	int64_t cost_milli;				       /* sum over shipments */
	int64_t promise_s;				       /* latest shipment promise */
};

/* Defaults for the sample: 4.000 per shipment, 20.000 per tonne-km. */
void wh_alloc_cost_defaults(struct wh_alloc_cost *cost);

/* True when warehouse w may ship to the order's district (territory rule). */
bool wh_alloc_serves(const struct wh_alloc_warehouse *w, const struct wh_alloc_order *order);

/* Chooses the shipments for an order among cands[n_cands]: the fewest shipments; then the
 * best (lowest) promise, the order's promise being its latest shipment's; then the lowest
 * cost; then the smallest warehouse ids. A line ships whole from one warehouse.
 * Returns WH_OK with out filled; WH_E_NO_STOCK (out->lines[] says why, n_shipments 0)
 * when some line cannot be filled; WH_E_INVAL on a bad order or candidate (err names
 * it); WH_E_LIMIT beyond the WH_ALLOC_MAX_* bounds. Safe from any thread. */
enum wh_status wh_alloc_run(const struct wh_alloc_order *order,
			    const struct wh_alloc_warehouse *cands, size_t n_cands,
			    const struct wh_alloc_cost *cost, struct wh_alloc_result *out,
			    struct wh_err *err) WH_MUST_CHECK;

#endif
