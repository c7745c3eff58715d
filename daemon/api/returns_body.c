/* The request bodies of returns and exchanges (api/returns_body.h). Pure:
 * jansson and the wave key parser. */
#include "daemon/api/returns_body.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "warehouse/capacity.h"

const char *const dm_returns_body_reasons[] = {"no_reason",  "defective", "damaged_in_transit",
					       "wrong_item", "other",	  NULL};

static bool
dm_returns_body_reason_ok(const char *s)
{
	for (size_t i = 0; s != NULL && dm_returns_body_reasons[i] != NULL; i++)
		if (strcmp(s, dm_returns_body_reasons[i]) == 0)
			return true;
	return false;
}

/* True when line j of in names the same line number as no. */
static bool
dm_returns_body_same_line(const json_t *in, size_t j, const json_t *no)
{
	return json_equal(json_object_get(json_array_get(in, j), "line"), (json_t *)no);
}

json_t *
dm_returns_body_request(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"lines", "reason", "notes", "pickup_wave", NULL};
	static const char *const line_known[] = {"line", "qty", NULL};
	char field[48];
	dm_field_errors_unknown(body, "", known, errors);
	json_t *out = json_object(), *lines = json_array();
	const json_t *in = json_object_get(body, "lines");
	if (!json_is_array(in) || json_array_size(in) < 1 ||
	    json_array_size(in) > DM_RETURNS_BODY_LINES_MAX)
		dm_field_errors_add(errors, "lines", "must be an array of 1 to 100 lines");
	for (size_t i = 0; json_is_array(in) && i < json_array_size(in) &&
			   i < DM_RETURNS_BODY_LINES_MAX; i++) {
		const json_t *l = json_array_get(in, i);
		snprintf(field, sizeof field, "lines[%zu].", i);
		if (!json_is_object(l)) {
			snprintf(field, sizeof field, "lines[%zu]", i);
			dm_field_errors_add(errors, field, "must be an object");
			continue;
		}
		dm_field_errors_unknown(l, field, line_known, errors);
		const json_t *no = json_object_get(l, "line"), *qty = json_object_get(l, "qty");
		bool ok = true;
		if (!json_is_integer(no) || json_integer_value(no) < 1 ||
		    json_integer_value(no) > 32767) {
			snprintf(field, sizeof field, "lines[%zu].line", i);
			dm_field_errors_add(errors, field,
					    "must be an order line number (1..32767)");
			ok = false;
		}
		if (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
		    json_integer_value(qty) > DM_RETURNS_BODY_QTY_MAX) {
			snprintf(field, sizeof field, "lines[%zu].qty", i);
			dm_field_errors_add(errors, field, "must be an integer of at least 1");
			ok = false;
		}
		for (size_t j = 0; ok && j < i; j++)
			if (dm_returns_body_same_line(in, j, no)) {
				snprintf(field, sizeof field, "lines[%zu].line", i);
				dm_field_errors_add(errors, field, "names a line given already");
				ok = false;
			}
		if (ok)
			json_array_append_new(lines,
					      json_pack("{s:O,s:O}", "line", no, "qty", qty));
	}
	json_object_set_new(out, "lines", lines);
	const char *reason = json_string_value(json_object_get(body, "reason"));
	if (!dm_returns_body_reason_ok(reason))
		dm_field_errors_add(errors, "reason",
				    "must be no_reason, defective, damaged_in_transit, wrong_item "
				    "or other");
	else
		json_object_set_new(out, "reason", json_string(reason));
	const json_t *notes = json_object_get(body, "notes");
	if (notes != NULL && (!json_is_string(notes) ||
			      strlen(json_string_value(notes)) > DM_RETURNS_BODY_TEXT_MAX))
		dm_field_errors_add(errors, "notes", "must be a string of at most 500 bytes");
	else
		json_object_set_new(out, "notes",
				    json_string(notes != NULL ? json_string_value(notes) : ""));
	const char *wave = json_string_value(json_object_get(body, "pickup_wave"));
	struct wh_capacity_ref ref;
	struct wh_err err;
	if (wave == NULL || wh_capacity_key_parse(wave, strlen(wave), &ref, &err) != WH_OK ||
	    ref.kind != WH_CAPACITY_WAVE)
		dm_field_errors_add(errors, "pickup_wave", "must be a wave key (YYYYMMDD-Whhmm)");
	else
		json_object_set_new(out, "pickup_wave", json_string(wave));
	return out;
}

