/* The kinds of problem the API answers (RFC 9457 application/problem+json):
 * one table gives each its HTTP status, its `type` URI and its title, so
 * clients branch on `type`, never on `detail` text. docs/api.md lists them
 * (test_http_api checks the list against this table's output). Pure. */
#ifndef DM_PROBLEM_H
#define DM_PROBLEM_H

enum dm_problem {
	DM_PROBLEM_MALFORMED_REQUEST,      /* 400: JSON, query string or target unparsable */
	DM_PROBLEM_UNAUTHORIZED,           /* 401: no valid bearer token (WWW-Authenticate: Bearer) */
	DM_PROBLEM_FORBIDDEN,              /* 403: the token's role may never call this endpoint */
	DM_PROBLEM_NOT_FOUND,              /* 404: no such resource (or id) */
	DM_PROBLEM_METHOD_NOT_ALLOWED,     /* 405: Allow lists the methods */
	DM_PROBLEM_BODY_TOO_LARGE,         /* 413 */
	DM_PROBLEM_VALIDATION_FAILED,      /* 422: `errors` lists each bad field */
	DM_PROBLEM_UNKNOWN_SKU,            /* 422: an order or promise names SKUs not in the catalogue */
	DM_PROBLEM_OUTSIDE_COVERAGE,       /* 422: no delivery station serves the point */
	DM_PROBLEM_SLOT_NOT_OFFERED,       /* 422: the chosen slot is not offered for this order */
	DM_PROBLEM_IDEMPOTENCY_KEY_REUSED, /* 422: same key, different request */
	DM_PROBLEM_OUT_OF_STOCK,           /* 409: no stock serving this address can fill it */
	DM_PROBLEM_STOCK_CONTENTION,       /* 409: stock changed too fast; retry */
	DM_PROBLEM_CAPACITY_EXHAUSTED,     /* 409: no delivery capacity left (`next_slots`) */
	DM_PROBLEM_STOCK_RESERVED,         /* 409: on_hand cannot go below what is reserved */
	DM_PROBLEM_TOO_LATE_TO_CANCEL,     /* 409: a shipment has left its warehouse */
	DM_PROBLEM_DUPLICATE_EXTERNAL_ID,  /* 409: external_id belongs to another order */
	DM_PROBLEM_ALREADY_EXISTS,         /* 409: a create names an id that is taken (a courier) */
	DM_PROBLEM_WAVE_TOO_LARGE,         /* 409: more orders in the wave than the planner takes */
	DM_PROBLEM_PLAN_RUNNING,           /* 409: the wave is being planned now (running_plan) */
	DM_PROBLEM_ILLEGAL_TRANSITION,     /* 409: a scan not allowed from the shipment's state,
					    * or a stop event from the stop's (`current_status`
					    * names it) */
	DM_PROBLEM_RETURN_WINDOW_CLOSED,   /* 422: a return or exchange after its window
					    * (window_days, delivered_at name it) */
	DM_PROBLEM_PICKUP_POINT_FULL,      /* 409: the pickup point (or its compartments of the
					    * parcel's size) holds as many parcels as it can */
	DM_PROBLEM_PICKUP_POINT_HOLDING,   /* 409: a change would leave the point's held parcels
					    * without a place (`held` names them) */
	DM_PROBLEM_RATE_LIMITED,           /* 429: over the caller's rate limit (Retry-After) */
	DM_PROBLEM_CLIENT_CLOSED,          /* 499: the client left first (metrics only, never sent) */
	DM_PROBLEM_INTERNAL,               /* 500: a bug or an unexpected backend answer */
	DM_PROBLEM_BACKEND_UNAVAILABLE,    /* 503: PostgreSQL or Redis down or failing */
	DM_PROBLEM_BACKEND_TIMEOUT,        /* 503: request_timeout_ms passed */
	DM_PROBLEM_NOT_READY,              /* 503: areas not loaded, schema not migrated */
	DM_PROBLEM_DRAINING,               /* 503: the daemon is shutting down */
	DM_PROBLEM_OUT_OF_MEMORY,          /* 503 */
	DM_PROBLEM_COUNT
};

/* The HTTP status of kind (500 for an out-of-range kind). */
int dm_problem_status(enum dm_problem kind);

/* The `type` URI of kind, e.g. "urn:dispatchd:problem:out-of-stock". Static. */
const char *dm_problem_type(enum dm_problem kind);

/* The short human title of kind, e.g. "Out of stock". Static. */
const char *dm_problem_title(enum dm_problem kind);

/* Seconds a client should wait before retrying kind (the Retry-After
 * header), or 0 when retrying the same request cannot help. */
int dm_problem_retry_after_s(enum dm_problem kind);

#endif
