/* libFuzzer harness: the handheld's body parsers (daemon/api/handheld_body.c).
 * The first byte picks the parser (even: a batch of pings, odd: a stop
 * event), the rest is the body, decoded as dm_req_body_json decodes a
 * request (jansson, duplicate keys refused, a JSON object only). Each parser
 * promises to take any object and return either a valid request or a
 * non-empty list of {field, message} errors, never both, never crash or
 * leak. Valid pings keep the schema's ranges; a valid event's normal form
 * parses again to itself (it is what stop_event() compares replays with). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/handheld_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Errors are a non-empty array of {"field": string, "message": string}. */
static void
fuzz_handheld_body_check_errors(const json_t *errors)
{
	size_t i;
	json_t *e;
	if (!json_is_array(errors) || json_array_size(errors) == 0)
		__builtin_trap();
	json_array_foreach(errors, i, e)
	{
		if (json_string_value(json_object_get(e, "field")) == NULL ||
		    json_string_value(json_object_get(e, "message")) == NULL)
			__builtin_trap();
	}
}

static void
fuzz_handheld_body_pings(const json_t *body)
{
	struct dm_courier_ping pings[DM_COURIER_PINGS_BATCH_MAX];
	size_t n = 12345;
	json_t *errors = json_array();
	int rc = dm_handheld_body_pings(body, pings, &n, errors);
	if (rc != 0) {
		fuzz_handheld_body_check_errors(errors);
		if (n != 0)
			__builtin_trap();
	} else {
		if (json_array_size(errors) != 0 || n < 1 || n > DM_COURIER_PINGS_BATCH_MAX)
			__builtin_trap();
		for (size_t i = 0; i < n; i++) {
			const struct dm_courier_ping *p = &pings[i];
			if (!(p->lon >= -180 && p->lon <= 180) ||
			    !(p->lat >= -90 && p->lat <= 90) || !(p->acc_m >= 0) ||
			    !isfinite(p->acc_m))
				__builtin_trap();
			if (p->has_speed && !(p->speed_mps >= 0 && p->speed_mps <= 100))
				__builtin_trap();
			if (p->has_heading && !(p->heading_deg >= 0 && p->heading_deg <= 360))
				__builtin_trap();
		}
	}
	json_decref(errors);
}

static void
fuzz_handheld_body_event(const json_t *body)
{
	json_t *errors = json_array();
	json_t *ev = dm_handheld_body_event(body, errors);
	if (ev == NULL) {
		fuzz_handheld_body_check_errors(errors);
		json_decref(errors);
		return;
	}
	if (json_array_size(errors) != 0)
		__builtin_trap();
	const char *name = json_string_value(json_object_get(ev, "event"));
	if (name == NULL)
		__builtin_trap();
	bool failed = strcmp(name, "failed") == 0;
	if (failed != (json_object_get(ev, "reason") != NULL))
		__builtin_trap();
	/* A collection's normal form holds the amount in fen (amount_fen, an
	 * integer of at least 1: nothing collected is no delivery), not the
	 * decimal string of the body. */
	const json_t *coll = json_object_get(ev, "collected");
	if (coll != NULL) {
		const json_t *fen = json_object_get(coll, "amount_fen");
		if (!json_is_integer(fen) || json_integer_value(fen) < 1 ||
		    json_object_get(coll, "amount") != NULL ||
		    !json_is_string(json_object_get(coll, "method")))
			__builtin_trap();
	} else {
		/* Without one the normal form is a fixed point. */
		json_t *errors2 = json_array();
		json_t *again = dm_handheld_body_event(ev, errors2);
		if (again == NULL || !json_equal(again, ev))
			__builtin_trap();
		json_decref(again);
		json_decref(errors2);
	}
	json_decref(ev);
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool pings = (data[0] & 1) == 0;
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
	if (body != NULL && json_is_object(body)) {
		if (pings)
			fuzz_handheld_body_pings(body);
		else
			fuzz_handheld_body_event(body);
	}
	json_decref(body);
	return 0;
}
