/* The request bodies of the warehouse side, as pure parsers (no I/O, no
 * clock; fuzzed by tests/fuzz/fuzz_warehouse_body.c): a stock count (PUT
 * /v1/warehouses/{id}/stock/{sku}, api/stock.c) and shipment scans, one
 * (POST /v1/shipments/{order}/{seq}/events) or a batch (POST
 * /v1/shipments/events, api/shipments.c). Each problem is one
 * {"field", "message"} entry of an errors array. */
#ifndef DM_WAREHOUSE_BODY_H
#define DM_WAREHOUSE_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define DM_WAREHOUSE_BODY_ON_HAND_MAX 1000000000
#define DM_WAREHOUSE_BODY_REASON_MAX 200 /* bytes of a stock count's reason */
#define DM_WAREHOUSE_BODY_BATCH_MAX 500  /* scans of one batch */
#define DM_WAREHOUSE_BODY_PLACE_MAX 200  /* bytes of a scan's place */
#define DM_WAREHOUSE_BODY_KEY_MAX 255    /* bytes of a batch scan's key */
#define DM_WAREHOUSE_BODY_AT_MAX 40      /* bytes of a scan's time as given */
#define DM_WAREHOUSE_BODY_UTC_LEN 24     /* "2026-11-23T01:00:00Z" and its NUL */

/* {"on_hand": 0..DM_WAREHOUSE_BODY_ON_HAND_MAX, "reason"?: at most 200
 * bytes} into *on_hand and *reason (borrowed from body; "" when absent).
 * Returns 0; or -3 after appending one error per unknown member; else, after
 * appending one error (the first problem), -1 for on_hand, -2 for reason. */
int dm_warehouse_body_stock(const json_t *body, int64_t *on_hand, const char **reason,
			    json_t *errors);

/* One scan, checked: event and place borrowed from the body, at in UTC. */
struct dm_warehouse_body_scan {
	const char *event; /* picked, packed, departed_warehouse, arrived_at_station */
	const char *place; /* "" when absent */
	char at[DM_WAREHOUSE_BODY_UTC_LEN]; /* "2026-11-23T01:00:00Z"; now_s when absent */
};

/* An RFC 3339 time ("...Z" or a numeric offset; a fraction of a second is
 * dropped) into out as UTC "YYYY-MM-DDTHH:MM:SSZ" (years 1..9999). False
 * when it is not one. */
bool dm_warehouse_body_at(const char *text, char out[DM_WAREHOUSE_BODY_UTC_LEN]);

/* A single scan's body {"event", "at"?, "place"?} (unknown members
 * refused) into s; a missing at is now_s (Unix seconds: the daemon's clock).
 * Returns 0, or -1 after appending errors. */
int dm_warehouse_body_scan(const json_t *body, int64_t now_s, struct dm_warehouse_body_scan *s,
			   json_t *errors);

/* A batch {"scans": [{"order", "seq", "event", "key", "at"?, "place"?}, ...]}
 * (1..500 scans, unknown members refused, fields named scans[i].event):
 * returns the scans in their normal form, a new array of {"order", "seq",
 * "event", "key", "place", "at"} (at in UTC, now_s when absent), what
 * shipment_scan_batch() takes; or NULL after appending errors. */
json_t *dm_warehouse_body_batch(const json_t *body, int64_t now_s, json_t *errors);

#endif
