/* Unit tests for daemon/api/handheld_body.c: the handheld's request bodies.
 * Ping batches (times with milliseconds and offsets, ranges, the fields a
 * 422 names with their index) and stop events (events, reason codes, notes
 * for other, proof only with delivered, the normal form stored for
 * replays). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/api/handheld_body.h"

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
handheld_times(void **state)
{
	int64_t ms = 0;
	(void)state;
	assert_true(dm_handheld_body_time_ms("2030-01-08T02:00:10.250Z", &ms));
	assert_int_equal(ms, 1894068010250LL);
	assert_true(dm_handheld_body_time_ms("2030-01-08T10:00:10.25+08:00", &ms));
	assert_int_equal(ms, 1894068010250LL);
	assert_true(dm_handheld_body_time_ms("2030-01-08T02:00:10.123999Z", &ms));
	assert_int_equal(ms, 1894068010123LL);
	assert_true(dm_handheld_body_time_ms("2030-01-08T02:00:10Z", &ms));
	assert_int_equal(ms, 1894068010000LL);
	const char *bad[] = {"", "2030-01-08", "2030-01-08T02:00:10", "2030-01-08T02:00:10.Z",
			     "2030-01-08T02:00:10.5", "2030-02-30T02:00:10Z",
			     "2030-01-08T02:00:10+0800", "2030-01-08T02:00:10.5Zjunk"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(dm_handheld_body_time_ms(bad[i], &ms));
}

struct pings_case {
	const char *body;
	const char *fields; /* "" when valid */
};

#define P(extra)                                                                           \
	"{\"at\":\"2030-01-08T02:00:00.5Z\",\"lon\":116.4,\"lat\":39.9,\"accuracy_m\":5" extra "}"

static const struct pings_case pings_cases[] = {
	{"{\"pings\":[" P("") "]}", ""},
	{"{\"pings\":[" P(",\"speed\":3.5,\"heading\":359.9") "," P(",\"speed\":null") "]}", ""},
	{"{\"pings\":[]}", "pings"},
	{"{}", "pings"},
	{"{\"pings\":{}}", "pings"},
	{"{\"pings\":[" P("") "],\"extra\":1}", "extra"},
	{"{\"pings\":[" P("") ",7]}", "pings[1]"},
	{"{\"pings\":[" P("") "," P(",\"lat\":-91") "]}", "pings[1].lat"},
	{"{\"pings\":[{\"at\":\"noon\",\"lon\":\"116\",\"lat\":39.9,\"accuracy_m\":-1}]}",
	 "pings[0].at,pings[0].lon,pings[0].accuracy_m"},
	{"{\"pings\":[" P(",\"heading\":361,\"speed\":-1,\"alt\":3") "]}",
	 "pings[0].alt,pings[0].speed,pings[0].heading"},
};

static void
handheld_pings_table(void **state)
{
	char buf[256];
	(void)state;
	for (size_t i = 0; i < sizeof pings_cases / sizeof pings_cases[0]; i++) {
		const struct pings_case *c = &pings_cases[i];
		struct dm_courier_ping out[DM_COURIER_PINGS_BATCH_MAX];
		size_t n = 99;
		json_t *body = json_loads(c->body, 0, NULL);
		json_t *errors = json_array();
		assert_non_null(body);
		int rc = dm_handheld_body_pings(body, out, &n, errors);
		if (strcmp(fields_of(errors, buf, sizeof buf), c->fields) != 0)
			fail_msg("case %zu: fields %s, want %s", i, buf, c->fields);
		assert_int_equal(rc, c->fields[0] == '\0' ? 0 : -1);
		if (rc == 0) {
			assert_true(n >= 1);
			assert_int_equal(out[0].t_ms, 1894068000500LL);
			assert_true(out[0].lon == 116.4 && out[0].lat == 39.9 && out[0].acc_m == 5);
		} else {
			assert_int_equal(n, 0);
		}
		json_decref(errors);
		json_decref(body);
	}
}

static void
handheld_pings_limit(void **state)
{
	struct dm_courier_ping out[DM_COURIER_PINGS_BATCH_MAX];
	size_t n;
	(void)state;
	for (size_t count = 100; count <= 101; count++) {
		json_t *arr = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(arr, json_loads(P(""), 0, NULL));
		json_t *body = json_pack("{s:o}", "pings", arr);
		json_t *errors = json_array();
		int rc = dm_handheld_body_pings(body, out, &n, errors);
		assert_int_equal(rc, count == 100 ? 0 : -1);
		assert_int_equal(n, count == 100 ? 100 : 0);
		json_decref(errors);
		json_decref(body);
	}
}

struct event_case {
	const char *body;
	const char *fields; /* "" when valid */
	const char *normal; /* the normal form (sorted keys) when valid */
};

