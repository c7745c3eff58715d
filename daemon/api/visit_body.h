/* The request body of an engineer's visit event (POST
 * /v1/services/{id}/events, docs/api.md "Service visits"), as a pure parser
 * (no I/O; fuzzed by tests/fuzz/fuzz_visit_body.c). It takes any JSON object
 * and returns either the event in its normal form or a list of
 * {"field", "message"} errors naming the member (charges[i].code, ...).
 * Whether a charge is on the appointment's price list, within its price and
 * its max_qty is decided in SQL (data/sql/service_event.sql): the list is
 * the appointment's snapshot. */
#ifndef DM_VISIT_BODY_H
#define DM_VISIT_BODY_H

#include <jansson.h>

#define DM_VISIT_BODY_NOTES_MAX 500    /* bytes of notes */
#define DM_VISIT_BODY_CODE_MAX 64      /* bytes of a charge's code */
#define DM_VISIT_BODY_CHARGES_MAX 20   /* charges of one visit */
#define DM_VISIT_BODY_QTY_MAX 1000     /* a charge's quantity (the list's max_qty is lower) */

/* The failure reason codes of a visit, NULL-terminated (docs/api.md). Static. */
extern const char *const dm_visit_body_reasons[];

/* {"event": "arrived" | "started" | "completed" | "failed", "charges"?: [{"code",
 * "qty", "unit_price"?}], "reason"?, "notes"?}: checked (charges only with
 * completed, each code at most once, qty an integer 1..1000, unit_price a
 * decimal string such as "15.00": a JSON number is refused; failed names a
 * reason code, notes required for other), and returned in its normal form
 * (a new object): {"event", "charges": [{"code", "qty", "unit_price"?}]
 * (completed only, [] when none; prices written with two decimals, "15.00"),
 * "reason"?, "notes"?}, which parses again to itself and which
 * service_event() stores to tell a replay from another request. NULL after
 * appending to errors. */
json_t *dm_visit_body_event(const json_t *body, json_t *errors);

#endif
