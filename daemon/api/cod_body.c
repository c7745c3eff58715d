/* The cash-on-delivery hand-over's request bodies (api/cod_body.h). Pure:
 * jansson, the money parser of config/ and the civil calendar. */
#include "daemon/api/cod_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "warehouse/civil.h"

bool
dm_cod_body_day(const char *s)
{
	int64_t y, y2;
	int m, d, m2, d2;
	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    strspn(s, "0123456789") != 4 || strspn(s + 5, "0123456789") != 2 ||
	    strspn(s + 8, "0123456789") != 2)
		return false;
	y = strtol(s, NULL, 10);
	m = (int)strtol(s + 5, NULL, 10);
	d = (int)strtol(s + 8, NULL, 10);
	if (y < 2000 || y > 2999 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	wh_civil_ymd_from_days(wh_civil_days_from_ymd(y, m, d), &y2, &m2, &d2);
	return y2 == y && m2 == m && d2 == d;
}

bool
dm_cod_body_settlement_id(const char *s)
{
	return s != NULL && strlen(s) == 20 && strncmp(s, "set_", 4) == 0 &&
	       strspn(s + 4, "0123456789abcdef") == 16;
}

/* Characters (UTF-8 code points) of s, valid UTF-8 as jansson gives it. */
static size_t
dm_cod_body_chars(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A text member: a string of min..DM_COD_BODY_TEXT_MAX characters without
 * control characters other than line breaks and tabs (NULL when absent). */
static const char *
dm_cod_body_text(const json_t *body, const char *name, bool required, json_t *errors)
{
	const json_t *v = json_object_get(body, name);
	char message[96];
	if (v == NULL || json_is_null(v)) {
		if (required)
			dm_field_errors_add(errors, name, "is required");
		return NULL;
	}
	const char *s = json_string_value(v);
	bool ok = s != NULL && strlen(s) == json_string_length(v) &&
		  dm_cod_body_chars(s) <= DM_COD_BODY_TEXT_MAX &&
		  (!required || strspn(s, " \t\r\n") < strlen(s));
	for (const char *c = s; ok && *c != '\0'; c++)
		if (((unsigned char)*c < 0x20 && strchr("\t\r\n", *c) == NULL) || *c == 0x7f)
			ok = false;
	if (!ok) {
		snprintf(message, sizeof message, "must be a string of %s to %d characters",
			 required ? "1 (not only spaces)" : "0", DM_COD_BODY_TEXT_MAX);
		dm_field_errors_add(errors, name, message);
		return NULL;
	}
	return s;
}

/* A correction's signed amount ("-12.30", "5.00"): the COD money parser
 * after an optional '-', non-zero, at most DM_COD_BODY_MAX_FEN either
 * way. False after adding the error. */
static bool
dm_cod_body_signed_amount(const json_t *v, int64_t *fen, json_t *errors)
{
	const char *s = json_string_value(v);
	bool negative = s != NULL && s[0] == '-';
	if (json_is_number(v)) {
		dm_field_errors_add(errors, "amount",
				    "must be a decimal string such as \"-12.30\", not a JSON "
				    "number");
		return false;
	}
	if (cfg_money_parse(negative ? s + 1 : s, fen) != 0 || *fen == 0 ||
	    *fen > DM_COD_BODY_MAX_FEN) {
		dm_field_errors_add(errors, "amount",
				    "must be a non-zero decimal string of -1000000000.00 to "
				    "1000000000.00 with at most two decimals, such as \"-12.30\"");
		return false;
	}
	if (negative)
		*fen = -*fen;
	return true;
}

/* The members every keyed body shares: unknown ones refused, and the day. */
static const char *
dm_cod_body_day_member(const json_t *body, const char *const *known, json_t *errors)
{
	dm_field_errors_unknown(body, "", known, errors);
	const char *day = json_string_value(json_object_get(body, "day"));
	if (!dm_cod_body_day(day))
		dm_field_errors_add(errors, "day", "must be a date YYYY-MM-DD (the shift's day)");
	return day;
}

json_t *
dm_cod_body_settlement(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"day", "handed", "notes", NULL};
	size_t before = json_array_size(errors);
	const char *day = dm_cod_body_day_member(body, known, errors);
	const json_t *handed = json_object_get(body, "handed");
	int64_t fen = 0;
	if (json_is_number(handed))
		dm_field_errors_add(errors, "handed",
				    "must be a decimal string such as \"1299.00\", not a JSON "
				    "number");
	else if (cfg_money_parse(json_string_value(handed), &fen) != 0 ||
		 fen > DM_COD_BODY_MAX_FEN)
		dm_field_errors_add(errors, "handed",
				    "must be a decimal string of 0.00 to 1000000000.00 with at "
				    "most two decimals, such as \"1299.00\"");
	const char *notes = dm_cod_body_text(body, "notes", false, errors);
	if (json_array_size(errors) > before)
		return NULL;
	json_t *req = json_pack("{s:s,s:I}", "day", day, "handed_fen", (json_int_t)fen);
	if (req != NULL && notes != NULL)
		json_object_set_new(req, "notes", json_string(notes));
	return req;
}

const char *
dm_cod_body_resolution(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"reason", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	const char *reason = dm_cod_body_text(body, "reason", true, errors);
	return json_array_size(errors) > before ? NULL : reason;
}

json_t *
dm_cod_body_correction(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"day", "amount", "reason", "order", "settlement",
					    NULL};
	size_t before = json_array_size(errors);
	int64_t fen = 0;
	const char *day = dm_cod_body_day_member(body, known, errors);
	(void)dm_cod_body_signed_amount(json_object_get(body, "amount"), &fen, errors);
	const char *reason = dm_cod_body_text(body, "reason", true, errors);
	const json_t *order = json_object_get(body, "order");
	if (order != NULL && !json_is_null(order) &&
	    !(json_is_string(order) && dm_order_body_valid_id(json_string_value(order))))
		dm_field_errors_add(errors, "order", "must be an order id of this courier's day");
	const json_t *settlement = json_object_get(body, "settlement");
	if (settlement != NULL && !json_is_null(settlement) &&
	    !dm_cod_body_settlement_id(json_string_value(settlement)))
		dm_field_errors_add(errors, "settlement",
				    "must be a settlement id (\"set_\" and 16 hex digits): the day's "
				    "open settlement this correction explains");
	if (json_array_size(errors) > before)
		return NULL;
	json_t *req = json_pack("{s:s,s:I,s:s}", "day", day, "amount_fen", (json_int_t)fen,
				"reason", reason);
	if (req != NULL && json_is_string(order))
		json_object_set_new(req, "order", json_string(json_string_value(order)));
	if (req != NULL && json_is_string(settlement))
		json_object_set_new(req, "settlement",
				    json_string(json_string_value(settlement)));
	return req;
}
