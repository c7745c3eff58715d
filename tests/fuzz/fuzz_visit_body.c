/* libFuzzer harness: the engineers' visit event body parser
 * (daemon/api/visit_body.c). The input is the body, decoded as
 * dm_req_body_json decodes a request (jansson, duplicate keys refused, a
 * JSON object only). The parser promises to take any object and return
 * either a valid event or a non-empty list of {field, message} errors,
 * never both, never crash or leak. A valid event has charges exactly when
 * it is completed (each with a code, a qty 1..1000 and a price with two
 * decimals when given), a reason exactly when it failed, and its normal
 * form parses again to itself (it is what service_event() compares replays
 * with). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/visit_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_visit_body_check_errors(const json_t *errors)
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
fuzz_visit_body_check_event(const json_t *ev)
{
	const char *name = json_string_value(json_object_get(ev, "event"));
	if (name == NULL)
		__builtin_trap();
	bool completed = strcmp(name, "completed") == 0;
	bool failed = strcmp(name, "failed") == 0;
	const json_t *charges = json_object_get(ev, "charges");
	bool has_reason = json_object_get(ev, "reason") != NULL;
	if (completed != json_is_array(charges) || failed != has_reason)
		__builtin_trap();
	size_t i;
	json_t *c;
	json_array_foreach(charges, i, c)
	{
		json_int_t qty = json_integer_value(json_object_get(c, "qty"));
		const char *price = json_string_value(json_object_get(c, "unit_price"));
		if (json_string_value(json_object_get(c, "code")) == NULL || qty < 1 ||
		    qty > DM_VISIT_BODY_QTY_MAX)
			__builtin_trap();
		if (json_object_get(c, "unit_price") != NULL &&
		    (price == NULL || strlen(price) < 4 || price[strlen(price) - 3] != '.'))
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (body != NULL && json_is_object(body)) {
		json_t *errors = json_array();
		json_t *ev = dm_visit_body_event(body, errors);
		if (ev == NULL) {
			fuzz_visit_body_check_errors(errors);
		} else {
			if (json_array_size(errors) != 0)
				__builtin_trap();
			fuzz_visit_body_check_event(ev);
			json_t *errors2 = json_array();
			json_t *again = dm_visit_body_event(ev, errors2);
			if (again == NULL || !json_equal(again, ev))
				__builtin_trap();
			json_decref(again);
			json_decref(errors2);
		}
		json_decref(ev);
		json_decref(errors);
	}
	json_decref(body);
	return 0;
}
