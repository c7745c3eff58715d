/* libFuzzer harness: the couriers' and engineers' request parsers
 * (daemon/api/courier_body.c). The first byte picks the parser: 'c' a
 * courier's POST body, 'e' an engineer's, 'p' a courier's PATCH, 'q' an
 * engineer's, 's' a shifts body, 'd' a duty body, anything else a date
 * (the rest of the input as text). Each promises to take any object and
 * either accept it or add {field, message} errors, never both. Accepted
 * fields hold only known members (a create: id, name, phone, vehicle) and
 * parse again to themselves; accepted shifts are days 1..7 with start before
 * end and no two on the same day overlapping, overrides real dates; a duty
 * reason is at most 200 bytes; a date is 2000-01-01..2999-12-31. */
#include <stdlib.h>

#include "daemon/api/courier_body.h"
#include "tests/fuzz/fuzz_common.h"

static void
fuzz_courier_body_fields(const json_t *body, bool create, bool engineer)
{
	static const char *const known[] = {"id",     "name",	  "phone",	    "vehicle",
					    "skills", "active", "daily_capacity", "provider", NULL};
	json_t *errors = json_array();
	json_t *out = dm_api_courier_body_fields(body, create, engineer, errors);
	fuzz_common_check_errors(errors, 0, out != NULL);
	if (out != NULL) {
		fuzz_common_known_only(out, known);
		if (create && (json_object_get(out, "id") == NULL ||
			       json_object_get(out, "name") == NULL ||
			       json_object_get(out, "phone") == NULL ||
			       !json_is_string(json_object_get(out, "vehicle"))))
			__builtin_trap();
		json_t *errors2 = json_array();
		json_t *again = dm_api_courier_body_fields(out, create, engineer, errors2);
		if (again == NULL || !json_equal(again, out))
			__builtin_trap();
		json_decref(again);
		json_decref(errors2);
	}
	json_decref(out);
	json_decref(errors);
}

/* Two shifts of one day (weekly dow or override date) overlap. */
static bool
fuzz_courier_body_overlap(const json_t *a, const json_t *b)
{
	const char *as = json_string_value(json_object_get(a, "start"));
	const char *ae = json_string_value(json_object_get(a, "end"));
	const char *bs = json_string_value(json_object_get(b, "start"));
	const char *be = json_string_value(json_object_get(b, "end"));
	if (as == NULL || bs == NULL) /* a day off overlaps anything on its date */
		return true;
	return strcmp(as, be) < 0 && strcmp(bs, ae) < 0;
}

static void
fuzz_courier_body_check_days(const json_t *list, const char *day)
{
	size_t i, j;
	json_t *a, *b;
	json_array_foreach(list, i, a)
	{
		const json_t *d = json_object_get(a, day);
		const char *s = json_string_value(json_object_get(a, "start"));
		const char *e = json_string_value(json_object_get(a, "end"));
		int days;
		if (json_is_integer(d) ? json_integer_value(d) < 1 || json_integer_value(d) > 7
				       : !dm_api_courier_body_date(json_string_value(d), &days))
			__builtin_trap();
		if ((s == NULL) != (e == NULL) || (s != NULL && strcmp(s, e) >= 0))
			__builtin_trap();
		for (j = 0; j < i; j++) {
			b = json_array_get(list, j);
			if (json_equal(json_object_get(b, day), d) && fuzz_courier_body_overlap(a, b))
				__builtin_trap();
		}
	}
}

static void
fuzz_courier_body_date(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	int days = -1;
	if (dm_api_courier_body_date(s, &days) &&
	    (strlen(s) != 10 || days < 10957 || days > 376199)) /* 2000-01-01, 2999-12-31 */
		__builtin_trap();
	free(s);
}

static void
fuzz_courier_body_check(uint8_t which, const json_t *body)
{
	json_t *errors = json_array();
	if (which == 's') {
		json_t *weekly = NULL, *dates = NULL;
		int rc = dm_api_courier_body_shifts(body, &weekly, &dates, errors);
		fuzz_common_check_errors(errors, 0, rc == 0);
		if (rc == 0) {
			fuzz_courier_body_check_days(weekly, "dow");
			fuzz_courier_body_check_days(dates, "date");
		}
		json_decref(weekly);
		json_decref(dates);
	} else if (which == 'd') {
		bool on_shift;
		const char *reason = NULL;
		int rc = dm_api_courier_body_duty(body, &on_shift, &reason, errors);
		fuzz_common_check_errors(errors, 0, rc == 0);
		if (rc == 0 && (reason == NULL || strlen(reason) > DM_API_COURIER_BODY_REASON_MAX))
			__builtin_trap();
	} else {
		fuzz_courier_body_fields(body, which == 'c' || which == 'e',
					 which == 'e' || which == 'q');
	}
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && (data[0] == '\0' || strchr("cepqsd", data[0]) == NULL)) {
		fuzz_courier_body_date(data + 1, size - 1);
		return 0;
	}
	return fuzz_common_one(data, size, fuzz_courier_body_check);
}
