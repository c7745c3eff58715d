/* libFuzzer harness: the service bookings' request parsers
 * (daemon/api/booking_body.c). The first byte picks the parser: 'b' the
 * booking body (POST .../services), 'r' the reschedule body (PATCH), 'c'
 * the cancellation body (DELETE), anything else the slots query (the rest
 * is type, line and with_delivery, '\n'-separated, a missing one absent).
 * Each promises to take any input and either accept it or add {field,
 * message} errors, never both. An accepted booking has a service type name,
 * a line in 1..32767 and a window start in UTC, and its normal form (what a
 * replay of its Idempotency-Key compares) parses again to itself; a
 * reason is at most 200 bytes. */
#include <stdlib.h>

#include "daemon/api/booking_body.h"
#include "tests/fuzz/fuzz_common.h"

static void
fuzz_booking_body_check_one(const struct dm_booking_body *b, bool booking)
{
	char again[DM_BOOKING_BODY_TIME_LEN];
	if (!fuzz_common_utc(b->window_start) || !dm_booking_body_time(b->window_start, again) ||
	    strcmp(again, b->window_start) != 0)
		__builtin_trap();
	if (!booking)
		return;
	if (b->type[0] == '\0' || strspn(b->type, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
				      strlen(b->type) || b->line < 1 || b->line > 32767)
		__builtin_trap();
	json_t *req = dm_booking_body_request(b), *errors = json_array();
	struct dm_booking_body b2;
	if (req == NULL || dm_booking_body_booking(req, &b2, errors) != 0)
		__builtin_trap();
	json_t *req2 = dm_booking_body_request(&b2);
	if (!json_equal(req, req2) || !b2.with_delivery_given)
		__builtin_trap();
	json_decref(req2);
	json_decref(req);
	json_decref(errors);
}

static void
fuzz_booking_body_query(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *part[3] = {NULL, NULL, NULL};
	memcpy(text, data, size);
	text[size] = '\0';
	char *p = text;
	for (int i = 0; i < 3 && p != NULL; i++) {
		part[i] = p;
		p = strchr(p, '\n');
		if (p != NULL)
			*p++ = '\0';
	}
	struct dm_booking_body b;
	json_t *errors = json_array();
	int rc = dm_booking_body_slots_query(part[0], part[1], part[2], &b, errors);
	fuzz_common_check_errors(errors, 0, rc == 0);
	if (rc == 0 && (b.line < 1 || b.line > 32767 || strcmp(b.type, part[0]) != 0))
		__builtin_trap();
	json_decref(errors);
	free(text);
}

static void
fuzz_booking_body_check(uint8_t which, const json_t *body)
{
	json_t *errors = json_array();
	struct dm_booking_body b;
	if (which == 'c') {
		const char *reason = NULL;
		int rc = dm_booking_body_cancel(body, &reason, errors);
		fuzz_common_check_errors(errors, 0, rc == 0);
		if (reason == NULL || (rc == 0 && strlen(reason) > DM_BOOKING_BODY_REASON_MAX))
			__builtin_trap();
	} else {
		int rc = which == 'b' ? dm_booking_body_booking(body, &b, errors)
				      : dm_booking_body_reschedule(body, &b, errors);
		fuzz_common_check_errors(errors, 0, rc == 0);
		if (rc == 0)
			fuzz_booking_body_check_one(&b, which == 'b');
	}
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] != 'b' && data[0] != 'r' && data[0] != 'c') {
		fuzz_booking_body_query(data + 1, size - 1);
		return 0;
	}
	return fuzz_common_one(data, size, fuzz_booking_body_check);
}
