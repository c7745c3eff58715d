/* The warehouse side's request bodies (api/warehouse_body.h): stock counts
 * and shipment scans. Pure: jansson, the shipment lifecycle's table
 * (warehouse/shipment.h) and the time parser; the caller passes the clock. */
#include "daemon/api/warehouse_body.h"

#include <stdio.h>
#include <string.h>

#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/io/query_parse.h"
#include "warehouse/shipment.h"

int
dm_warehouse_body_stock(const json_t *body, int64_t *on_hand, const char **reason,
			json_t *errors)
{
	static const char *const known[] = {"on_hand", "reason", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	if (json_array_size(errors) > before)
		return -3;
	const json_t *v = json_object_get(body, "on_hand");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > DM_WAREHOUSE_BODY_ON_HAND_MAX) {
		dm_field_errors_add(errors, "on_hand", "must be an integer in 0..1000000000");
		return -1;
	}
	const json_t *why = json_object_get(body, "reason");
	if (why != NULL &&
	    (!json_is_string(why) || strlen(json_string_value(why)) > DM_WAREHOUSE_BODY_REASON_MAX)) {
		dm_field_errors_add(errors, "reason", "must be a string of at most 200 bytes");
		return -2;
	}
	*on_hand = json_integer_value(v);
	*reason = why != NULL ? json_string_value(why) : "";
	return 0;
}

static void
dm_warehouse_body_error(json_t *errors, const char *prefix, const char *field,
			const char *message)
{
	json_array_append_new(errors, json_pack("{s:o,s:s}", "field",
						json_sprintf("%s%s", prefix, field), "message",
						message));
}

bool
dm_warehouse_body_at(const char *text, char out[DM_WAREHOUSE_BODY_UTC_LEN])
{
	char buf[DM_WAREHOUSE_BODY_AT_MAX + 8];
	size_t n = strlen(text);
	if (n < 20 || n > DM_WAREHOUSE_BODY_AT_MAX)
		return false;
	/* "YYYY-MM-DDTHH:MM:SS" then an optional fraction, then Z or +hh:mm. */
	memcpy(buf, text, 19);
	size_t i = 19, o = 19;
	if (text[i] == '.') {
		i++;
		if (text[i] < '0' || text[i] > '9')
			return false;
		while (text[i] >= '0' && text[i] <= '9')
			i++;
	}
	if (strcmp(text + i, "Z") == 0)
		memcpy(buf + o, "+00:00", 7);
	else
		snprintf(buf + o, sizeof buf - o, "%s", text + i);
	int64_t utc_s;
	int32_t offset_s;
	if (dm_query_parse_rfc3339(buf, &utc_s, &offset_s) != DM_QUERY_PARSE_OK)
		return false;
	return dm_query_parse_utc_format(utc_s, out);
}

/* Check a scan's event, at and place (members of obj) into s; each problem
 * is one entry of errors, its field prefixed. */
static void
dm_warehouse_body_scan_fields(const json_t *obj, const char *prefix, int64_t now_s,
			      struct dm_warehouse_body_scan *s, json_t *errors)
{
	enum wh_shipment_state ev = WH_SHIPMENT_ALLOCATED;
	const json_t *v = json_object_get(obj, "event");
	s->event = json_string_value(v);
	if (s->event == NULL || wh_shipment_state_parse(s->event, &ev) != WH_OK ||
	    !wh_shipment_scan_allowed(WH_SHIPMENT_BY_ADMIN, ev))
		dm_warehouse_body_error(errors, prefix, "event",
					"must be picked, packed, departed_warehouse or "
					"arrived_at_station");
	s->at[0] = '\0';
	v = json_object_get(obj, "at");
	if (v == NULL) {
		/* No time given: the daemon's clock ([testing] clock in tests and
		 * the simulated day), not PostgreSQL's now(). */
		if (!dm_query_parse_utc_format(now_s, s->at))
			s->at[0] = '\0';
	} else if (!json_is_string(v) || !dm_warehouse_body_at(json_string_value(v), s->at)) {
		dm_warehouse_body_error(errors, prefix, "at", "must be an RFC 3339 time");
	}
	v = json_object_get(obj, "place");
	s->place = "";
	if (v != NULL && (!json_is_string(v) ||
			  strlen(json_string_value(v)) > DM_WAREHOUSE_BODY_PLACE_MAX))
		dm_warehouse_body_error(errors, prefix, "place",
					"must be a string of at most 200 bytes");
	else if (v != NULL)
		s->place = json_string_value(v);
}

int
dm_warehouse_body_scan(const json_t *body, int64_t now_s, struct dm_warehouse_body_scan *s,
		       json_t *errors)
{
	static const char *const known[] = {"event", "at", "place", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	dm_warehouse_body_scan_fields(body, "", now_s, s, errors);
	return json_array_size(errors) > before ? -1 : 0;
}

/* Check scan i of a batch; on success append its normal form to out. */
static void
dm_warehouse_body_batch_scan(const json_t *in, size_t i, int64_t now_s, json_t *out,
			     json_t *errors)
{
	static const char *const known[] = {"order", "seq", "event", "key", "at", "place", NULL};
	struct dm_warehouse_body_scan s;
	char prefix[32];
	size_t before = json_array_size(errors);
	snprintf(prefix, sizeof prefix, "scans[%zu].", i);
	if (!json_is_object(in)) {
		dm_warehouse_body_error(errors, prefix, "", "must be an object");
		return;
	}
	dm_field_errors_unknown(in, prefix, known, errors);
	const char *order = json_string_value(json_object_get(in, "order"));
	if (order == NULL || !dm_order_body_valid_id(order))
		dm_warehouse_body_error(errors, prefix, "order", "must be an order id");
	const json_t *seq = json_object_get(in, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1 ||
	    json_integer_value(seq) > 32767)
		dm_warehouse_body_error(errors, prefix, "seq", "must be an integer in 1..32767");
	const char *key = json_string_value(json_object_get(in, "key"));
	if (key == NULL || key[0] == '\0' || strlen(key) > DM_WAREHOUSE_BODY_KEY_MAX)
		dm_warehouse_body_error(errors, prefix, "key",
					"must be a string of 1 to 255 bytes");
	dm_warehouse_body_scan_fields(in, prefix, now_s, &s, errors);
	if (json_array_size(errors) > before)
		return;
	json_t *o = json_pack("{s:s,s:O,s:s,s:s,s:s}", "order", order, "seq", seq, "event",
			      s.event, "key", key, "place", s.place);
	if (s.at[0] != '\0')
		json_object_set_new(o, "at", json_string(s.at));
	json_array_append_new(out, o);
}

json_t *
dm_warehouse_body_batch(const json_t *body, int64_t now_s, json_t *errors)
{
	static const char *const known[] = {"scans", NULL};
	size_t before = json_array_size(errors);
	json_t *scans = json_array();
	dm_field_errors_unknown(body, "", known, errors);
	const json_t *in = json_object_get(body, "scans");
	if (!json_is_array(in) || json_array_size(in) < 1 ||
	    json_array_size(in) > DM_WAREHOUSE_BODY_BATCH_MAX)
		dm_warehouse_body_error(errors, "", "scans", "must be an array of 1 to 500 scans");
	else
		for (size_t i = 0; i < json_array_size(in); i++)
			dm_warehouse_body_batch_scan(json_array_get(in, i), i, now_s, scans, errors);
	if (json_array_size(errors) > before) {
		json_decref(scans);
		return NULL;
	}
	return scans;
}
