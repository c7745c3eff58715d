/* libFuzzer harness: the returns' and exchanges' request parsers
 * (daemon/api/returns_body.c). The first byte picks the parser: 'r' a
 * return request, 's' a return scan, 'i' an inspection, anything else an
 * exchange; the rest is the body. Each promises to take any object and
 * either accept it or add {field, message} errors, never both. What it
 * accepts keeps the documented limits (lines 1..100, or 1..50 for an
 * exchange, each line once, quantities in range, a reason code, text of at
 * most 500 bytes, a failed inspection line with its reason) and its normal
 * form (what SQL stores and an Idempotency-Key's replay compares) parses
 * again to itself. */
#include "daemon/api/returns_body.h"
#include "tests/fuzz/fuzz_common.h"

static bool
fuzz_returns_body_reason(const char *s)
{
	for (size_t i = 0; s != NULL && dm_returns_body_reasons[i] != NULL; i++)
		if (strcmp(s, dm_returns_body_reasons[i]) == 0)
			return true;
	return false;
}

/* lines: 1..max entries, line numbers 1..32767 and distinct, qty in
 * 1..qty_max when qty_max > 0. */
static void
fuzz_returns_body_lines(const json_t *lines, size_t max, json_int_t qty_max)
{
	size_t i, j;
	json_t *l;
	if (!json_is_array(lines) || json_array_size(lines) < 1 || json_array_size(lines) > max)
		__builtin_trap();
	json_array_foreach(lines, i, l)
	{
		json_int_t no = json_integer_value(json_object_get(l, "line"));
		json_int_t qty = json_integer_value(json_object_get(l, "qty"));
		if (no < 1 || no > 32767 || (qty_max > 0 && (qty < 1 || qty > qty_max)))
			__builtin_trap();
		for (j = 0; j < i; j++)
			if (json_integer_value(json_object_get(json_array_get(lines, j), "line")) == no)
				__builtin_trap();
	}
}

static void
fuzz_returns_body_request(const json_t *body)
{
	json_t *errors = json_array(), *req = dm_returns_body_request(body, errors);
	bool ok = json_array_size(errors) == 0;
	fuzz_common_check_errors(errors, 0, ok);
	if (ok) {
		const char *notes = json_string_value(json_object_get(req, "notes"));
		fuzz_returns_body_lines(json_object_get(req, "lines"), DM_RETURNS_BODY_LINES_MAX,
					DM_RETURNS_BODY_QTY_MAX);
		if (!fuzz_returns_body_reason(json_string_value(json_object_get(req, "reason"))) ||
		    notes == NULL || strlen(notes) > DM_RETURNS_BODY_TEXT_MAX ||
		    json_string_value(json_object_get(req, "pickup_wave")) == NULL)
			__builtin_trap();
		json_t *errors2 = json_array(), *again = dm_returns_body_request(req, errors2);
		if (json_array_size(errors2) != 0 || !json_equal(again, req))
			__builtin_trap();
		json_decref(again);
		json_decref(errors2);
	}
	json_decref(req);
	json_decref(errors);
}

static void
fuzz_returns_body_inspection(const json_t *body)
{
	json_t *errors = json_array(), *lines = dm_returns_body_inspection(body, errors);
	bool ok = json_array_size(errors) == 0;
	fuzz_common_check_errors(errors, 0, ok);
	if (ok) {
		size_t i;
		json_t *l;
		fuzz_returns_body_lines(lines, DM_RETURNS_BODY_LINES_MAX, 0);
		if (json_array_size(lines) != json_array_size(json_object_get(body, "lines")))
			__builtin_trap();
		json_array_foreach(lines, i, l)
		{
			const char *res = json_string_value(json_object_get(l, "result"));
			const char *why = json_string_value(json_object_get(l, "reason"));
			if (res == NULL || why == NULL || strlen(why) > DM_RETURNS_BODY_TEXT_MAX ||
			    (strcmp(res, "passed") != 0 && strcmp(res, "failed") != 0) ||
			    (strcmp(res, "failed") == 0 && why[0] == '\0'))
				__builtin_trap();
		}
		json_t *errors2 = json_array(), *again_body = json_pack("{s:O}", "lines", lines);
		json_t *again = dm_returns_body_inspection(again_body, errors2);
		if (json_array_size(errors2) != 0 || !json_equal(again, lines))
			__builtin_trap();
		json_decref(again);
		json_decref(again_body);
		json_decref(errors2);
	}
	json_decref(lines);
	json_decref(errors);
}

static void
fuzz_returns_body_exchange(const json_t *body)
{
	json_t *errors = json_array(), *lines = json_array();
	const char *reason = NULL, *notes = NULL;
	int rc = dm_returns_body_exchange(body, lines, &reason, &notes, errors);
	fuzz_common_check_errors(errors, 0, rc == 0);
	if (rc == 0) {
		size_t i;
		json_t *l;
		fuzz_returns_body_lines(lines, DM_RETURNS_BODY_EXCHANGE_LINES_MAX,
					DM_RETURNS_BODY_EXCHANGE_QTY_MAX);
		json_array_foreach(lines, i, l)
		{
			const json_t *rs = json_object_get(l, "replacement_sku");
			if (!json_is_null(rs) && !json_is_string(rs))
				__builtin_trap();
		}
		if (!fuzz_returns_body_reason(reason) || notes == NULL ||
		    strlen(notes) > DM_RETURNS_BODY_TEXT_MAX)
			__builtin_trap();
		json_t *norm = json_pack("{s:O,s:s,s:s}", "lines", lines, "reason", reason, "notes",
					 notes);
		json_t *errors2 = json_array(), *lines2 = json_array();
		const char *reason2, *notes2;
		if (dm_returns_body_exchange(norm, lines2, &reason2, &notes2, errors2) != 0 ||
		    !json_equal(lines, lines2) || strcmp(reason, reason2) != 0 ||
		    strcmp(notes, notes2) != 0)
			__builtin_trap();
		json_decref(lines2);
		json_decref(errors2);
		json_decref(norm);
	}
	json_decref(lines);
	json_decref(errors);
}

static void
fuzz_returns_body_scan(const json_t *body)
{
	json_t *errors = json_array();
	const char *ev = dm_returns_body_scan(body, errors);
	fuzz_common_check_errors(errors, 0, ev != NULL);
	if (ev != NULL && strcmp(ev, "arrived_at_station") != 0 &&
	    strcmp(ev, "departed_station") != 0 && strcmp(ev, "received_at_warehouse") != 0)
		__builtin_trap();
	json_decref(errors);
}

static void
fuzz_returns_body_check(uint8_t which, const json_t *body)
{
	if (which == 'r')
		fuzz_returns_body_request(body);
	else if (which == 'i')
		fuzz_returns_body_inspection(body);
	else if (which == 's')
		fuzz_returns_body_scan(body);
	else
		fuzz_returns_body_exchange(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_common_one(data, size, fuzz_returns_body_check);
}