const char *
dm_returns_body_scan(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"event", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	const char *ev = json_string_value(json_object_get(body, "event"));
	if (ev == NULL || (strcmp(ev, "arrived_at_station") != 0 &&
			   strcmp(ev, "departed_station") != 0 &&
			   strcmp(ev, "received_at_warehouse") != 0))
		dm_field_errors_add(errors, "event",
				    "must be arrived_at_station, departed_station or "
				    "received_at_warehouse");
	return json_array_size(errors) > before ? NULL : ev;
}

json_t *
dm_returns_body_inspection(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"lines", NULL};
	static const char *const line_known[] = {"line", "result", "reason", NULL};
	char field[48];
	json_t *lines = json_array();
	dm_field_errors_unknown(body, "", known, errors);
	const json_t *in = json_object_get(body, "lines");
	if (!json_is_array(in) || json_array_size(in) < 1 ||
	    json_array_size(in) > DM_RETURNS_BODY_LINES_MAX)
		dm_field_errors_add(errors, "lines", "must be an array of 1 to 100 results");
	for (size_t i = 0; json_is_array(in) && i < json_array_size(in) &&
			   i < DM_RETURNS_BODY_LINES_MAX; i++) {
		const json_t *l = json_array_get(in, i);
		if (!json_is_object(l)) {
			snprintf(field, sizeof field, "lines[%zu]", i);
			dm_field_errors_add(errors, field, "must be an object");
			continue;
		}
		snprintf(field, sizeof field, "lines[%zu].", i);
		dm_field_errors_unknown(l, field, line_known, errors);
		const json_t *no = json_object_get(l, "line");
		const char *res = json_string_value(json_object_get(l, "result"));
		const json_t *why = json_object_get(l, "reason");
		bool ok = true;
		if (!json_is_integer(no) || json_integer_value(no) < 1 ||
		    json_integer_value(no) > 32767) {
			snprintf(field, sizeof field, "lines[%zu].line", i);
			dm_field_errors_add(errors, field, "must be a line number of the return");
			ok = false;
		}
		for (size_t j = 0; ok && j < i; j++)
			if (dm_returns_body_same_line(in, j, no)) {
				snprintf(field, sizeof field, "lines[%zu].line", i);
				dm_field_errors_add(errors, field, "names a line given already");
				ok = false;
			}
		if (res == NULL || (strcmp(res, "passed") != 0 && strcmp(res, "failed") != 0)) {
			snprintf(field, sizeof field, "lines[%zu].result", i);
			dm_field_errors_add(errors, field, "must be passed or failed");
			ok = false;
		}
		if (why != NULL && (!json_is_string(why) ||
				    strlen(json_string_value(why)) > DM_RETURNS_BODY_TEXT_MAX)) {
			snprintf(field, sizeof field, "lines[%zu].reason", i);
			dm_field_errors_add(errors, field, "must be a string of at most 500 bytes");
			ok = false;
		} else if (res != NULL && strcmp(res, "failed") == 0 &&
			   (why == NULL || json_string_value(why)[0] == '\0')) {
			snprintf(field, sizeof field, "lines[%zu].reason", i);
			dm_field_errors_add(errors, field, "a failed line needs its reason");
			ok = false;
		}
		if (ok)
			json_array_append_new(
			    lines, json_pack("{s:O,s:s,s:s}", "line", no, "result", res, "reason",
					     why != NULL ? json_string_value(why) : ""));
	}
	return lines;
}

