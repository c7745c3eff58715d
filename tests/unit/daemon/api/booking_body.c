/* Unit tests for daemon/api/booking_body.c: the service bookings' slot
 * query, booking, reschedule and cancel bodies (the fields a 422 names,
 * times normalised to UTC, unknown members refused), the normal form an
 * Idempotency-Key compares, and [services] windows as JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/api/booking_body.h"

/* The fields of errors, comma-separated, into buf. */
static const char *
fields_of(const json_t *errors, char *buf, size_t cap)
{
	size_t i, n = 0;
	json_t *e;
	buf[0] = '\0';
	json_array_foreach(errors, i, e)
	{
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i > 0 ? "," : "",
				      json_string_value(json_object_get(e, "field")));
	}
	return buf;
}

static void
booking_times(void **state)
{
	char out[DM_BOOKING_BODY_TIME_LEN];
	(void)state;
	assert_true(dm_booking_body_time("2030-01-09T09:00:00+08:00", out));
	assert_string_equal(out, "2030-01-09T01:00:00Z");
	assert_true(dm_booking_body_time("2030-01-09T01:00:00Z", out));
	assert_string_equal(out, "2030-01-09T01:00:00Z");
	assert_true(dm_booking_body_time("2030-01-08T20:00:00-05:00", out));
	assert_string_equal(out, "2030-01-09T01:00:00Z");
	/* Four-digit years (found by the fuzzer: %Y wrote "519-01-10..."). */
	assert_true(dm_booking_body_time("0519-01-10T01:00:00Z", out));
	assert_string_equal(out, "0519-01-10T01:00:00Z");
	assert_true(dm_booking_body_time("9999-12-31T23:00:00Z", out));
	assert_string_equal(out, "9999-12-31T23:00:00Z");
	assert_false(dm_booking_body_time("0000-01-01T00:00:00+01:00", out)); /* year -1 */
	assert_false(dm_booking_body_time("9999-12-31T23:00:00-05:00", out)); /* year 10000 */
	const char *bad[] = {NULL, "", "2030-01-09", "2030-01-09T09:00:00", "2030-01-09 09:00:00Z",
			     "2030-02-30T09:00:00Z", "2030-01-09T09:00:00+0800",
			     "2030-01-09T09:00:00Zjunk", "2030-01-09T09:00:00.5Z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(dm_booking_body_time(bad[i], out));
}

static void
booking_slots_query(void **state)
{
	struct dm_booking_body q;
	char buf[128];
	(void)state;
	json_t *errors = json_array();
	assert_int_equal(dm_booking_body_slots_query("installation", "2", NULL, &q, errors), 0);
	assert_string_equal(q.type, "installation");
	assert_int_equal(q.line, 2);
	assert_false(q.with_delivery);
	assert_int_equal(dm_booking_body_slots_query("repair", "1", "true", &q, errors), 0);
	assert_true(q.with_delivery);
	assert_int_equal(json_array_size(errors), 0);
	assert_int_equal(dm_booking_body_slots_query(NULL, "0", "yes", &q, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf), "type,line,with_delivery");
	json_array_clear(errors);
	assert_int_equal(dm_booking_body_slots_query("Install", "1x", NULL, &q, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf), "type,line");
	json_array_clear(errors);
	assert_int_equal(dm_booking_body_slots_query("a", "32768", NULL, &q, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf), "line");
	json_decref(errors);
}

static void
booking_body(void **state)
{
	struct dm_booking_body b;
	char buf[128];
	(void)state;
	json_t *errors = json_array();
	json_t *body = json_loads("{\"type\": \"installation\", \"line\": 1, \"window_start\": "
				  "\"2030-01-09T09:00:00+08:00\", \"with_delivery\": true}",
				  0, NULL);
	assert_int_equal(dm_booking_body_booking(body, &b, errors), 0);
	assert_string_equal(b.type, "installation");
	assert_int_equal(b.line, 1);
	assert_string_equal(b.window_start, "2030-01-09T01:00:00Z");
	assert_true(b.with_delivery);
	/* The normal form: the same booking written otherwise compares equal. */
	json_t *req = dm_booking_body_request(&b);
	json_t *want = json_loads("{\"type\": \"installation\", \"line\": 1, \"window_start\": "
				  "\"2030-01-09T01:00:00Z\", \"with_delivery\": true}",
				  0, NULL);
	assert_true(json_equal(req, want));
	json_decref(req);
	json_decref(want);
	json_decref(body);
	body = json_loads("{\"type\": 3, \"line\": 1.5, \"window_start\": \"soon\", "
			  "\"with_delivery\": \"no\", \"colour\": \"blue\"}",
			  0, NULL);
	assert_int_equal(dm_booking_body_booking(body, &b, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf),
			    "colour,type,line,window_start,with_delivery");
	json_decref(body);
	json_array_clear(errors);
	body = json_loads("{}", 0, NULL);
	assert_int_equal(dm_booking_body_booking(body, &b, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf), "type,line,window_start");
	json_decref(body);
	json_decref(errors);
}

static void
booking_reschedule_and_cancel(void **state)
{
	struct dm_booking_body b;
	const char *reason = NULL;
	char buf[128], long_reason[260];
	(void)state;
	json_t *errors = json_array();
	json_t *body = json_loads("{\"window_start\": \"2030-01-10T14:00:00+08:00\"}", 0, NULL);
	assert_int_equal(dm_booking_body_reschedule(body, &b, errors), 0);
	assert_string_equal(b.window_start, "2030-01-10T06:00:00Z");
	assert_false(b.with_delivery);
	json_decref(body);
	body = json_loads("{\"type\": \"repair\"}", 0, NULL);
	assert_int_equal(dm_booking_body_reschedule(body, &b, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf), "type,window_start");
	json_decref(body);
	json_array_clear(errors);
	body = json_loads("{\"reason\": \"moved house\"}", 0, NULL);
	assert_int_equal(dm_booking_body_cancel(body, &reason, errors), 0);
	assert_string_equal(reason, "moved house");
	json_decref(body);
	body = json_loads("{}", 0, NULL);
	assert_int_equal(dm_booking_body_cancel(body, &reason, errors), 0);
	assert_string_equal(reason, "");
	json_decref(body);
	memset(long_reason, 'x', sizeof long_reason - 1);
	long_reason[sizeof long_reason - 1] = '\0';
	body = json_pack("{s:s}", "reason", long_reason);
	assert_int_equal(dm_booking_body_cancel(body, &reason, errors), -1);
	json_decref(body);
	body = json_loads("{\"reason\": 7, \"why\": \"x\"}", 0, NULL);
	assert_int_equal(dm_booking_body_cancel(body, &reason, errors), -1);
	assert_string_equal(fields_of(errors, buf, sizeof buf), "reason,why,reason");
	json_decref(body);
	json_decref(errors);
}

static void
booking_windows(void **state)
{
	(void)state;
	struct cfg_windows w = {
		.n = 2,
		.w = {{.start_s = 32400, .end_s = 46800, .count = 2, .weekdays = 0x7f},
		      {.start_s = 50400, .end_s = 64800, .count = 3, .weekdays = 1}}};
	json_t *got = dm_booking_body_windows(&w);
	json_t *want = json_loads("[{\"start_s\": 32400, \"end_s\": 46800, \"count\": 2, "
				  "\"weekdays\": 127}, {\"start_s\": 50400, \"end_s\": 64800, "
				  "\"count\": 3, \"weekdays\": 1}]",
				  0, NULL);
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	struct cfg_windows none = {.n = 0};
	got = dm_booking_body_windows(&none);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(booking_times),
		cmocka_unit_test(booking_slots_query),
		cmocka_unit_test(booking_body),
		cmocka_unit_test(booking_reschedule_and_cancel),
		cmocka_unit_test(booking_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
