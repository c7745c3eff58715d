/* libFuzzer harness: the pickup points' request parsers
 * (daemon/api/pickup_body.c). The first byte picks the parser: 'c' a
 * point's create body, 'p' its change (PATCH), 'a' a parcel's arrival,
 * anything else a collection; the rest is the body. Each promises to take
 * any object and either accept it or add {field, message} errors, never
 * both. An accepted point's normal form holds only known members within
 * their limits (texts, lon -180..180, lat -90..90, kind point or locker), a
 * create all the required ones, and a locker its three compartment counts
 * whose sum is its capacity (0..100000); an arrival an order id and a
 * size S, M or L or none; a collection an 8-digit code. */
#include "daemon/api/order_body.h"
#include "daemon/api/pickup_body.h"
#include "daemon/base/pickup_code.h"
#include "tests/fuzz/fuzz_common.h"

static void
fuzz_pickup_body_text(const json_t *out, const char *name, size_t max)
{
	const json_t *v = json_object_get(out, name);
	if (v != NULL && (!json_is_string(v) || json_string_length(v) > max))
		__builtin_trap();
}

static void
fuzz_pickup_body_point(const json_t *body, bool create)
{
	static const char *const members[] = {"id",	   "station",	    "name", "address",
					      "lon",	   "lat",	    "opening_hours", "kind",
					      "capacity", "compartments", NULL};
	json_t *errors = json_array(), *out = dm_pickup_body_point(body, create, errors);
	fuzz_common_check_errors(errors, 0, out != NULL);
	if (out != NULL) {
		fuzz_common_known_only(out, members);
		fuzz_pickup_body_text(out, "name", DM_PICKUP_BODY_NAME_MAX);
		fuzz_pickup_body_text(out, "address", DM_PICKUP_BODY_ADDRESS_MAX);
		fuzz_pickup_body_text(out, "opening_hours", DM_PICKUP_BODY_HOURS_MAX);
		const json_t *lon = json_object_get(out, "lon"), *lat = json_object_get(out, "lat");
		if ((lon != NULL && !(json_real_value(lon) >= -180 && json_real_value(lon) <= 180)) ||
		    (lat != NULL && !(json_real_value(lat) >= -90 && json_real_value(lat) <= 90)))
			__builtin_trap();
		if (create && (json_object_get(out, "id") == NULL ||
			       json_object_get(out, "station") == NULL ||
			       json_object_get(out, "name") == NULL || lon == NULL || lat == NULL))
			__builtin_trap();
		const json_t *cap = json_object_get(out, "capacity");
		const json_t *comp = json_object_get(out, "compartments");
		if (cap != NULL && (!json_is_integer(cap) || json_integer_value(cap) < 0 ||
				    json_integer_value(cap) > DM_PICKUP_BODY_CAPACITY_MAX))
			__builtin_trap();
		if (comp != NULL) {
			json_int_t sum = 0;
			for (size_t i = 0; dm_pickup_body_sizes[i] != NULL; i++) {
				const json_t *n = json_object_get(comp, dm_pickup_body_sizes[i]);
				if (!json_is_integer(n) || json_integer_value(n) < 0)
					__builtin_trap();
				sum += json_integer_value(n);
			}
			if (json_object_size(comp) != 3 || cap == NULL || json_integer_value(cap) != sum)
				__builtin_trap();
		}
		const char *kind = json_string_value(json_object_get(out, "kind"));
		if ((kind != NULL && strcmp(kind, "locker") == 0 && comp == NULL) ||
		    (kind != NULL && strcmp(kind, "point") == 0 && comp != NULL) ||
		    (create && (kind == NULL || strcmp(kind, "point") == 0) && cap == NULL))
			__builtin_trap();
	}
	json_decref(out);
	json_decref(errors);
}

static void
fuzz_pickup_body_check(uint8_t which, const json_t *body)
{
	json_t *errors = json_array();
	if (which == 'c' || which == 'p') {
		fuzz_pickup_body_point(body, which == 'c');
	} else if (which == 'a') {
		const char *sz = NULL;
		const char *order = dm_pickup_body_arrival(body, &sz, errors);
		fuzz_common_check_errors(errors, 0, order != NULL);
		if (order != NULL && (!dm_order_body_valid_id(order) ||
				      (sz != NULL && strcmp(sz, "S") != 0 && strcmp(sz, "M") != 0 &&
				       strcmp(sz, "L") != 0)))
			__builtin_trap();
	} else {
		const char *code = dm_pickup_body_collection(body, errors);
		fuzz_common_check_errors(errors, 0, code != NULL);
		if (code != NULL && (strlen(code) != DM_PICKUP_CODE_DIGITS ||
				     strspn(code, "0123456789") != DM_PICKUP_CODE_DIGITS))
			__builtin_trap();
	}
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_common_one(data, size, fuzz_pickup_body_check);
}
