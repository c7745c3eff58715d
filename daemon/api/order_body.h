/* An order as POST /v1/orders receives it: validation of the request into
 * plain data, and the two documents made from a planned order (the 201
 * body, replayed byte for byte for the same idempotency key, and the entry
 * intake_commit() stores). No I/O; used on the loop by api/orders.c. */
#ifndef DM_ORDER_BODY_H
#define DM_ORDER_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/svc/areas.h"
#include "daemon/svc/stock_hints.h"
#include "warehouse/alloc.h"
#include "warehouse/plan.h"
#include "warehouse/slot.h"

#define DM_ORDER_BODY_KEY_MAX 255       /* Idempotency-Key bytes */
#define DM_ORDER_BODY_QTY_MAX 100000    /* units per line */
#define DM_INTAKE_REASON_MAX 200    /* cancel reason bytes */

/* The recipient's members, in characters (UTF-8 code points). */
#define DM_ORDER_BODY_NAME_MAX 200
#define DM_ORDER_BODY_PHONE_MAX 40
#define DM_ORDER_BODY_ADDRESS_MAX 500
#define DM_ORDER_BODY_NOTES_MAX 500
/* A phone number's digits: 5 (a short extension) to 20. */
#define DM_ORDER_BODY_PHONE_DIGITS_MIN 5
#define DM_ORDER_BODY_PHONE_DIGITS_MAX 20

/* The most a cash-on-delivery order may ask: 1,000,000.00 CNY, in fen. */
#define DM_ORDER_BODY_COD_MAX_FEN INT64_C(100000000)

/* "TRK" and 16 upper-case hex digits (64 random bits), and its NUL. */
#define DM_ORDER_BODY_TRACKING_LEN 20

struct dm_order_body_line {
	char sku[DM_INTAKE_ID_MAX];
	int64_t qty; /* units, 1..DM_ORDER_BODY_QTY_MAX */
};

struct dm_order_body {
	char key[DM_ORDER_BODY_KEY_MAX + 1];
	char *canon;                 /* owned: the body as compact JSON with sorted keys */
	char ext[DM_INTAKE_ID_MAX];  /* the shop's order id */
	bool has_loc;
	double lon, lat;             /* WGS84 degrees, rounded to 1e-7 */
	char station[DM_AREAS_ID_MAX]; /* "" unless given */
	char option[16];             /* delivery option: "standard", "slot" or "pickup" */
	char pickup_point[DM_INTAKE_ID_MAX]; /* option "pickup": the point's id, else "" */
	bool has_slot;               /* option "slot": the precise window chosen */
	int64_t slot_utc_s;          /* its start, UTC seconds since the epoch */
	bool install;                /* an installation visit with the large items */
	json_t *recipient;           /* owned: {name[, phone, address, notes]} as
				      * entered, or NULL when the body has none */
	char pay_method[8];          /* "cod", "prepaid", or "" (no payment member) */
	int64_t cod_fen;             /* "cod": the amount to collect, in fen (CNY) */
	size_t nlines;
	struct dm_order_body_line lines[WH_ALLOC_MAX_LINES];
	const char *skus[WH_ALLOC_MAX_LINES]; /* lines[i].sku, for cache calls */
};

/* What planning decided about an order; all borrowed. */
struct dm_order_body_alloc {
	const char *id;          /* the new order id */
	const char *created_at;  /* RFC 3339 UTC with milliseconds */
	const struct dm_areas_place *place;
	const struct wh_plan *plan;
	const char *ship_wh[WH_ALLOC_MAX_SEARCH]; /* warehouse id of each shipment */
	int32_t utc_offset_s;    /* of the region's local time */
	const struct wh_capacity_counter *cap; /* the station counters it books */
	size_t ncap;
	const struct wh_slot_offer *slot; /* the precise slot booked, or NULL */
	const char *tracking_code; /* the public tracking code (dm_order_body_new_tracking_code) */
	const char *client_id;   /* the placing token's id ("tok_..."), or NULL */
};

/* Fill o from the Idempotency-Key header (NULL when absent) and the JSON
 * body. Returns NULL when valid, else a JSON array of {"field","message"},
 * one per problem (the caller owns it). Call dm_order_body_fini after. */
json_t *dm_order_body_parse(struct dm_order_body *o, const char *key, const json_t *body);

/* Release what o owns. */
void dm_order_body_fini(struct dm_order_body *o);

/* The 201 body and the intake_commit() entry of a planned order, as
 * malloc'd strings the caller frees. Returns 0, or -1 when out of memory. */
int dm_order_body_build(const struct dm_order_body *o, const struct dm_order_body_alloc *a,
			  char **resp, char **entry);

/* The intake_commit() entry that only looks the key up (order not placed). */
char *dm_order_body_check_entry(const struct dm_order_body *o, const char *id);

/* A new order id: "ord_" and 26 Crockford base32 characters (48 bits of
 * milliseconds, 80 random bits), sortable by time. out must hold 31 bytes. */
void dm_order_body_new_id(int64_t now_ms, char *out);

/* A new public tracking code: "TRK" and 16 upper-case hex digits from the
 * kernel's random source (64 bits: not guessable, unlike the order id,
 * which is sortable by time). out must hold DM_ORDER_BODY_TRACKING_LEN
 * bytes. Returns 0, or -1 when no random bytes could be had (the caller
 * answers 503: a code from a weaker source would be guessable). */
int dm_order_body_new_tracking_code(char *out);

/* True when s is a tracking code's shape ("TRK" and 16 of 0-9 A-F). */
bool dm_order_body_valid_tracking_code(const char *s);

/* now_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ"; out must hold 32 bytes. */
void dm_order_body_format_utc(int64_t now_ms, char *out);

/* True when s is 1..63 bytes of [A-Za-z0-9_.:/-] (SKUs, order and warehouse ids). */
bool dm_order_body_valid_id(const char *s);

#endif
