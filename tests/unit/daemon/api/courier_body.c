/* Unit tests for daemon/api/courier_body.c: the bodies of the couriers
 * resource. Tables of bodies with the fields a 422 names (in order) for a
 * courier's fields (create and PATCH), its shifts and a duty change, and
 * the normalised shifts a valid body yields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/api/courier_body.h"

struct body_case {
	int create;         /* fields: 1 for POST, 0 for PATCH; + 2 for an engineer's (issue 12) */
	const char *body;   /* a JSON object */
	const char *fields; /* the fields of the 422, comma-separated in order; "" when valid */
};

#define ID "\"id\":\"c-042\""
#define NAME "\"name\":\"Wang Wei\""
#define PHONE "\"phone\":\"+86 (138) 0013-8000\""
#define VAN "\"vehicle\":\"van\""
#define GOOD ID "," NAME "," PHONE "," VAN

static const struct body_case field_cases[] = {
	{1, "{" GOOD "}", ""},
	{1, "{" GOOD ",\"skills\":[\"cold\",\"bulky-2\"]}", ""},
	{1, "{\"id\":\"a.b:c/d_e-F9\"," NAME "," PHONE "," VAN "}", ""},
	{1, "{\"name\":\"\xe7\x8e\x8b\xe4\xbc\x9f\"," ID "," PHONE "," VAN "}", ""},
	{1, "{}", "id,name,phone,vehicle"},
	/* engineers: daily_capacity required (1..50), provider optional, vehicle
	 * defaults to van; a courier's body takes neither */
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":4}", ""},
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":4,\"provider\":\"Haier\"}", ""},
	{3, "{" ID "," NAME "," PHONE "}", "daily_capacity"},
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":51}", "daily_capacity"},
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":0}", "daily_capacity"},
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":\"4\"}", "daily_capacity"},
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":4,\"provider\":\" \"}", "provider"},
	{3, "{" ID "," NAME "," PHONE ",\"daily_capacity\":4,\"provider\":null}", "provider"},
	{2, "{\"provider\":null,\"daily_capacity\":50}", ""},
	{2, "{\"daily_capacity\":null}", "daily_capacity"},
	{1, "{" GOOD ",\"daily_capacity\":4}", "daily_capacity"},
	{0, "{\"provider\":\"Haier\"}", "provider"},
	{1, "{" GOOD ",\"active\":true}", "active"},
	{1, "{" GOOD ",\"station\":\"x\"}", "station"},
	{1, "{\"id\":\"bad id\"," NAME "," PHONE "," VAN "}", "id"},
	{1, "{\"id\":\"\"," NAME "," PHONE "," VAN "}", "id"},
	{1, "{\"id\":\"0123456789012345678901234567890123456789012345678901234567890123\","
	    NAME "," PHONE "," VAN "}", "id"},
	{1, "{\"id\":42," NAME "," PHONE "," VAN "}", "id"},
	{1, "{" ID ",\"name\":\"  \"," PHONE "," VAN "}", "name"},
	{1, "{" ID ",\"name\":null," PHONE "," VAN "}", "name"},
	{1, "{" ID "," NAME ",\"phone\":\"call me\"," VAN "}", "phone"},
	{1, "{" ID "," NAME ",\"phone\":\"+-()\"," VAN "}", "phone"},
	{1, "{" ID "," NAME ",\"phone\":\"12345678901234567890123456789012345678901\"," VAN "}",
	 "phone"},
	{1, "{" ID "," NAME "," PHONE ",\"vehicle\":\"Van\"}", "vehicle"},
	{1, "{" ID "," NAME "," PHONE ",\"vehicle\":\"van2\"}", "vehicle"},
	{1, "{" GOOD ",\"skills\":\"cold\"}", "skills"},
	{1, "{" GOOD ",\"skills\":[\"cold\",\"cold\"]}", "skills[1]"},
	{1, "{" GOOD ",\"skills\":[\"Cold\"]}", "skills[0]"},
	{1, "{" GOOD ",\"skills\":[1]}", "skills[0]"},
	{0, "{}", ""},
	{0, "{\"name\":\"Li Na\",\"active\":false,\"skills\":[]}", ""},
	{0, "{\"id\":\"c-1\"}", "id"},
	{0, "{\"active\":\"yes\",\"phone\":\"\"}", "phone,active"},
};

