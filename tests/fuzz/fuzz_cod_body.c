/* libFuzzer harness: the cash-on-delivery hand-over's request parsers
 * (daemon/api/cod_body.c). The first byte picks the parser: 's' a
 * settlement, 'r' a resolution, anything else a correction; the rest is the
 * body. Each promises to take any object and either accept it or add
 * {field, message} errors, never both. An accepted settlement's normal form
 * has a real day of 2000..2999 and handed_fen in 0..100,000,000,000; a
 * correction's a non-zero amount_fen within that either way, and its
 * settlement, when given, a settlement id ("set_" and 16 hex); a reason is
 * 1..500 characters, not only spaces, without control characters but tabs
 * and line breaks. Money round-trips: the normal form, written back as a
 * decimal string ("-12.30"), parses again to itself. */
#include <stdio.h>

#include "daemon/api/cod_body.h"
#include "tests/fuzz/fuzz_common.h"

/* fen as the API writes money: "-12.30". */
static json_t *
fuzz_cod_body_money(json_int_t fen)
{
	json_int_t a = fen < 0 ? -fen : fen;
	return json_sprintf("%s%lld.%02lld", fen < 0 ? "-" : "", (long long)(a / 100),
			    (long long)(a % 100));
}

static void
fuzz_cod_body_text(const char *s)
{
	size_t chars = 0;
	if (s == NULL || strspn(s, " \t\r\n") == strlen(s))
		__builtin_trap();
	for (const char *c = s; *c != '\0'; c++) {
		if (((unsigned char)*c < 0x20 && strchr("\t\r\n", *c) == NULL) || *c == 0x7f)
			__builtin_trap();
		chars += ((unsigned char)*c & 0xc0) != 0x80;
	}
	if (chars > DM_COD_BODY_TEXT_MAX)
		__builtin_trap();
}

/* Parse norm's body form again (amount member name and value rewritten)
 * and compare normal forms. */
static void
fuzz_cod_body_again(json_t *req, const char *fen_name, const char *money_name, bool settlement)
{
	json_t *body = json_deep_copy(req), *errors = json_array();
	json_object_del(body, fen_name);
	json_object_set_new(body, money_name,
			    fuzz_cod_body_money(json_integer_value(json_object_get(req, fen_name))));
	json_t *again = settlement ? dm_cod_body_settlement(body, errors)
				   : dm_cod_body_correction(body, errors);
	if (again == NULL || !json_equal(again, req))
		__builtin_trap();
	json_decref(again);
	json_decref(errors);
	json_decref(body);
}

static void
fuzz_cod_body_check(uint8_t which, const json_t *body)
{
	json_t *errors = json_array();
	if (which == 'r') {
		const char *reason = dm_cod_body_resolution(body, errors);
		fuzz_common_check_errors(errors, 0, reason != NULL);
		if (reason != NULL)
			fuzz_cod_body_text(reason);
	} else {
		bool settlement = which == 's';
		json_t *req = settlement ? dm_cod_body_settlement(body, errors)
					 : dm_cod_body_correction(body, errors);
		fuzz_common_check_errors(errors, 0, req != NULL);
		if (req != NULL) {
			json_int_t fen = json_integer_value(
			    json_object_get(req, settlement ? "handed_fen" : "amount_fen"));
			if (!dm_cod_body_day(json_string_value(json_object_get(req, "day"))) ||
			    (settlement ? fen < 0 : fen == 0 || fen < -DM_COD_BODY_MAX_FEN) ||
			    fen > DM_COD_BODY_MAX_FEN)
				__builtin_trap();
			if (!settlement) {
				fuzz_cod_body_text(json_string_value(json_object_get(req, "reason")));
				const json_t *sid = json_object_get(req, "settlement");
				if (sid != NULL && !dm_cod_body_settlement_id(json_string_value(sid)))
					__builtin_trap();
			}
			fuzz_cod_body_again(req, settlement ? "handed_fen" : "amount_fen",
					    settlement ? "handed" : "amount", settlement);
		}
		json_decref(req);
	}
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_common_one(data, size, fuzz_cod_body_check);
}
