/* One order's plan from the daemon's cached state: the customer's place
 * (geography), the warehouses and stock hints (intake cache), the region's
 * promise settings and the station's booked capacity, handed to the pure
 * wh_plan_order. Shared by POST /v1/orders and GET /v1/promise, so that
 * the promise quoted is the one the order gets. No I/O. */
#ifndef DM_PLAN_H
#define DM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/geo.h"
#include "daemon/intake_cache.h"
#include "warehouse/plan.h"

/* What to plan. */
struct dm_plan_request {
	const struct dm_geo_place *place;        /* the customer's station and warehouses */
	const struct wh_promise_config *cfg;     /* the region's (from the config snapshot) */
	const struct wh_capacity_view *capacity; /* the station's booked counts; NULL: none */
	int64_t now_local_s;                     /* now on the region's local timeline */
	const char *const *skus;                 /* n SKUs (distinct), borrowed */
	const int64_t *qty;                      /* n quantities */
	size_t n;
	bool install;                            /* installation visit with large items */
};

/* The plan and, per shipment, its warehouse id (borrowed from the cache). */
struct dm_plan_result {
	struct wh_plan plan;
	const char *ship_wh[WH_ALLOC_MAX_SEARCH];
};

/* Plan req over the cache's hints. Returns wh_plan_order's status (WH_OK,
 * WH_E_NO_STOCK, WH_E_NO_CAPACITY, WH_E_INVAL, WH_E_LIMIT) with err. */
enum wh_status dm_plan_run(const struct dm_intake_cache *cache, const struct dm_plan_request *req,
			   struct dm_plan_result *out, struct wh_err *err);

#endif
