/* The answer of a field worker's event (a courier's stop event, an
 * engineer's visit event): what stop_event() and service_event() return,
 * mapped to HTTP the same way for both (handheld_answer.c). */
#ifndef DM_API_HANDHELD_ANSWER_H
#define DM_API_HANDHELD_ANSWER_H

#include "daemon/io/http.h"
#include "daemon/io/pg.h"

/* What differs between the two kinds of event: names used in the answers. */
struct dm_api_handheld_answer {
	const char *thing;     /* "stop", "visit": in "the stop is delivered" and the log */
	const char *not_found; /* the 404's detail, e.g. "no such stop on your route" */
};

/* Answer r from reply, a row (r, document, current status, field,
 * message) of an event function: 200 with the document, 409
 * illegal-transition, 422 validation-failed naming the field, 404, 422
 * idempotency-key-reused, or 503 when the query failed. No-op when r is
 * already answered. */
void dm_api_handheld_answer(struct dm_req *r, const struct dm_pg_reply *reply,
			    const struct dm_api_handheld_answer *how);

#endif
