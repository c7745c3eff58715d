/* One order's plan from the daemon's cached state: the customer's place
 * (geography), the warehouses and stock hints (intake cache), the region's
 * promise settings and the station's booked capacity, handed to the pure
 * wh_plan_order. Shared by POST /v1/orders and GET /v1/promise, so that
 * the promise quoted is the one the order gets. No I/O. */
#ifndef DM_ORDER_PLANNER_H
#define DM_ORDER_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/svc/areas.h"
#include "daemon/svc/stock_hints.h"
#include "warehouse/plan.h"

/* What to plan. */
struct dm_order_planner_request {
	const struct dm_areas_place *place;        /* the customer's station and warehouses */
	const struct wh_promise_config *cfg;     /* the region's (from the config snapshot) */
	const struct wh_capacity_view *capacity; /* the station's booked counts; NULL: none */
	int64_t now_local_s;                     /* now on the region's local timeline */
	const char *const *skus;                 /* n SKUs (distinct), borrowed */
	const int64_t *qty;                      /* n quantities */
	size_t n;
	bool install;                            /* installation visit with large items */
};

/* The plan and, per shipment, its warehouse id (borrowed from the cache). */
struct dm_order_planner_result {
	struct wh_plan plan;
	const char *ship_wh[WH_ALLOC_MAX_SEARCH];
};

/* Plan req over the cache's hints. Returns wh_plan_order's status (WH_OK,
 * WH_E_NO_STOCK, WH_E_NO_CAPACITY, WH_E_INVAL, WH_E_LIMIT) with err. */
enum wh_status dm_order_planner_run(const struct dm_stock_hints *cache, const struct dm_order_planner_request *req,
			   struct dm_order_planner_result *out, struct wh_err *err);

#endif
