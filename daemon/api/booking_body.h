/* The request parts of the service bookings of an order (api/order_services.c,
 * issue 12 part P2): the slot query, the booking, reschedule and cancel
 * bodies, checked into plain data with one {"field", "message"} per
 * problem, and [services] windows as the JSON the SQL functions take.
 * Pure: jansson and the config struct only. */
#ifndef DM_BOOKING_BODY_H
#define DM_BOOKING_BODY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/cfg.h"

#define DM_BOOKING_BODY_REASON_MAX 200 /* bytes of a cancellation's reason */
#define DM_BOOKING_BODY_TIME_LEN 24    /* "2030-01-09T01:00:00Z" and its NUL */

/* A booking (or what a reschedule changes), checked. */
struct dm_booking_body {
	char type[CFG_NAME_MAX];                     /* installation, repair, ... */
	int line;                                    /* the order line, 1.. */
	char window_start[DM_BOOKING_BODY_TIME_LEN]; /* UTC: "2030-01-09T01:00:00Z" */
	bool with_delivery;
	bool with_delivery_given; /* the body named with_delivery (a PATCH without it keeps it) */
};

/* An RFC 3339 time with its offset ("...Z" or "+08:00"; no fraction) as
 * UTC into out. False when text is not one. */
bool dm_booking_body_time(const char *text, char out[DM_BOOKING_BODY_TIME_LEN]);

/* GET .../service-slots?type=T&line=N[&with_delivery=true|false]: the query
 * values (NULL when absent) into out->type, line, with_delivery. Returns 0,
 * or -1 with errors appended (fields type, line, with_delivery). */
int dm_booking_body_slots_query(const char *type, const char *line, const char *with_delivery,
				struct dm_booking_body *out, json_t *errors);

/* POST .../services: {"type", "line", "window_start", "with_delivery"?}
 * (unknown members refused). Returns 0 or -1 with errors appended. */
int dm_booking_body_booking(const json_t *body, struct dm_booking_body *out, json_t *errors);

/* PATCH .../services/{appointment}: {"window_start", "with_delivery"?}
 * into out->window_start and with_delivery. Returns 0 or -1 with errors. */
int dm_booking_body_reschedule(const json_t *body, struct dm_booking_body *out, json_t *errors);

/* DELETE .../services/{appointment} with a body: {"reason"?} (at most
 * DM_BOOKING_BODY_REASON_MAX bytes). *reason is borrowed from body ("" when
 * absent). Returns 0 or -1 with errors appended. */
int dm_booking_body_cancel(const json_t *body, const char **reason, json_t *errors);

/* A checked booking in its normal form {"type", "line", "window_start"
 * (UTC), "with_delivery"}: what an Idempotency-Key's replay compares. New
 * reference, NULL when out of memory. */
json_t *dm_booking_body_request(const struct dm_booking_body *b);

/* [services] windows as [{"start_s", "end_s", "count", "weekdays"}] (the
 * SQL function service_windows's argument). New reference. */
json_t *dm_booking_body_windows(const struct cfg_windows *w);

#endif
