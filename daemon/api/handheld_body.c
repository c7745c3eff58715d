/* The handheld API's request bodies: pings and stop events (see
 * handheld_body.h). Owns the list of failure reason codes. Pure. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config/cfg.h"
#include "daemon/api/field_errors.h"
#include "daemon/api/handheld_body.h"
#include "daemon/io/query_parse.h"

const char *const dm_handheld_body_reasons[] = {
	"customer_absent", "refused", "address_wrong", "damaged", "no_access", "unsafe", "other",
	NULL};

const char *const dm_handheld_body_short_reasons[] = {
	"partial_refusal", "price_dispute", "customer_short", "damaged", "other", NULL};

bool
dm_handheld_body_time_ms(const char *text, int64_t *out_ms)
{
	char buf[DM_HANDHELD_BODY_AT_MAX + 8];
	size_t n = strlen(text);
	int64_t ms = 0;
	if (n < 20 || n > DM_HANDHELD_BODY_AT_MAX)
		return false;
	/* "YYYY-MM-DDTHH:MM:SS", an optional fraction (first three digits
	 * kept), then Z or +hh:mm for dm_query_parse_rfc3339. */
	memcpy(buf, text, 19);
	size_t i = 19;
	if (text[i] == '.') {
		int digits = 0;
		i++;
		if (text[i] < '0' || text[i] > '9')
			return false;
		while (text[i] >= '0' && text[i] <= '9') {
			if (digits < 3)
				ms = ms * 10 + (text[i] - '0');
			digits++;
			i++;
		}
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(text + i, "Z") == 0)
		memcpy(buf + 19, "+00:00", 7);
	else if (strlen(text + i) == 6)
		memcpy(buf + 19, text + i, 7);
	else
		return false;
	int64_t utc_s;
	int32_t offset_s;
	if (dm_query_parse_rfc3339(buf, &utc_s, &offset_s) != DM_QUERY_PARSE_OK)
		return false;
	*out_ms = utc_s * 1000 + ms;
	return true;
}

