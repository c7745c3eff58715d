/* An engineer's visit event body (see visit_body.h). Owns the list of visit
 * failure reason codes. Pure. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/visit_body.h"

const char *const dm_visit_body_reasons[] = {"customer_absent", "no_access", "parts_missing",
					     "unsafe", "other", NULL};

/* A string member of 1..max bytes without NUL, or NULL (an error added
 * when present but wrong). */
static const char *
dm_visit_body_text(const json_t *obj, const char *name, const char *field, size_t max,
		   json_t *errors)
{
	const json_t *v = json_object_get(obj, name);
	char message[64];
	if (v == NULL)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(message, sizeof message, "must be a string of at most %zu bytes", max);
		dm_field_errors_add(errors, field, message);
		return NULL;
	}
	return json_string_value(v);
}

/* Charge i into a new {"code", "qty", "unit_price"?} (the price as
 * cfg_money_format writes it: "15.00"), or NULL after
 * adding errors naming charges[i].member. */
static json_t *
dm_visit_body_charge(const json_t *in, size_t i, json_t *errors)
{
	static const char *const known[] = {"code", "qty", "unit_price", NULL};
	char prefix[32], field[64];
	size_t before = json_array_size(errors);
	snprintf(prefix, sizeof prefix, "charges[%zu].", i);
	if (!json_is_object(in)) {
		snprintf(field, sizeof field, "charges[%zu]", i);
		dm_field_errors_add(errors, field, "must be an object");
		return NULL;
	}
	dm_field_errors_unknown(in, prefix, known, errors);
	const json_t *code = json_object_get(in, "code");
	if (!json_is_string(code) || json_string_length(code) < 1 ||
	    json_string_length(code) > DM_VISIT_BODY_CODE_MAX ||
	    strlen(json_string_value(code)) != json_string_length(code)) {
		snprintf(field, sizeof field, "%scode", prefix);
		dm_field_errors_add(errors, field,
				    "must be the code of an extra on the price list (a string)");
	}
	const json_t *qty = json_object_get(in, "qty");
	if (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
	    json_integer_value(qty) > DM_VISIT_BODY_QTY_MAX) {
		snprintf(field, sizeof field, "%sqty", prefix);
		dm_field_errors_add(errors, field, "must be an integer from 1 to 1000");
	}
	const json_t *price = json_object_get(in, "unit_price");
	int64_t fen = 0;
	if (price != NULL && (!json_is_string(price) ||
			      strlen(json_string_value(price)) != json_string_length(price) ||
			      cfg_money_parse(json_string_value(price), &fen) != 0)) {
		snprintf(field, sizeof field, "%sunit_price", prefix);
		dm_field_errors_add(errors, field,
				    json_is_number(price)
					    ? "money is a decimal string such as \"15.00\", "
					      "never a JSON number"
					    : "must be a decimal string such as \"15.00\"");
	}
	if (json_array_size(errors) > before)
		return NULL;
	json_t *out = json_pack("{s:s,s:I}", "code", json_string_value(code), "qty",
				(json_int_t)json_integer_value(qty));
	char text[24];
	if (out != NULL && price != NULL)
		json_object_set_new(out, "unit_price", json_string(cfg_money_format(fen, text)));
	return out;
}

/* The charges of a completed event into a new array, or NULL after adding
 * errors. */
static json_t *
dm_visit_body_charges(const json_t *in, json_t *errors)
{
	char field[64];
	size_t before = json_array_size(errors);
	if (in == NULL)
		return json_array();
	if (!json_is_array(in) || json_array_size(in) > DM_VISIT_BODY_CHARGES_MAX) {
		dm_field_errors_add(errors, "charges", "must be an array of at most 20 charges");
		return NULL;
	}
	json_t *out = json_array();
	for (size_t i = 0; i < json_array_size(in); i++) {
		json_t *c = dm_visit_body_charge(json_array_get(in, i), i, errors);
		if (c == NULL)
			continue;
		const char *code = json_string_value(json_object_get(c, "code"));
		for (size_t j = 0; j < json_array_size(out); j++) {
			if (strcmp(json_string_value(json_object_get(json_array_get(out, j),
								     "code")),
				   code) == 0) {
				snprintf(field, sizeof field, "charges[%zu].code", i);
				dm_field_errors_add(errors, field,
						    "appears twice: one charge per code");
				break;
			}
		}
		json_array_append_new(out, c);
	}
	if (json_array_size(errors) > before) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *
dm_visit_body_event(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"event", "charges", "reason", "notes", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	const char *ev = json_string_value(json_object_get(body, "event"));
	if (ev == NULL || (strcmp(ev, "arrived") != 0 && strcmp(ev, "started") != 0 &&
			   strcmp(ev, "completed") != 0 && strcmp(ev, "failed") != 0)) {
		dm_field_errors_add(errors, "event",
				    "must be arrived, started, completed or failed");
		ev = NULL;
	}
	bool failed = ev != NULL && strcmp(ev, "failed") == 0;
	bool completed = ev != NULL && strcmp(ev, "completed") == 0;
	bool bad_notes = json_object_get(body, "notes") != NULL;
	const char *notes = dm_visit_body_text(body, "notes", "notes", DM_VISIT_BODY_NOTES_MAX,
					       errors);
	bad_notes = bad_notes && notes == NULL;
	const json_t *rv = json_object_get(body, "reason");
	const char *reason = json_string_value(rv);
	size_t i = 0;
	while (reason != NULL && dm_visit_body_reasons[i] != NULL &&
	       strcmp(dm_visit_body_reasons[i], reason) != 0)
		i++;
	if (rv != NULL && !failed && ev != NULL)
		dm_field_errors_add(errors, "reason", "is only for failed events");
	else if (failed && rv == NULL)
		dm_field_errors_add(errors, "reason",
				    "is required for failed: customer_absent, no_access, "
				    "parts_missing, unsafe or other");
	else if (rv != NULL && (reason == NULL || dm_visit_body_reasons[i] == NULL))
		dm_field_errors_add(errors, "reason",
				    "must be customer_absent, no_access, parts_missing, unsafe or "
				    "other");
	else if (failed && strcmp(reason, "other") == 0 && (notes == NULL || notes[0] == '\0') &&
		 !bad_notes)
		dm_field_errors_add(errors, "notes", "is required when reason is other");
	const json_t *cin = json_object_get(body, "charges");
	json_t *charges = NULL;
	if (cin != NULL && !completed && ev != NULL)
		dm_field_errors_add(errors, "charges", "are only for completed events");
	else if (completed)
		charges = dm_visit_body_charges(cin, errors);
	if (json_array_size(errors) > before) {
		json_decref(charges);
		return NULL;
	}
	json_t *out = json_pack("{s:s}", "event", ev);
	if (out == NULL) {
		json_decref(charges);
		return NULL;
	}
	if (completed)
		json_object_set_new(out, "charges", charges);
	if (failed)
		json_object_set_new(out, "reason", json_string(reason));
	if (notes != NULL)
		json_object_set_new(out, "notes", json_string(notes));
	return out;
}