/* Check lines[] into out ([{"line","qty","replacement_sku"}]); each
 * problem is one entry of errors. */
static void
dm_returns_body_exchange_lines(const json_t *in, json_t *out, json_t *errors)
{
	static const char *const known[] = {"line", "qty", "replacement_sku", NULL};
	if (!json_is_array(in) || json_array_size(in) < 1 ||
	    json_array_size(in) > DM_RETURNS_BODY_EXCHANGE_LINES_MAX) {
		dm_field_errors_add(errors, "lines", "must be an array of 1 to 50 lines");
		return;
	}
	for (size_t i = 0; i < json_array_size(in); i++) {
		const json_t *l = json_array_get(in, i);
		char prefix[32], field[64];
		snprintf(prefix, sizeof prefix, "lines[%zu].", i);
		if (!json_is_object(l)) {
			snprintf(field, sizeof field, "lines[%zu]", i);
			dm_field_errors_add(errors, field, "must be an object");
			continue;
		}
		dm_field_errors_unknown(l, prefix, known, errors);
		const json_t *n = json_object_get(l, "line");
		const json_t *q = json_object_get(l, "qty");
		const json_t *rs = json_object_get(l, "replacement_sku");
		bool ok = true;
		if (!json_is_integer(n) || json_integer_value(n) < 1 ||
		    json_integer_value(n) > 32767) {
			snprintf(field, sizeof field, "%sline", prefix);
			dm_field_errors_add(errors, field,
					    "must be an order line number (1, 2, ...)");
			ok = false;
		} else {
			for (size_t j = 0; j < i; j++)
				if (json_equal(json_object_get(json_array_get(in, j), "line"), n)) {
					snprintf(field, sizeof field, "%sline", prefix);
					dm_field_errors_add(errors, field,
							    "names a line already listed");
					ok = false;
					break;
				}
		}
		if (!json_is_integer(q) || json_integer_value(q) < 1 ||
		    json_integer_value(q) > DM_RETURNS_BODY_EXCHANGE_QTY_MAX) {
			snprintf(field, sizeof field, "%sqty", prefix);
			dm_field_errors_add(errors, field, "must be an integer in 1..10000");
			ok = false;
		}
		if (rs != NULL && !json_is_null(rs) &&
		    (!json_is_string(rs) || !dm_order_body_valid_id(json_string_value(rs)))) {
			snprintf(field, sizeof field, "%sreplacement_sku", prefix);
			dm_field_errors_add(errors, field, "must be a SKU (1 to 63 characters)");
			ok = false;
		}
		if (ok)
			json_array_append_new(out, json_pack("{s:O,s:O,s:O}", "line", n, "qty", q,
							     "replacement_sku",
							     rs != NULL ? rs : json_null()));
	}
}

int
dm_returns_body_exchange(const json_t *body, json_t *lines, const char **reason,
			 const char **notes, json_t *errors)
{
	static const char *const known[] = {"lines", "reason", "notes", "pickup_wave", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	dm_returns_body_exchange_lines(json_object_get(body, "lines"), lines, errors);
	*reason = json_string_value(json_object_get(body, "reason"));
	if (!dm_returns_body_reason_ok(*reason))
		dm_field_errors_add(errors, "reason",
				    "must be no_reason, defective, damaged_in_transit, "
				    "wrong_item or other");
	const json_t *nv = json_object_get(body, "notes");
	*notes = json_string_value(nv);
	if ((nv != NULL && *notes == NULL) ||
	    (*notes != NULL && strlen(*notes) > DM_RETURNS_BODY_TEXT_MAX))
		dm_field_errors_add(errors, "notes", "must be a string of at most 500 bytes");
	if (*notes == NULL)
		*notes = "";
	return json_array_size(errors) > before ? -1 : 0;
}