/* A JSON number (integer or real) into *out; false otherwise. */
static bool
dm_handheld_body_number(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* Ping i of a batch into p; errors name "pings[i].field". */
static void
dm_handheld_body_ping(const json_t *in, size_t i, struct dm_courier_ping *p, json_t *errors)
{
	static const char *const known[] = {"at", "lon", "lat", "accuracy_m", "speed", "heading",
					    NULL};
	char prefix[32], field[64];
	snprintf(prefix, sizeof prefix, "pings[%zu].", i);
	memset(p, 0, sizeof *p);
	if (!json_is_object(in)) {
		snprintf(field, sizeof field, "pings[%zu]", i);
		dm_field_errors_add(errors, field, "must be an object");
		return;
	}
	dm_field_errors_unknown(in, prefix, known, errors);
	const char *at = json_string_value(json_object_get(in, "at"));
	if (at == NULL || !dm_handheld_body_time_ms(at, &p->t_ms)) {
		snprintf(field, sizeof field, "%sat", prefix);
		dm_field_errors_add(errors, field,
				    "must be an RFC 3339 time such as 2026-12-01T10:00:00.123Z");
	}
	if (!dm_handheld_body_number(json_object_get(in, "lon"), &p->lon) || p->lon < -180 ||
	    p->lon > 180) {
		snprintf(field, sizeof field, "%slon", prefix);
		dm_field_errors_add(errors, field, "must be a number in -180..180");
	}
	if (!dm_handheld_body_number(json_object_get(in, "lat"), &p->lat) || p->lat < -90 ||
	    p->lat > 90) {
		snprintf(field, sizeof field, "%slat", prefix);
		dm_field_errors_add(errors, field, "must be a number in -90..90");
	}
	if (!dm_handheld_body_number(json_object_get(in, "accuracy_m"), &p->acc_m) ||
	    p->acc_m < 0 || p->acc_m > 100000) {
		snprintf(field, sizeof field, "%saccuracy_m", prefix);
		dm_field_errors_add(errors, field, "must be a number in 0..100000");
	}
	const json_t *v = json_object_get(in, "speed");
	if (v != NULL && !json_is_null(v)) {
		p->has_speed = dm_handheld_body_number(v, &p->speed_mps) && p->speed_mps >= 0 &&
			       p->speed_mps <= 100;
		if (!p->has_speed) {
			snprintf(field, sizeof field, "%sspeed", prefix);
			dm_field_errors_add(errors, field, "must be a number in 0..100 (m/s)");
		}
	}
	v = json_object_get(in, "heading");
	if (v != NULL && !json_is_null(v)) {
		p->has_heading = dm_handheld_body_number(v, &p->heading_deg) &&
				 p->heading_deg >= 0 && p->heading_deg <= 360;
		if (!p->has_heading) {
			snprintf(field, sizeof field, "%sheading", prefix);
			dm_field_errors_add(errors, field,
					    "must be a number in 0..360 (degrees)");
		}
	}
}

int
dm_handheld_body_pings(const json_t *body, struct dm_courier_ping *out, size_t *n,
		       json_t *errors)
{
	static const char *const known[] = {"pings", NULL};
	size_t before = json_array_size(errors);
	*n = 0;
	dm_field_errors_unknown(body, "", known, errors);
	const json_t *in = json_object_get(body, "pings");
	if (!json_is_array(in) || json_array_size(in) < 1 ||
	    json_array_size(in) > DM_COURIER_PINGS_BATCH_MAX) {
		dm_field_errors_add(errors, "pings", "must be an array of 1 to 100 pings");
		return -1;
	}
	for (size_t i = 0; i < json_array_size(in); i++)
		dm_handheld_body_ping(json_array_get(in, i), i, &out[i], errors);
	if (json_array_size(errors) > before)
		return -1;
	*n = json_array_size(in);
	return 0;
}

/* A string member of at most max bytes, or NULL (an error added when present
 * but wrong; *bad set). */
static const char *
dm_handheld_body_text(const json_t *obj, const char *name, const char *field, size_t max,
		      bool *bad, json_t *errors)
{
	const json_t *v = json_object_get(obj, name);
	char message[64];
	if (v == NULL)
		return NULL;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(message, sizeof message, "must be a string of at most %zu bytes", max);
		dm_field_errors_add(errors, field, message);
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

static bool
dm_handheld_body_in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* "collected" of a delivered event, in its normal form {method, amount_fen,
 * reference?, short_reason?}; NULL after appending to errors. */
static json_t *
dm_handheld_body_collected(const json_t *in, json_t *errors)
{
	static const char *const known[] = {"method", "amount", "reference", "short_reason",
					    NULL};
	static const char *const methods[] = {"cash", "card", "mobile", NULL};
	size_t before = json_array_size(errors);
	bool bad = false;
	if (!json_is_object(in)) {
		dm_field_errors_add(errors, "collected",
				    "must be an object {method, amount, reference, short_reason}");
		return NULL;
	}
	dm_field_errors_unknown(in, "collected.", known, errors);
	const char *method = json_string_value(json_object_get(in, "method"));
	if (method == NULL || !dm_handheld_body_in(methods, method)) {
		dm_field_errors_add(errors, "collected.method", "must be cash, card or mobile");
		method = NULL;
	}
	const json_t *amount = json_object_get(in, "amount");
	int64_t fen = 0;
	if (json_is_number(amount))
		dm_field_errors_add(errors, "collected.amount",
				    "must be a decimal string such as \"12.30\", not a JSON "
				    "number");
	else if (cfg_money_parse(json_string_value(amount), &fen) != 0 ||
		 fen > DM_HANDHELD_BODY_COLLECT_MAX_FEN)
		dm_field_errors_add(errors, "collected.amount",
				    "must be a decimal string of 0.01 to 1000000.00 with at most "
				    "two decimals, such as \"12.30\"");
	else if (fen == 0) /* an order asks at least 0.01: nothing paid is no delivery */
		dm_field_errors_add(errors, "collected.amount",
				    "must be at least 0.01: a delivery where nothing was "
				    "collected is a failed stop (reason refused), not a delivery");
	const char *ref = dm_handheld_body_text(in, "reference", "collected.reference",
						DM_HANDHELD_BODY_PAYREF_MAX, &bad, errors);
	if (ref != NULL && !bad) {
		for (const char *c = ref; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				dm_field_errors_add(errors, "collected.reference",
						    "must not hold control characters");
				bad = true;
				break;
			}
		}
	}
	if (method != NULL && strcmp(method, "cash") != 0 && !bad &&
	    (ref == NULL || ref[0] == '\0'))
		dm_field_errors_add(errors, "collected.reference",
				    "is required for card and mobile: the POS or payment "
				    "transaction reference");
	else if (method != NULL && strcmp(method, "cash") == 0 && ref != NULL)
		dm_field_errors_add(errors, "collected.reference",
				    "is only for card and mobile payments");
	const char *why = dm_handheld_body_text(in, "short_reason", "collected.short_reason", 32,
						&bad, errors);
	if (why != NULL && !dm_handheld_body_in(dm_handheld_body_short_reasons, why))
		dm_field_errors_add(errors, "collected.short_reason",
				    "must be partial_refusal, price_dispute, customer_short, "
				    "damaged or other");
	if (json_array_size(errors) > before)
		return NULL;
	json_t *out = json_pack("{s:s,s:I}", "method", method, "amount_fen", (json_int_t)fen);
	if (out != NULL && ref != NULL)
		json_object_set_new(out, "reference", json_string(ref));
	if (out != NULL && why != NULL)
		json_object_set_new(out, "short_reason", json_string(why));
	return out;
}

json_t *
dm_handheld_body_event(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"event", "reason", "notes", "proof", "collected",
					    NULL};
	static const char *const proof_known[] = {"pin", "photo_ref", "signature_ref", NULL};
	size_t before = json_array_size(errors);
	bool bad = false;
	dm_field_errors_unknown(body, "", known, errors);
	const char *ev = json_string_value(json_object_get(body, "event"));
	if (ev == NULL || (strcmp(ev, "arrived") != 0 && strcmp(ev, "delivered") != 0 &&
			   strcmp(ev, "failed") != 0 && strcmp(ev, "picked_up") != 0)) {
		dm_field_errors_add(errors, "event",
				    "must be arrived, delivered, failed or picked_up");
		ev = NULL;
	}
	bool failed = ev != NULL && strcmp(ev, "failed") == 0;
	bool delivered = ev != NULL && strcmp(ev, "delivered") == 0;
	const char *reason = dm_handheld_body_text(body, "reason", "reason", 32, &bad, errors);
	const char *notes = dm_handheld_body_text(body, "notes", "notes",
						  DM_HANDHELD_BODY_NOTES_MAX, &bad, errors);
	if (failed && reason == NULL && !bad)
		dm_field_errors_add(errors, "reason",
				    "is required for failed: customer_absent, refused, "
				    "address_wrong, damaged, no_access, unsafe or other");
	else if (reason != NULL && !failed)
		dm_field_errors_add(errors, "reason", "is only for failed events");
	else if (reason != NULL) {
		size_t i = 0;
		while (dm_handheld_body_reasons[i] != NULL &&
		       strcmp(dm_handheld_body_reasons[i], reason) != 0)
			i++;
		if (dm_handheld_body_reasons[i] == NULL)
			dm_field_errors_add(errors, "reason",
					    "must be customer_absent, refused, address_wrong, "
					    "damaged, no_access, unsafe or other");
		else if (strcmp(reason, "other") == 0 && (notes == NULL || notes[0] == '\0') &&
			 !bad)
			dm_field_errors_add(errors, "notes", "is required when reason is other");
	}
	const json_t *proof = json_object_get(body, "proof");
	const char *pin = NULL, *photo = NULL, *sig = NULL;
	if (proof != NULL && !json_is_object(proof))
		dm_field_errors_add(errors, "proof", "must be an object");
	else if (proof != NULL && !delivered)
		dm_field_errors_add(errors, "proof", "is only for delivered events");
	else if (proof != NULL) {
		dm_field_errors_unknown(proof, "proof.", proof_known, errors);
		pin = dm_handheld_body_text(proof, "pin", "proof.pin", DM_HANDHELD_BODY_PIN_MAX,
					    &bad, errors);
		photo = dm_handheld_body_text(proof, "photo_ref", "proof.photo_ref",
					      DM_HANDHELD_BODY_REF_MAX, &bad, errors);
		sig = dm_handheld_body_text(proof, "signature_ref", "proof.signature_ref",
					    DM_HANDHELD_BODY_REF_MAX, &bad, errors);
	}
	const json_t *coll = json_object_get(body, "collected");
	json_t *collected = NULL;
	if (coll != NULL && !json_is_null(coll) && !delivered)
		dm_field_errors_add(errors, "collected", "is only for delivered events");
	else if (coll != NULL && !json_is_null(coll))
		collected = dm_handheld_body_collected(coll, errors);
	if (json_array_size(errors) > before) {
		json_decref(collected);
		return NULL;
	}
	json_t *out = json_pack("{s:s}", "event", ev);
	if (out == NULL) {
		json_decref(collected);
		return NULL;
	}
	if (collected != NULL)
		json_object_set_new(out, "collected", collected);
	if (reason != NULL)
		json_object_set_new(out, "reason", json_string(reason));
	if (notes != NULL)
		json_object_set_new(out, "notes", json_string(notes));
	if (delivered) {
		json_t *p = json_object();
		if (pin != NULL)
			json_object_set_new(p, "pin", json_string(pin));
		if (photo != NULL)
			json_object_set_new(p, "photo_ref", json_string(photo));
		if (sig != NULL)
			json_object_set_new(p, "signature_ref", json_string(sig));
		json_object_set_new(out, "proof", p);
	}
	return out;
}