static const struct event_case event_cases[] = {
	{"{\"event\":\"arrived\"}", "", "{\"event\":\"arrived\"}"},
	{"{\"event\":\"delivered\",\"proof\":{\"pin\":\"123456\"}}", "",
	 "{\"event\":\"delivered\",\"proof\":{\"pin\":\"123456\"}}"},
	{"{\"event\":\"delivered\"}", "", "{\"event\":\"delivered\",\"proof\":{}}"},
	{"{\"event\":\"failed\",\"reason\":\"customer_absent\"}", "",
	 "{\"event\":\"failed\",\"reason\":\"customer_absent\"}"},
	{"{\"event\":\"failed\",\"reason\":\"other\",\"notes\":\"gate\"}", "",
	 "{\"event\":\"failed\",\"notes\":\"gate\",\"reason\":\"other\"}"},
	{"{\"event\":\"picked_up\",\"notes\":\"two boxes\"}", "",
	 "{\"event\":\"picked_up\",\"notes\":\"two boxes\"}"},
	{"{}", "event", NULL},
	{"{\"event\":\"lost\"}", "event", NULL},
	{"{\"event\":\"failed\"}", "reason", NULL},
	{"{\"event\":\"failed\",\"reason\":\"bored\"}", "reason", NULL},
	{"{\"event\":\"failed\",\"reason\":\"other\"}", "notes", NULL},
	{"{\"event\":\"failed\",\"reason\":\"other\",\"notes\":\"\"}", "notes", NULL},
	{"{\"event\":\"arrived\",\"reason\":\"refused\"}", "reason", NULL},
	{"{\"event\":\"arrived\",\"proof\":{}}", "proof", NULL},
	{"{\"event\":\"delivered\",\"proof\":[]}", "proof", NULL},
	{"{\"event\":\"delivered\",\"proof\":{\"pin\":1,\"face\":\"x\"}}", "proof.face,proof.pin",
	 NULL},
	{"{\"event\":\"arrived\",\"at\":\"now\"}", "at", NULL},
	/* Cash on delivery (issue 13): amounts are decimal strings into fen. */
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"cash\",\"amount\":\"0.10\"}}", "",
	 "{\"collected\":{\"amount_fen\":10,\"method\":\"cash\"},\"event\":\"delivered\","
	 "\"proof\":{}}"},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"card\",\"amount\":\"1299\","
	 "\"reference\":\"POS-1\",\"short_reason\":\"other\"}}", "",
	 "{\"collected\":{\"amount_fen\":129900,\"method\":\"card\",\"reference\":\"POS-1\","
	 "\"short_reason\":\"other\"},\"event\":\"delivered\",\"proof\":{}}"},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"cash\",\"amount\":0.1}}",
	 "collected.amount", NULL},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"cash\",\"amount\":\"1000000.01\"}}",
	 "collected.amount", NULL},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"cash\",\"amount\":\"0.00\","
	 "\"short_reason\":\"customer_short\"}}", "collected.amount", NULL},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"mobile\",\"amount\":\"1.00\"}}",
	 "collected.reference", NULL},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"cash\",\"amount\":\"1.00\","
	 "\"reference\":\"x\"}}", "collected.reference", NULL},
	{"{\"event\":\"delivered\",\"collected\":{\"method\":\"gold\",\"amount\":\"1.00\","
	 "\"short_reason\":\"why\",\"x\":1}}",
	 "collected.x,collected.method,collected.short_reason", NULL},
	{"{\"event\":\"failed\",\"reason\":\"refused\",\"collected\":{}}", "collected", NULL},
	{"{\"event\":\"delivered\",\"collected\":[]}", "collected", NULL},
};

static void
handheld_event_table(void **state)
{
	char buf[256];
	(void)state;
	for (size_t i = 0; i < sizeof event_cases / sizeof event_cases[0]; i++) {
		const struct event_case *c = &event_cases[i];
		json_t *body = json_loads(c->body, 0, NULL);
		json_t *errors = json_array();
		assert_non_null(body);
		json_t *ev = dm_handheld_body_event(body, errors);
		if (strcmp(fields_of(errors, buf, sizeof buf), c->fields) != 0)
			fail_msg("case %zu: fields %s, want %s", i, buf, c->fields);
		if (c->normal != NULL) {
			assert_non_null(ev);
			char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
			assert_string_equal(text, c->normal);
			free(text);
		} else {
			assert_null(ev);
		}
		json_decref(ev);
		json_decref(errors);
		json_decref(body);
	}
	/* The reason codes docs/api.md lists. */
	const char *want[] = {"customer_absent", "refused", "address_wrong", "damaged",
			      "no_access", "unsafe", "other", NULL};
	for (size_t i = 0; want[i] != NULL || dm_handheld_body_reasons[i] != NULL; i++)
		assert_string_equal(dm_handheld_body_reasons[i], want[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handheld_times),
		cmocka_unit_test(handheld_pings_table),
		cmocka_unit_test(handheld_pings_limit),
		cmocka_unit_test(handheld_event_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
