/* The request bodies of the couriers' handheld API, as pure parsers (no I/O;
 * fuzzed by tests/fuzz/fuzz_handheld_body.c): a batch of pings (POST
 * /v1/couriers/me/locations) and a stop event (POST /v1/stops/{id}/events).
 * Each takes any JSON object and returns either the parsed request or a list
 * of {"field", "message"} errors naming the index and field. */
#ifndef DM_HANDHELD_BODY_H
#define DM_HANDHELD_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/svc/courier_pings.h"

#define DM_HANDHELD_BODY_NOTES_MAX 500   /* bytes of a failure's notes */
#define DM_HANDHELD_BODY_REF_MAX 500     /* bytes of a photo or signature reference */
#define DM_HANDHELD_BODY_PIN_MAX 16      /* bytes of a PIN */
#define DM_HANDHELD_BODY_AT_MAX 40       /* bytes of a ping's time */
#define DM_HANDHELD_BODY_PAYREF_MAX 100  /* bytes of a card or mobile payment reference */
/* The most one collection may record: 1,000,000.00 CNY in fen (as an order's). */
#define DM_HANDHELD_BODY_COLLECT_MAX_FEN INT64_C(100000000)

/* {"pings": [{"at", "lon", "lat", "accuracy_m", "speed"?, "heading"?}, ...]}:
 * 1..DM_COURIER_PINGS_BATCH_MAX pings into out (room for that many), *n
 * set. "at" is RFC 3339 with a Z or numeric offset and an optional fraction
 * (milliseconds kept). Returns 0, or -1 after appending to errors. */
int dm_handheld_body_pings(const json_t *body, struct dm_courier_ping *out, size_t *n,
			   json_t *errors);

/* An RFC 3339 time ("2026-12-01T10:00:00.123Z", "...+08:00") into Unix
 * milliseconds. False when it is not one. */
bool dm_handheld_body_time_ms(const char *text, int64_t *out_ms);

/* The failure reason codes, NULL-terminated (docs/api.md). Static. */
extern const char *const dm_handheld_body_reasons[];

/* The reason codes of a collection below the amount due, NULL-terminated. */
extern const char *const dm_handheld_body_short_reasons[];

/* {"event": "arrived" | "delivered" | "failed" | "picked_up", "reason"?,
 * "notes"?, "proof"?: {"pin"?, "photo_ref"?, "signature_ref"?},
 * "collected"?: {"method": "cash" | "card" | "mobile", "amount": "12.30",
 * "reference"? (required for card and mobile), "short_reason"?}}: checked
 * (a failed event names a reason code; notes are required for "other";
 * reason only with failed; proof and collected only with delivered; an
 * amount is a decimal string, never a JSON number, and is normalised to
 * "amount_fen"; whether it is below the amount due, and so needs a
 * short_reason, is decided in SQL), and returned in
 * its normal form (a new object: the members given, unknown ones refused),
 * which stop_event() stores to tell a replay from another request. NULL
 * after appending to errors. Whether a stop needs which proof is decided
 * in SQL (it depends on the stop). */
json_t *dm_handheld_body_event(const json_t *body, json_t *errors);

#endif
