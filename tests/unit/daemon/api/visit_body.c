/* Unit tests for daemon/api/visit_body.c: an engineer's visit event body.
 * Events, charges only with completed (codes, integer quantities, prices as
 * decimal strings and never JSON numbers, one charge per code, the fields a
 * 422 names with their index), reason codes and notes for other, and the
 * normal form stored for replays (a fixed point). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/api/visit_body.h"

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

struct visit_case {
	const char *body;
	const char *fields; /* "" when valid */
	const char *normal; /* the normal form (sorted keys) when valid */
};

/* A completed event with one charge whose members are the text m. */
#define C1(m) "{\"event\":\"completed\",\"charges\":[{" m "}]}"

static const struct visit_case visit_cases[] = {
	{"{\"event\":\"arrived\"}", "", "{\"event\":\"arrived\"}"},
	{"{\"event\":\"started\",\"notes\":\"on site\"}", "",
	 "{\"event\":\"started\",\"notes\":\"on site\"}"},
	{"{\"event\":\"completed\"}", "", "{\"charges\":[],\"event\":\"completed\"}"},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"pipe_extension\",\"qty\":3},"
	 "{\"code\":\"sealant\",\"qty\":3,\"unit_price\":\"0.1\"}]}",
	 "",
	 "{\"charges\":[{\"code\":\"pipe_extension\",\"qty\":3},"
	 "{\"code\":\"sealant\",\"qty\":3,\"unit_price\":\"0.10\"}],\"event\":\"completed\"}"},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"x\",\"qty\":1,\"unit_price\":\"15\"}]}",
	 "", "{\"charges\":[{\"code\":\"x\",\"qty\":1,\"unit_price\":\"15.00\"}],"
	     "\"event\":\"completed\"}"},
	{"{\"event\":\"failed\",\"reason\":\"parts_missing\"}", "",
	 "{\"event\":\"failed\",\"reason\":\"parts_missing\"}"},
	{"{\"event\":\"failed\",\"reason\":\"other\",\"notes\":\"dog\"}", "",
	 "{\"event\":\"failed\",\"notes\":\"dog\",\"reason\":\"other\"}"},
	{"{}", "event", NULL},
	{"{\"event\":\"delivered\"}", "event", NULL},
	{"{\"event\":\"failed\"}", "reason", NULL},
	{"{\"event\":\"failed\",\"reason\":\"refused\"}", "reason", NULL},
	{"{\"event\":\"failed\",\"reason\":7}", "reason", NULL},
	{"{\"event\":\"failed\",\"reason\":\"other\"}", "notes", NULL},
	{"{\"event\":\"failed\",\"reason\":\"other\",\"notes\":\"\"}", "notes", NULL},
	{"{\"event\":\"arrived\",\"reason\":\"unsafe\"}", "reason", NULL},
	{"{\"event\":\"arrived\",\"charges\":[]}", "charges", NULL},
	{"{\"event\":\"completed\",\"charges\":{}}", "charges", NULL},
	{"{\"event\":\"completed\",\"charges\":[7]}", "charges[0]", NULL},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"a\",\"qty\":1},"
	 "{\"code\":\"\",\"qty\":0,\"unit_price\":15.0}]}",
	 "charges[1].code,charges[1].qty,charges[1].unit_price", NULL},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"a\",\"qty\":1.5}]}", "charges[0].qty",
	 NULL},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"a\",\"qty\":1001}]}", "charges[0].qty",
	 NULL},
	{C1("\"code\":\"a\",\"qty\":1,\"unit_price\":\"1.234\""), "charges[0].unit_price", NULL},
	{C1("\"code\":\"a\",\"qty\":1,\"unit_price\":\"-1.00\""), "charges[0].unit_price", NULL},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"a\",\"qty\":1,\"colour\":\"red\"}]}",
	 "charges[0].colour", NULL},
	{"{\"event\":\"completed\",\"charges\":[{\"code\":\"a\",\"qty\":1},"
	 "{\"code\":\"b\",\"qty\":1},{\"code\":\"a\",\"qty\":2}]}",
	 "charges[2].code", NULL},
	{"{\"event\":\"arrived\",\"at\":\"now\"}", "at", NULL},
	{"{\"event\":\"arrived\",\"notes\":5}", "notes", NULL},
};

static void
visit_event_table(void **state)
{
	char buf[256];
	(void)state;
	for (size_t i = 0; i < sizeof visit_cases / sizeof visit_cases[0]; i++) {
		const struct visit_case *c = &visit_cases[i];
		json_t *body = json_loads(c->body, 0, NULL);
		json_t *errors = json_array();
		assert_non_null(body);
		json_t *ev = dm_visit_body_event(body, errors);
		if (strcmp(fields_of(errors, buf, sizeof buf), c->fields) != 0)
			fail_msg("case %zu: fields %s, want %s", i, buf, c->fields);
		if (c->normal != NULL) {
			assert_non_null(ev);
			char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
			if (strcmp(text, c->normal) != 0)
				fail_msg("case %zu: normal form %s, want %s", i, text, c->normal);
			free(text);
			/* The normal form parses again to itself. */
			json_t *errors2 = json_array();
			json_t *again = dm_visit_body_event(ev, errors2);
			assert_non_null(again);
			assert_true(json_equal(again, ev));
			json_decref(again);
			json_decref(errors2);
		} else {
			assert_null(ev);
		}
		json_decref(ev);
		json_decref(errors);
		json_decref(body);
	}
}

/* A JSON number for money names the rule in its message. */
static void
visit_money_number_message(void **state)
{
	(void)state;
	json_t *body = json_loads("{\"event\":\"completed\",\"charges\":[{\"code\":\"a\",\"qty\":1,"
				  "\"unit_price\":15}]}",
				  0, NULL);
	json_t *errors = json_array();
	assert_null(dm_visit_body_event(body, errors));
	const char *msg = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
	assert_non_null(strstr(msg, "never a JSON number"));
	json_decref(errors);
	json_decref(body);
}

/* At most 20 charges. */
static void
visit_charges_limit(void **state)
{
	(void)state;
	json_t *charges = json_array();
	char code[16];
	for (int i = 0; i < 21; i++) {
		snprintf(code, sizeof code, "c%d", i);
		json_array_append_new(charges, json_pack("{s:s,s:i}", "code", code, "qty", 1));
	}
	json_t *body = json_pack("{s:s,s:o}", "event", "completed", "charges", charges);
	json_t *errors = json_array();
	assert_null(dm_visit_body_event(body, errors));
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
			    "charges");
	json_decref(errors);
	json_array_remove(json_object_get(body, "charges"), 20);
	errors = json_array();
	json_t *ev = dm_visit_body_event(body, errors);
	assert_non_null(ev);
	assert_int_equal(json_array_size(json_object_get(ev, "charges")), 20);
	json_decref(ev);
	json_decref(errors);
	json_decref(body);
}

static void
visit_reasons(void **state)
{
	(void)state;
	/* The reason codes docs/api.md lists. */
	const char *want[] = {"customer_absent", "no_access", "parts_missing", "unsafe", "other",
			      NULL};
	for (size_t i = 0; want[i] != NULL || dm_visit_body_reasons[i] != NULL; i++)
		assert_string_equal(dm_visit_body_reasons[i], want[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(visit_event_table),
		cmocka_unit_test(visit_money_number_message),
		cmocka_unit_test(visit_charges_limit),
		cmocka_unit_test(visit_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
