/* The shipment lifecycle: the states a parcel moves through from its
 * warehouse to the customer (or back), and the one transition table saying
 * which scan or outcome may move it from one state to the next.
 *
 *   allocated -> picked -> packed -> departed_warehouse -> arrived_at_station
 *     -> out_for_delivery -> delivered
 *                          | failed -> rescheduled -> out_for_delivery (the next wave)
 *                                    | returning_to_warehouse -> returned
 *   allocated | picked | packed -> cancelled
 *   arrived_at_station | out_for_delivery -> delivered, by collected_at_point only
 *
 * Cancelling is allowed until the parcel leaves its warehouse (before
 * departed_warehouse): after that it is on a truck and only a failed delivery
 * sends it back. delivered, returned and cancelled are final.
 *
 * An event is named after the state it moves the shipment to ("picked" moves
 * it to picked), but one: collected_at_point, the customer collecting the
 * parcel at a pickup point (issue 13), delivers it from where a parcel at a
 * point is: out for delivery (a courier handed it to the point) or arrived at
 * the station (the station's own shelf; it never went out). PostgreSQL
 * holds the same table (data/sql/shipment_next.sql) and is the authority,
 * because it decides under the shipment's row lock;
 * this core lets the daemon refuse unknown events and events a role may never
 * scan before any round trip, and names the states for the API. Pure. */
#ifndef WH_SHIPMENT_H
#define WH_SHIPMENT_H

#include <stdbool.h>

#include "warehouse/err.h"

enum wh_shipment_state {
	WH_SHIPMENT_ALLOCATED = 0,
	WH_SHIPMENT_PICKED,
	WH_SHIPMENT_PACKED,
	WH_SHIPMENT_DEPARTED_WAREHOUSE,
	WH_SHIPMENT_ARRIVED_AT_STATION,
	WH_SHIPMENT_OUT_FOR_DELIVERY,
	WH_SHIPMENT_DELIVERED,
	WH_SHIPMENT_FAILED,
	WH_SHIPMENT_RESCHEDULED,
	WH_SHIPMENT_RETURNING_TO_WAREHOUSE,
	WH_SHIPMENT_RETURNED,
	WH_SHIPMENT_CANCELLED,
	WH_SHIPMENT_STATE_COUNT
};

/* What applying an event to a state gives. */
enum wh_shipment_step {
	WH_SHIPMENT_MOVED = 0, /* a legal transition: *out is the new state */
	WH_SHIPMENT_SAME,      /* the shipment is already in that state: idempotent, no new event */
	WH_SHIPMENT_ILLEGAL,   /* not allowed from this state (409 naming the state) */
	WH_SHIPMENT_INVALID,   /* a state or event out of range */
};

/* Who scans (the API's scanning roles). */
enum wh_shipment_scanner {
	WH_SHIPMENT_BY_ADMIN = 0,
	WH_SHIPMENT_BY_WAREHOUSE, /* picked, packed, departed_warehouse */
	WH_SHIPMENT_BY_STATION,   /* arrived_at_station */
};

/* The state's name as in the API and the database ("departed_warehouse"),
 * or NULL when out of range. Static. */
const char *wh_shipment_state_name(enum wh_shipment_state s);

/* Parse a state (or event) name, exact and lower case. Returns WH_OK or
 * WH_E_INVAL (*out untouched). */
enum wh_status wh_shipment_state_parse(const char *name,
				       enum wh_shipment_state *out) WH_MUST_CHECK;

/* Apply event (named after its target state) to a shipment in state from.
 * On WH_SHIPMENT_MOVED and WH_SHIPMENT_SAME *to (may be NULL) is the state
 * after it; otherwise *to is untouched. */
enum wh_shipment_step wh_shipment_next(enum wh_shipment_state from, enum wh_shipment_state event,
				       enum wh_shipment_state *to) WH_MUST_CHECK;

/* True when event is a scan the API takes (picked, packed,
 * departed_warehouse, arrived_at_station) and who may post it. */
bool wh_shipment_scan_allowed(enum wh_shipment_scanner who, enum wh_shipment_state event);

/* The collected_at_point event from state from: WH_SHIPMENT_MOVED with *to
 * (may be NULL) delivered from arrived_at_station or out_for_delivery,
 * WH_SHIPMENT_SAME from delivered, WH_SHIPMENT_ILLEGAL from any other state,
 * WH_SHIPMENT_INVALID out of range. */
enum wh_shipment_step wh_shipment_collected_at_point(enum wh_shipment_state from,
						     enum wh_shipment_state *to) WH_MUST_CHECK;

/* True when no transition leaves s (delivered, returned, cancelled). */
bool wh_shipment_final(enum wh_shipment_state s);

#endif
