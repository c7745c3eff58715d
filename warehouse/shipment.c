/* The shipment lifecycle table (see shipment.h): state names and the legal
 * transitions, one row each. data/sql/shipment_next.sql holds the same rows;
 * tests/integration/test_shipments.py reads both and fails when they differ.
 * Owns no state. */
#include <stddef.h>
#include <string.h>

#include "warehouse/shipment.h"

static const char *const wh_shipment_names[WH_SHIPMENT_STATE_COUNT] = {
	[WH_SHIPMENT_ALLOCATED] = "allocated",
	[WH_SHIPMENT_PICKED] = "picked",
	[WH_SHIPMENT_PACKED] = "packed",
	[WH_SHIPMENT_DEPARTED_WAREHOUSE] = "departed_warehouse",
	[WH_SHIPMENT_ARRIVED_AT_STATION] = "arrived_at_station",
	[WH_SHIPMENT_OUT_FOR_DELIVERY] = "out_for_delivery",
	[WH_SHIPMENT_DELIVERED] = "delivered",
	[WH_SHIPMENT_FAILED] = "failed",
	[WH_SHIPMENT_RESCHEDULED] = "rescheduled",
	[WH_SHIPMENT_RETURNING_TO_WAREHOUSE] = "returning_to_warehouse",
	[WH_SHIPMENT_RETURNED] = "returned",
	[WH_SHIPMENT_CANCELLED] = "cancelled",
};

/* The legal transitions: from, to. */
static const struct {
	enum wh_shipment_state from, to;
} wh_shipment_moves[] = {
	{WH_SHIPMENT_ALLOCATED, WH_SHIPMENT_PICKED},
	{WH_SHIPMENT_ALLOCATED, WH_SHIPMENT_CANCELLED},
	{WH_SHIPMENT_PICKED, WH_SHIPMENT_PACKED},
	{WH_SHIPMENT_PICKED, WH_SHIPMENT_CANCELLED},
	{WH_SHIPMENT_PACKED, WH_SHIPMENT_DEPARTED_WAREHOUSE},
	{WH_SHIPMENT_PACKED, WH_SHIPMENT_CANCELLED},
	{WH_SHIPMENT_DEPARTED_WAREHOUSE, WH_SHIPMENT_ARRIVED_AT_STATION},
	{WH_SHIPMENT_ARRIVED_AT_STATION, WH_SHIPMENT_OUT_FOR_DELIVERY},
	{WH_SHIPMENT_OUT_FOR_DELIVERY, WH_SHIPMENT_DELIVERED},
	{WH_SHIPMENT_OUT_FOR_DELIVERY, WH_SHIPMENT_FAILED},
	{WH_SHIPMENT_FAILED, WH_SHIPMENT_RESCHEDULED},
	{WH_SHIPMENT_FAILED, WH_SHIPMENT_RETURNING_TO_WAREHOUSE},
	{WH_SHIPMENT_RESCHEDULED, WH_SHIPMENT_OUT_FOR_DELIVERY},
	{WH_SHIPMENT_RETURNING_TO_WAREHOUSE, WH_SHIPMENT_RETURNED},
};

/* The states collected_at_point delivers from (data/sql/shipment_next.sql
 * lists the same; test_shipments.py compares them). */
static const enum wh_shipment_state wh_shipment_collect_from[] = {
	WH_SHIPMENT_ARRIVED_AT_STATION,
	WH_SHIPMENT_OUT_FOR_DELIVERY,
};

static bool
wh_shipment_valid(enum wh_shipment_state s)
{
	return (int)s >= 0 && s < WH_SHIPMENT_STATE_COUNT;
}

const char *
wh_shipment_state_name(enum wh_shipment_state s)
{
	return wh_shipment_valid(s) ? wh_shipment_names[s] : NULL;
}

enum wh_status
wh_shipment_state_parse(const char *name, enum wh_shipment_state *out)
{
	if (name == NULL)
		return WH_E_INVAL;
	for (int i = 0; i < WH_SHIPMENT_STATE_COUNT; i++) {
		if (strcmp(name, wh_shipment_names[i]) == 0) {
			*out = (enum wh_shipment_state)i;
			return WH_OK;
		}
	}
	return WH_E_INVAL;
}

enum wh_shipment_step
wh_shipment_next(enum wh_shipment_state from, enum wh_shipment_state event,
		 enum wh_shipment_state *to)
{
	if (!wh_shipment_valid(from) || !wh_shipment_valid(event))
		return WH_SHIPMENT_INVALID;
	if (from == event) {
		if (to != NULL)
			*to = from;
		return WH_SHIPMENT_SAME;
	}
	for (size_t i = 0; i < sizeof wh_shipment_moves / sizeof wh_shipment_moves[0]; i++) {
		if (wh_shipment_moves[i].from == from && wh_shipment_moves[i].to == event) {
			if (to != NULL)
				*to = event;
			return WH_SHIPMENT_MOVED;
		}
	}
	return WH_SHIPMENT_ILLEGAL;
}

enum wh_shipment_step
wh_shipment_collected_at_point(enum wh_shipment_state from, enum wh_shipment_state *to)
{
	if (!wh_shipment_valid(from))
		return WH_SHIPMENT_INVALID;
	if (from == WH_SHIPMENT_DELIVERED) {
		if (to != NULL)
			*to = from;
		return WH_SHIPMENT_SAME;
	}
	size_t n = sizeof wh_shipment_collect_from / sizeof wh_shipment_collect_from[0];
	for (size_t i = 0; i < n; i++) {
		if (wh_shipment_collect_from[i] == from) {
			if (to != NULL)
				*to = WH_SHIPMENT_DELIVERED;
			return WH_SHIPMENT_MOVED;
		}
	}
	return WH_SHIPMENT_ILLEGAL;
}

bool
wh_shipment_scan_allowed(enum wh_shipment_scanner who, enum wh_shipment_state event)
{
	bool by_warehouse = event == WH_SHIPMENT_PICKED || event == WH_SHIPMENT_PACKED ||
			    event == WH_SHIPMENT_DEPARTED_WAREHOUSE;
	bool by_station = event == WH_SHIPMENT_ARRIVED_AT_STATION;
	switch (who) {
	case WH_SHIPMENT_BY_ADMIN:
		return by_warehouse || by_station;
	case WH_SHIPMENT_BY_WAREHOUSE:
		return by_warehouse;
	case WH_SHIPMENT_BY_STATION:
		return by_station;
	}
	return false;
}

bool
wh_shipment_final(enum wh_shipment_state s)
{
	return s == WH_SHIPMENT_DELIVERED || s == WH_SHIPMENT_RETURNED ||
	       s == WH_SHIPMENT_CANCELLED;
}