static const struct body_case shift_cases[] = {
	{0, "{}", ""},
	{0, "{\"weekly\":[],\"overrides\":[]}", ""},
	{0, "{\"weekly\":[{\"days\":[\"mon\",\"sun\"],\"start\":\"00:00\",\"end\":\"24:00\"}]}",
	 ""},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"08:00\",\"end\":\"12:00\"},"
	    "{\"days\":[\"mon\"],\"start\":\"12:00\",\"end\":\"13:00\"}]}", ""},
	{0, "{\"weekly\":[{\"days\":[\"mon\",\"tue\"],\"start\":\"08:00\",\"end\":\"12:00\"},"
	    "{\"days\":[\"tue\"],\"start\":\"11:59\",\"end\":\"13:00\"}]}", "weekly[1]"},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"08:00\",\"end\":\"12:00\"},"
	    "{\"days\":[\"tue\"],\"start\":\"09:00\",\"end\":\"10:00\"}]}", ""},
	{0, "{\"weekly\":[{\"days\":[\"Mon\"],\"start\":\"08:00\",\"end\":\"09:00\"}]}",
	 "weekly[0].days"},
	{0, "{\"weekly\":[{\"days\":[],\"start\":\"08:00\",\"end\":\"09:00\"}]}", "weekly[0].days"},
	{0, "{\"weekly\":[{\"start\":\"08:00\",\"end\":\"09:00\"}]}", "weekly[0].days"},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"24:00\",\"end\":\"24:00\"}]}",
	 "weekly[0].start"},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"08:60\",\"end\":\"24:01\"}]}",
	 "weekly[0].start,weekly[0].end"},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"8:00\",\"end\":\"09:00\"}]}",
	 "weekly[0].start"},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"09:00\",\"end\":\"09:00\"}]}",
	 "weekly[0].end"},
	{0, "{\"weekly\":[{\"days\":[\"mon\"],\"start\":\"09:00\",\"end\":\"00:00\"}]}",
	 "weekly[0].end"},
	{0, "{\"weekly\":[3]}", "weekly[0]"},
	{0, "{\"weekly\":{}}", "weekly"},
	{0, "{\"weekly\":[],\"days\":[]}", "days"},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"start\":\"10:00\",\"end\":\"14:00\"},"
	    "{\"date\":\"2030-01-09\",\"off\":true}]}", ""},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"start\":\"10:00\",\"end\":\"14:00\"},"
	    "{\"date\":\"2030-01-08\",\"start\":\"14:00\",\"end\":\"15:00\"}]}", ""},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"start\":\"10:00\",\"end\":\"14:00\"},"
	    "{\"date\":\"2030-01-08\",\"start\":\"13:00\",\"end\":\"15:00\"}]}", "overrides[1]"},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"off\":true},"
	    "{\"date\":\"2030-01-08\",\"off\":true}]}", "overrides[1]"},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"off\":true},"
	    "{\"date\":\"2030-01-08\",\"start\":\"13:00\",\"end\":\"15:00\"}]}", "overrides[1]"},
	{0, "{\"overrides\":[{\"date\":\"2030-02-29\",\"start\":\"10:00\",\"end\":\"14:00\"}]}",
	 "overrides[0].date"},
	{0, "{\"overrides\":[{\"date\":\"2028-02-29\",\"start\":\"10:00\",\"end\":\"14:00\"}]}",
	 ""},
	{0, "{\"overrides\":[{\"date\":\"2030-1-8\",\"start\":\"10:00\",\"end\":\"14:00\"}]}",
	 "overrides[0].date"},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\"}]}", "overrides[0].start,overrides[0].end"},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"off\":1}]}", "overrides[0].off"},
	{0, "{\"overrides\":[{\"date\":\"2030-01-08\",\"off\":true,\"end\":\"10:00\"}]}",
	 "overrides[0].off"},
	{0, "{\"overrides\":[{\"off\":true,\"why\":\"x\"}]}", "overrides[0].why,overrides[0].date"},
};

static const struct body_case duty_cases[] = {
	{0, "{\"on_shift\":false}", ""},
	{0, "{\"on_shift\":true,\"reason\":\"back\"}", ""},
	{0, "{}", "on_shift"},
	{0, "{\"on_shift\":\"false\"}", "on_shift"},
	{0, "{\"on_shift\":false,\"reason\":null}", "reason"},
	{0, "{\"on_shift\":false,\"at\":\"now\"}", "at"},
};

/* The fields of errors, comma-separated, into out. */
static void
error_fields(const json_t *errors, char *out, size_t cap)
{
	size_t i, used = 0;
	json_t *e;
	out[0] = '\0';
	json_array_foreach(errors, i, e)
	{
		const char *f = json_string_value(json_object_get(e, "field"));
		assert_non_null(f);
		assert_non_null(json_string_value(json_object_get(e, "message")));
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i > 0 ? "," : "", f);
		assert_true(used < cap);
	}
}

enum which { FIELDS, SHIFTS, DUTY };

static void
run_cases(const struct body_case *cases, size_t n, enum which which)
{
	for (size_t i = 0; i < n; i++) {
		json_error_t jerr;
		json_t *body = json_loads(cases[i].body, JSON_REJECT_DUPLICATES, &jerr);
		if (body == NULL)
			fail_msg("case %zu: bad JSON: %s", i, jerr.text);
		json_t *errors = json_array(), *weekly = NULL, *dates = NULL, *out = NULL;
		int ok;
		bool on = false;
		const char *reason = NULL;
		switch (which) {
		case FIELDS:
			out = dm_api_courier_body_fields(body, cases[i].create & 1, cases[i].create >= 2,
							 errors);
			ok = out != NULL;
			break;
		case SHIFTS:
			ok = dm_api_courier_body_shifts(body, &weekly, &dates, errors) == 0;
			if (!ok)
				assert_true(weekly == NULL && dates == NULL);
			break;
		default:
			ok = dm_api_courier_body_duty(body, &on, &reason, errors) == 0;
			if (ok)
				assert_non_null(reason);
		}
		char got[512];
		error_fields(errors, got, sizeof got);
		if (strcmp(got, cases[i].fields) != 0 || ok != (cases[i].fields[0] == '\0'))
			fail_msg("case %zu %s: want [%s], got [%s] ok=%d", i, cases[i].body,
				 cases[i].fields, got, ok);
		json_decref(out);
		json_decref(weekly);
		json_decref(dates);
		json_decref(errors);
		json_decref(body);
	}
}

