/* Order planning: allocation (alloc.h) and promise (promise.h) together, the
 * one call the daemon makes for POST /v1/orders and GET /v1/promise. Each
 * candidate's promise feeds allocation's ranking; the chosen shipments then get
 * the order's promises. alloc.c and promise.c stay independent of each other;
 * only this module knows both. Plain data in and out, nothing allocated. */
#ifndef WH_PLAN_H
#define WH_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/alloc.h"
#include "warehouse/capacity.h"
#include "warehouse/err.h"
#include "warehouse/promise.h"

/* A candidate warehouse with its chain to the customer's station. */
struct wh_plan_candidate {
	struct wh_alloc_warehouse wh; /* wh.promise_s is ignored: computed from chain */
	struct wh_chain chain;	      /* this warehouse -> the customer's station */
};

/* Everything one plan needs; all pointers borrowed for the call only. */
struct wh_plan_input {
	const struct wh_promise_config *cfg;	 /* the region's, already checked */
	const struct wh_station *station;	 /* the customer's station */
	const struct wh_capacity_view *capacity; /* that station's booked counts; NULL = none */
	int64_t now_local_s;			 /* order time on the local timeline */
	const struct wh_alloc_order *order;
	const struct wh_plan_candidate *cands;
	size_t n_cands;
	const struct wh_alloc_cost *cost;
	bool install; /* an installation visit is wanted with the large items */
};

/* The plan. Plain data (fixed arrays): embed it or put it in the request arena. */
struct wh_plan {
	struct wh_alloc_result alloc;
	struct wh_chain_times legs[WH_ALLOC_MAX_SEARCH]; /* per shipment, same index */
	/* Parcels without large items travel on the 211 schedule and are delivered together
	 * in one wave once the last one reaches the station (one stop, one wave counter);
	 * shipments with a large item follow the large-item schedule together. */
	bool has_standard;
	int64_t standard_at_station_s; /* latest arrival of the standard shipments */
	struct wh_promise standard;    /* valid when has_standard */
	bool has_large;
	int64_t large_at_station_s;
	struct wh_promise large; /* valid when has_large */
};

/* Plans an order: each serving candidate's promise (its chain, the station, capacity),
 * then wh_alloc_run, then the promises of the chosen shipments. For precise slots call
 * wh_slot_list / wh_slot_check with out->standard_at_station_s, for large-item dates
 * wh_slot_list_large with out->large_at_station_s.
 * Returns WH_OK; WH_E_NO_STOCK (out->alloc.lines says why); WH_E_NO_CAPACITY (out->alloc
 * is valid, the station has no capacity in the horizon); WH_E_INVAL / WH_E_LIMIT on bad
 * input. Safe from any thread. */
enum wh_status wh_plan_order(const struct wh_plan_input *in, struct wh_plan *out,
			     struct wh_err *err) WH_MUST_CHECK;

#endif
