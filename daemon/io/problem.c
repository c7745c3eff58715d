/* The problem table (see problem.h): the one place that decides which HTTP
 * status and `type` each kind of failure gets. Handlers and services name a
 * kind; nothing else maps failures to statuses. */
#include <stddef.h>

#include "daemon/io/problem.h"

#define DM_PROBLEM_URN "urn:dispatchd:problem:"

/* Generic kinds keep the HTTP reason phrase as their title (RFC 9457 3.1.3:
 * the title of about:blank-like types); specific kinds name the problem. */
struct dm_problem_row {
	int status;
	const char *type;
	const char *title;
	int retry_after_s;
};

static const struct dm_problem_row dm_problem_rows[DM_PROBLEM_COUNT] = {
	[DM_PROBLEM_MALFORMED_REQUEST] = {400, DM_PROBLEM_URN "malformed-request", "Bad Request", 0},
	[DM_PROBLEM_UNAUTHORIZED] = {401, DM_PROBLEM_URN "unauthorized", "Unauthorized", 0},
	[DM_PROBLEM_FORBIDDEN] = {403, DM_PROBLEM_URN "forbidden", "Forbidden", 0},
	[DM_PROBLEM_NOT_FOUND] = {404, DM_PROBLEM_URN "not-found", "Not Found", 0},
	[DM_PROBLEM_METHOD_NOT_ALLOWED] = {405, DM_PROBLEM_URN "method-not-allowed",
					   "Method Not Allowed", 0},
	[DM_PROBLEM_BODY_TOO_LARGE] = {413, DM_PROBLEM_URN "body-too-large", "Content Too Large", 0},
	[DM_PROBLEM_VALIDATION_FAILED] = {422, DM_PROBLEM_URN "validation-failed",
					  "Validation failed", 0},
	[DM_PROBLEM_UNKNOWN_SKU] = {422, DM_PROBLEM_URN "unknown-sku", "Unknown SKU", 0},
	[DM_PROBLEM_OUTSIDE_COVERAGE] = {422, DM_PROBLEM_URN "outside-coverage", "Outside coverage",
					 0},
	[DM_PROBLEM_SLOT_NOT_OFFERED] = {422, DM_PROBLEM_URN "slot-not-offered", "Slot not offered",
					 0},
	[DM_PROBLEM_IDEMPOTENCY_KEY_REUSED] = {422, DM_PROBLEM_URN "idempotency-key-reused",
					       "Idempotency key reused", 0},
	[DM_PROBLEM_OUT_OF_STOCK] = {409, DM_PROBLEM_URN "out-of-stock", "Out of stock", 0},
	[DM_PROBLEM_STOCK_CONTENTION] = {409, DM_PROBLEM_URN "stock-contention",
					 "Stock changing too fast", 1},
	[DM_PROBLEM_CAPACITY_EXHAUSTED] = {409, DM_PROBLEM_URN "capacity-exhausted",
					   "Capacity exhausted", 0},
	[DM_PROBLEM_STOCK_RESERVED] = {409, DM_PROBLEM_URN "stock-reserved",
				       "Stock is reserved", 0},
	[DM_PROBLEM_TOO_LATE_TO_CANCEL] = {409, DM_PROBLEM_URN "too-late-to-cancel",
					   "Too late to cancel", 0},
	[DM_PROBLEM_DUPLICATE_EXTERNAL_ID] = {409, DM_PROBLEM_URN "duplicate-external-id",
					      "Duplicate external id", 0},
	[DM_PROBLEM_ALREADY_EXISTS] = {409, DM_PROBLEM_URN "already-exists", "Already exists", 0},
	[DM_PROBLEM_PLAN_RUNNING] = {409, DM_PROBLEM_URN "plan-running", "Plan in progress", 2},
	[DM_PROBLEM_ILLEGAL_TRANSITION] = {409, DM_PROBLEM_URN "illegal-transition",
					   "Illegal transition", 0},
	[DM_PROBLEM_WAVE_TOO_LARGE] = {409, DM_PROBLEM_URN "wave-too-large", "Wave too large", 0},
	[DM_PROBLEM_RETURN_WINDOW_CLOSED] = {422, DM_PROBLEM_URN "return-window-closed",
					     "Return window closed", 0},
	[DM_PROBLEM_PICKUP_POINT_FULL] = {409, DM_PROBLEM_URN "pickup-point-full",
					  "Pickup point full", 0},
	[DM_PROBLEM_PICKUP_POINT_HOLDING] = {409, DM_PROBLEM_URN "pickup-point-holding",
					     "Pickup point holds parcels", 0},
	[DM_PROBLEM_RATE_LIMITED] = {429, DM_PROBLEM_URN "rate-limited", "Too Many Requests", 1},
	[DM_PROBLEM_CLIENT_CLOSED] = {499, DM_PROBLEM_URN "client-closed", "Client Closed Request",
				      0},
	[DM_PROBLEM_INTERNAL] = {500, DM_PROBLEM_URN "internal-error", "Internal Server Error", 0},
	[DM_PROBLEM_BACKEND_UNAVAILABLE] = {503, DM_PROBLEM_URN "backend-unavailable",
					    "Backend unavailable", 1},
	[DM_PROBLEM_BACKEND_TIMEOUT] = {503, DM_PROBLEM_URN "backend-timeout", "Backend timeout", 1},
	[DM_PROBLEM_NOT_READY] = {503, DM_PROBLEM_URN "not-ready", "Not ready", 5},
	[DM_PROBLEM_DRAINING] = {503, DM_PROBLEM_URN "draining", "Shutting down", 1},
	[DM_PROBLEM_OUT_OF_MEMORY] = {503, DM_PROBLEM_URN "out-of-memory", "Out of memory", 1},
};

static const struct dm_problem_row *
dm_problem_row(enum dm_problem kind)
{
	if ((int)kind < 0 || kind >= DM_PROBLEM_COUNT)
		kind = DM_PROBLEM_INTERNAL;
	return &dm_problem_rows[kind];
}

int
dm_problem_status(enum dm_problem kind)
{
	return dm_problem_row(kind)->status;
}

const char *
dm_problem_type(enum dm_problem kind)
{
	return dm_problem_row(kind)->type;
}

const char *
dm_problem_title(enum dm_problem kind)
{
	return dm_problem_row(kind)->title;
}

int
dm_problem_retry_after_s(enum dm_problem kind)
{
	return dm_problem_row(kind)->retry_after_s;
}