static void
courier_body_fields_table(void **state)
{
	(void)state;
	run_cases(field_cases, sizeof field_cases / sizeof field_cases[0], FIELDS);
}

static void
courier_body_shifts_table(void **state)
{
	(void)state;
	run_cases(shift_cases, sizeof shift_cases / sizeof shift_cases[0], SHIFTS);
}

static void
courier_body_duty_table(void **state)
{
	(void)state;
	run_cases(duty_cases, sizeof duty_cases / sizeof duty_cases[0], DUTY);
}

/* What a valid body becomes: exactly the members given; shifts one entry
 * per weekday; a day off without times. */
static void
courier_body_normalised(void **state)
{
	(void)state;
	json_t *errors = json_array();
	json_t *body = json_loads("{\"name\":\"Li Na\",\"skills\":[\"cold\"]}", 0, NULL);
	json_t *out = dm_api_courier_body_fields(body, false, false, errors);
	char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"name\":\"Li Na\",\"skills\":[\"cold\"]}");
	free(text);
	json_decref(out);
	json_decref(body);
	/* an engineer's vehicle defaults to a van */
	body = json_loads("{\"id\":\"e-1\",\"name\":\"Li Na\",\"phone\":\"110\","
			  "\"daily_capacity\":3}", 0, NULL);
	out = dm_api_courier_body_fields(body, true, true, errors);
	text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"daily_capacity\":3,\"id\":\"e-1\",\"name\":\"Li Na\","
				  "\"phone\":\"110\",\"vehicle\":\"van\"}");
	free(text);
	json_decref(out);
	json_decref(body);

	json_t *weekly, *dates;
	body = json_loads("{\"weekly\":[{\"days\":[\"wed\",\"mon\"],\"start\":\"08:00\","
			  "\"end\":\"24:00\"}],\"overrides\":[{\"date\":\"2030-01-08\","
			  "\"off\":true},{\"date\":\"2030-01-09\",\"start\":\"10:00\","
			  "\"end\":\"11:00\"}]}",
			  0, NULL);
	assert_int_equal(dm_api_courier_body_shifts(body, &weekly, &dates, errors), 0);
	text = json_dumps(weekly, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "[{\"dow\":3,\"end\":\"24:00\",\"start\":\"08:00\"},"
				  "{\"dow\":1,\"end\":\"24:00\",\"start\":\"08:00\"}]");
	free(text);
	text = json_dumps(dates, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "[{\"date\":\"2030-01-08\"},{\"date\":\"2030-01-09\","
				  "\"end\":\"11:00\",\"start\":\"10:00\"}]");
	free(text);
	json_decref(weekly);
	json_decref(dates);
	json_decref(body);

	bool on = true;
	const char *reason = NULL;
	body = json_loads("{\"on_shift\":false}", 0, NULL);
	assert_int_equal(dm_api_courier_body_duty(body, &on, &reason, errors), 0);
	assert_false(on);
	assert_string_equal(reason, "");
	json_decref(body);
	assert_int_equal(json_array_size(errors), 0);
	json_decref(errors);
}

/* The size limits: 64 weekly entries, 400 overrides. */
static void
courier_body_limits(void **state)
{
	(void)state;
	for (int n = 64; n <= 65; n++) {
		json_t *body = json_object(), *arr = json_array(), *errors = json_array();
		json_t *weekly, *dates;
		for (int i = 0; i < n; i++) {
			char start[8], end[8];
			snprintf(start, sizeof start, "%02d:%02d", i / 3, (i % 3) * 20);
			snprintf(end, sizeof end, "%02d:%02d", i / 3, (i % 3) * 20 + 10);
			json_array_append_new(arr, json_pack("{s:[s],s:s,s:s}", "days", "sun",
							     "start", start, "end", end));
		}
		json_object_set_new(body, "weekly", arr);
		int rc = dm_api_courier_body_shifts(body, &weekly, &dates, errors);
		assert_int_equal(rc, n == 64 ? 0 : -1);
		if (rc == 0) {
			assert_int_equal(json_array_size(weekly), 64);
			json_decref(weekly);
			json_decref(dates);
		}
		json_decref(errors);
		json_decref(body);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(courier_body_fields_table),
		cmocka_unit_test(courier_body_shifts_table),
		cmocka_unit_test(courier_body_duty_table),
		cmocka_unit_test(courier_body_normalised),
		cmocka_unit_test(courier_body_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
