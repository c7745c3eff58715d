/* Order requests and documents (see order_body.h). It owns the request
 * schema of POST /v1/orders (which fields, which limits, the messages of a
 * 422) and the shape of the order document; it does not plan, store or
 * answer anything.
 *
 * Coordinates are rounded to 1e-7 degree (about 1 cm) and printed with 10
 * significant digits, so the 201 body and PostgreSQL's rendering of the
 * stored double (GET /v1/orders/{id}) show the same number. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "config/cfg.h"
#include "daemon/io/query_parse.h"
#include "warehouse/civil.h"

#define DM_INTAKE_ORDER_DUMP (JSON_COMPACT | JSON_REAL_PRECISION(10))

bool
dm_order_body_valid_id(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n < DM_INTAKE_ID_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz"
			 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") == n;
}

static bool
dm_order_body_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void
dm_order_body_parse_key(struct dm_order_body *o, const char *key, json_t *errors)
{
	size_t n = key != NULL ? strlen(key) : 0;
	if (key == NULL || n == 0) {
		dm_field_errors_add(errors, "Idempotency-Key", "the header is required");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (key[i] < 0x21 || key[i] > 0x7e || n > DM_ORDER_BODY_KEY_MAX) {
			dm_field_errors_add(errors, "Idempotency-Key",
					      "must be 1 to 255 visible ASCII characters");
			return;
		}
	}
	memcpy(o->key, key, n + 1);
}

static void
dm_order_body_parse_where(struct dm_order_body *o, const json_t *body, json_t *errors)
{
	const json_t *cust = json_object_get(body, "customer");
	const json_t *st = json_object_get(body, "station_id");
	if (cust != NULL && !json_is_null(cust)) {
		const json_t *lat = json_object_get(cust, "lat"), *lon = json_object_get(cust, "lon");
		static const char *const known[] = {"lat", "lon", NULL};
		if (json_is_object(cust))
			dm_field_errors_unknown(cust, "customer.", known, errors);
		if (!json_is_object(cust)) {
			dm_field_errors_add(errors, "customer", "must be an object {lat, lon}");
		} else if (!json_is_number(lat) || fabs(json_number_value(lat)) > 90) {
			dm_field_errors_add(errors, "customer.lat",
					      "must be a number of degrees in -90..90");
		} else if (!json_is_number(lon) || fabs(json_number_value(lon)) > 180) {
			dm_field_errors_add(errors, "customer.lon",
					      "must be a number of degrees in -180..180");
		} else {
			o->has_loc = true;
			o->lat = round(json_number_value(lat) * 1e7) / 1e7;
			o->lon = round(json_number_value(lon) * 1e7) / 1e7;
		}
	}
	if (st != NULL && !json_is_null(st)) {
		const char *s = json_string_value(st);
		if (s == NULL || !dm_order_body_valid_id(s))
			dm_field_errors_add(errors, "station_id",
					      "must be a station id (1 to 63 characters)");
		else
			snprintf(o->station, sizeof o->station, "%s", s);
	}
	if ((cust == NULL || json_is_null(cust)) && (st == NULL || json_is_null(st)))
		dm_field_errors_add(errors, "customer",
				      "give the customer's location {lat, lon} or a station_id");
}

static void
dm_order_body_parse_lines(struct dm_order_body *o, const json_t *body, json_t *errors)
{
	const json_t *lines = json_object_get(body, "lines");
	char field[48];
	size_t i;
	json_t *line;
	if (!json_is_array(lines) || json_array_size(lines) == 0 ||
	    json_array_size(lines) > WH_ALLOC_MAX_LINES) {
		dm_field_errors_add(errors, "lines", "must be an array of 1 to 64 lines");
		return;
	}
	json_array_foreach(lines, i, line)
	{
		const char *sku = json_string_value(json_object_get(line, "sku"));
		const json_t *qty = json_object_get(line, "qty");
		bool ok = true;
		if (json_is_object(line)) {
			static const char *const known[] = {"sku", "qty", NULL};
			snprintf(field, sizeof field, "lines[%zu].", i);
			dm_field_errors_unknown(line, field, known, errors);
		}
		snprintf(field, sizeof field, "lines[%zu].sku", i);
		if (sku == NULL || !dm_order_body_valid_id(sku)) {
			dm_field_errors_add(errors, field,
					      "must be a SKU (1 to 63 of A-Z a-z 0-9 _ . : / -)");
			ok = false;
		} else {
			for (size_t k = 0; k < o->nlines; k++) {
				if (strcmp(o->lines[k].sku, sku) == 0) {
					dm_field_errors_add(errors, field,
							      "appears twice; merge the lines");
					ok = false;
				}
			}
		}
		snprintf(field, sizeof field, "lines[%zu].qty", i);
		if (!json_is_integer(qty) || json_integer_value(qty) < 1 ||
		    json_integer_value(qty) > DM_ORDER_BODY_QTY_MAX) {
			dm_field_errors_add(errors, field, "must be an integer in 1..100000");
			ok = false;
		}
		if (ok) {
			struct dm_order_body_line *l = &o->lines[o->nlines];
			snprintf(l->sku, sizeof l->sku, "%s", sku);
			l->qty = json_integer_value(qty);
			o->skus[o->nlines] = l->sku;
			o->nlines++;
		}
	}
}

/* ---- the recipient ---- */

/* Characters (UTF-8 code points) of s; jansson strings are valid UTF-8. */
static size_t
dm_order_body_chars(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* No control characters; multiline text may hold line breaks and tabs. */
static bool
dm_order_body_text_ok(const char *s, bool multiline)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (multiline && (c == '\n' || c == '\r' || c == '\t'))
			continue;
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* A plausible phone text: digits with the usual separators, a leading +. */
static bool
dm_order_body_phone_ok(const char *s)
{
	size_t digits = 0, n = strlen(s);
	if (n > DM_ORDER_BODY_PHONE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (!(s[i] == '+' && i == 0) && strchr(" -().", s[i]) == NULL)
			return false;
	}
	return digits >= DM_ORDER_BODY_PHONE_DIGITS_MIN && digits <= DM_ORDER_BODY_PHONE_DIGITS_MAX;
}

/* One text member of the recipient: NULL or absent is fine unless required. */
static void
dm_order_body_parse_text(const json_t *rcp, const char *name, bool required, size_t min,
			 size_t max, bool multiline, const char *message, json_t *errors)
{
	const json_t *v = json_object_get(rcp, name);
	char field[32];
	snprintf(field, sizeof field, "recipient.%s", name);
	if (v == NULL || json_is_null(v)) {
		if (required)
			dm_field_errors_add(errors, field, message);
		return;
	}
	const char *s = json_string_value(v);
	size_t n = s != NULL ? dm_order_body_chars(s) : 0;
	bool ok = s != NULL && n >= min && n <= max && dm_order_body_text_ok(s, multiline);
	/* Text that is only spaces names nobody and nowhere. */
	if (ok && min > 0 && strspn(s, " \t\r\n") == strlen(s))
		ok = false;
	if (ok && strcmp(name, "phone") == 0)
		ok = dm_order_body_phone_ok(s);
	if (!ok)
		dm_field_errors_add(errors, field, message);
}

/* "recipient": {name, phone?, address?, notes?}, optional; kept as entered. */
static void
dm_order_body_parse_recipient(struct dm_order_body *o, const json_t *body, json_t *errors)
{
	static const char *const known[] = {"name", "phone", "address", "notes", NULL};
	const json_t *rcp = json_object_get(body, "recipient");
	size_t before = json_array_size(errors);
	if (rcp == NULL || json_is_null(rcp))
		return;
	if (!json_is_object(rcp)) {
		dm_field_errors_add(errors, "recipient",
				    "must be an object {name, phone, address, notes}");
		return;
	}
	dm_field_errors_unknown(rcp, "recipient.", known, errors);
	dm_order_body_parse_text(rcp, "name", true, 1, DM_ORDER_BODY_NAME_MAX, false,
				 "must be a string of 1 to 200 characters on one line", errors);
	dm_order_body_parse_text(rcp, "phone", false, 1, DM_ORDER_BODY_PHONE_MAX, false,
				 "must be a phone number: 5 to 20 digits, with spaces, - ( ) . "
				 "and a leading + allowed, at most 40 characters",
				 errors);
	dm_order_body_parse_text(rcp, "address", false, 1, DM_ORDER_BODY_ADDRESS_MAX, true,
				 "must be a string of 1 to 500 characters", errors);
	dm_order_body_parse_text(rcp, "notes", false, 0, DM_ORDER_BODY_NOTES_MAX, true,
				 "must be a string of at most 500 characters", errors);
	if (json_array_size(errors) == before && (o->recipient = json_deep_copy(rcp)) == NULL)
		dm_field_errors_add(errors, "recipient", "out of memory");
}

/* "payment": {"method": "cod" | "prepaid", "amount": "1299.00" (cod only),
 * "currency": "CNY"}, optional (issue 13). Amounts are decimal strings,
 * never JSON numbers (a binary float cannot hold 0.10 exactly). */
static void
dm_order_body_parse_payment(struct dm_order_body *o, const json_t *body, json_t *errors)
{
	static const char *const known[] = {"method", "amount", "currency", NULL};
	const json_t *pay = json_object_get(body, "payment");
	size_t before = json_array_size(errors);
	if (pay == NULL || json_is_null(pay))
		return;
	if (!json_is_object(pay)) {
		dm_field_errors_add(errors, "payment",
				    "must be an object {method, amount, currency}");
		return;
	}
	dm_field_errors_unknown(pay, "payment.", known, errors);
	const char *method = json_string_value(json_object_get(pay, "method"));
	bool cod = method != NULL && strcmp(method, "cod") == 0;
	if (method == NULL || (!cod && strcmp(method, "prepaid") != 0))
		dm_field_errors_add(errors, "payment.method", "must be \"cod\" or \"prepaid\"");
	const char *cur = json_string_value(json_object_get(pay, "currency"));
	if (cur == NULL || strcmp(cur, "CNY") != 0)
		dm_field_errors_add(errors, "payment.currency", "must be \"CNY\"");
	const json_t *amount = json_object_get(pay, "amount");
	int64_t fen = 0;
	if (method != NULL && !cod && amount != NULL)
		dm_field_errors_add(errors, "payment.amount",
				    "only with method \"cod\" (a prepaid order has nothing to "
				    "collect)");
	else if (cod && json_is_number(amount))
		dm_field_errors_add(errors, "payment.amount",
				    "must be a decimal string such as \"1299.00\", not a JSON "
				    "number");
	else if (cod && (cfg_money_parse(json_string_value(amount), &fen) != 0 || fen < 1 ||
			 fen > DM_ORDER_BODY_COD_MAX_FEN))
		dm_field_errors_add(errors, "payment.amount",
				    "must be a decimal string of 0.01 to 1000000.00 with at most "
				    "two decimals, such as \"1299.00\"");
	if (json_array_size(errors) != before)
		return;
	snprintf(o->pay_method, sizeof o->pay_method, "%s", method);
	o->cod_fen = cod ? fen : 0;
}

static void dm_order_body_parse_slot(struct dm_order_body *o, const json_t *body,
				       const char *opt, json_t *errors);

/* "pickup_point": "id", required with option "pickup" and only with it. Whether
 * the point exists, is the order's station's and has a place is
 * intake_commit's to say (data/sql/intake_commit.sql). */
static void
dm_order_body_parse_pickup(struct dm_order_body *o, const json_t *body, const char *opt,
			   json_t *errors)
{
	const json_t *pp = json_object_get(body, "pickup_point");
	bool wanted = opt != NULL && strcmp(opt, "pickup") == 0;
	if (pp == NULL && !wanted)
		return;
	if (!wanted) {
		dm_field_errors_add(errors, "pickup_point", "only with delivery_option \"pickup\"");
		return;
	}
	const char *s = json_string_value(pp);
	if (s == NULL || !dm_order_body_valid_id(s)) {
		dm_field_errors_add(errors, "pickup_point",
				    "must be a pickup point id (1 to 63 of A-Z a-z 0-9 _ . : / -) "
				    "from GET /v1/promise");
		return;
	}
	snprintf(o->pickup_point, sizeof o->pickup_point, "%s", s);
}

json_t *
dm_order_body_parse(struct dm_order_body *o, const char *key, const json_t *body)
{
	json_t *errors = json_array();
	memset(o, 0, sizeof *o);
	if (errors == NULL)
		return json_array();
	dm_order_body_parse_key(o, key, errors);
	const char *ext = json_string_value(json_object_get(body, "external_id"));
	if (ext == NULL || ext[0] == '\0' || strlen(ext) >= sizeof o->ext ||
	    !dm_order_body_printable(ext))
		dm_field_errors_add(errors, "external_id",
				      "must be a string of 1 to 63 printable characters");
	else
		snprintf(o->ext, sizeof o->ext, "%s", ext);
	dm_order_body_parse_where(o, body, errors);
	dm_order_body_parse_lines(o, body, errors);
	const char *opt = json_string_value(json_object_get(body, "delivery_option"));
	if (opt == NULL || (strcmp(opt, "standard") != 0 && strcmp(opt, "slot") != 0 &&
			    strcmp(opt, "pickup") != 0))
		dm_field_errors_add(errors, "delivery_option",
				      "must be \"standard\" (the 211 promise), \"slot\" (a precise "
				      "window from GET /v1/promise, given as slot.start) or "
				      "\"pickup\" (at a pickup point, given as pickup_point)");
	else
		snprintf(o->option, sizeof o->option, "%s", opt);
	dm_order_body_parse_slot(o, body, opt, errors);
	dm_order_body_parse_pickup(o, body, opt, errors);
	const json_t *inst = json_object_get(body, "install");
	if (inst != NULL && !json_is_boolean(inst))
		dm_field_errors_add(errors, "install", "must be true or false");
	o->install = json_is_true(inst);
	dm_order_body_parse_recipient(o, body, errors);
	dm_order_body_parse_payment(o, body, errors);
	/* A pickup point takes no money: cash on delivery is collected at the door. */
	if (strcmp(o->pay_method, "cod") == 0 && strcmp(o->option, "pickup") == 0)
		dm_field_errors_add(errors, "payment.method",
				    "cash on delivery is not offered with delivery_option \"pickup\" "
				    "(a pickup point collects no money)");
	static const char *const known[] = {"external_id", "customer", "station_id", "lines",
					    "delivery_option", "slot", "install", "recipient",
					    "payment", "pickup_point", NULL};
	dm_field_errors_unknown(body, "", known, errors);
	if (json_array_size(errors) == 0) {
		o->canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
		if (o->canon != NULL) {
			json_decref(errors);
			return NULL;
		}
		dm_field_errors_add(errors, "body", "out of memory");
	}
	return errors;
}

/* "slot": {"start": "2026-11-23T09:00:00+08:00"}, required with option "slot". */
static void
dm_order_body_parse_slot(struct dm_order_body *o, const json_t *body, const char *opt,
			   json_t *errors)
{
	const json_t *slot = json_object_get(body, "slot");
	bool wanted = opt != NULL && strcmp(opt, "slot") == 0;
	if (slot == NULL && !wanted)
		return;
	if (!wanted) {
		dm_field_errors_add(errors, "slot", "only with delivery_option \"slot\"");
		return;
	}
	static const char *const known[] = {"start", NULL};
	if (json_is_object(slot))
		dm_field_errors_unknown(slot, "slot.", known, errors);
	const char *start = json_string_value(json_object_get(slot, "start"));
	int64_t utc_s;
	int32_t offset_s;
	enum dm_query_parse_status st =
		start != NULL ? dm_query_parse_rfc3339(start, &utc_s, &offset_s)
			      : DM_QUERY_PARSE_E_SYNTAX;
	if (st == DM_QUERY_PARSE_E_SYNTAX) {
		dm_field_errors_add(errors, "slot.start",
				      "must be an RFC 3339 time with its offset, as GET /v1/promise "
				      "gives it (e.g. 2026-11-23T09:00:00+08:00)");
		return;
	}
	if (st != DM_QUERY_PARSE_OK) {
		dm_field_errors_add(errors, "slot.start",
				      "is not a valid time (e.g. 2026-11-23T09:00:00+08:00)");
		return;
	}
	o->has_slot = true;
	o->slot_utc_s = utc_s;
}

void
dm_order_body_fini(struct dm_order_body *o)
{
	free(o->canon);
	o->canon = NULL;
	json_decref(o->recipient);
	o->recipient = NULL;
}

/* ---- documents ---- */

static json_t *
dm_order_body_time(int64_t local_s, int32_t offset_s)
{
	char buf[WH_CIVIL_RFC3339_LEN];
	wh_civil_format(local_s, offset_s, buf, sizeof buf);
	return json_string(buf);
}

/* The order's promise: standard and/or large, and the precise slot booked. */
static json_t *
dm_order_body_promise(const struct dm_order_body_alloc *a)
{
	const struct wh_plan *plan = a->plan;
	int32_t offset_s = a->utc_offset_s;
	json_t *p = json_object();
	if (a->slot != NULL)
		json_object_set_new(p, "slot",
				    json_pack("{s:o,s:o}", "start",
					      dm_order_body_time(a->slot->start_s, offset_s), "end",
					      dm_order_body_time(a->slot->end_s, offset_s)));
	const struct wh_promise *ps[2] = {plan->has_standard ? &plan->standard : NULL,
					  plan->has_large ? &plan->large : NULL};
	static const char *const names[2] = {"standard", "large"};
	for (int i = 0; i < 2; i++) {
		if (ps[i] == NULL)
			continue;
		json_object_set_new(
			p, names[i],
			json_pack("{s:o,s:b,s:o,s:o}", "deliver_by",
				  dm_order_body_time(ps[i]->deliver_by_s, offset_s), "late",
				  ps[i]->late, "window_start",
				  dm_order_body_time(ps[i]->window_start_s, offset_s), "window_end",
				  dm_order_body_time(ps[i]->window_end_s, offset_s)));
	}
	return p;
}

/* The lines of shipment k as [{"sku","qty"}]. */
static json_t *
dm_order_body_ship_lines(const struct dm_order_body *o, const struct wh_plan *plan, size_t k)
{
	json_t *lines = json_array();
	for (size_t i = 0; i < o->nlines; i++)
		if (plan->alloc.lines[i].shipment == (int)k)
			json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", o->lines[i].sku,
							       "qty", (json_int_t)o->lines[i].qty));
	return lines;
}

/* The order's "payment" member (as cod_payment_doc() renders it before any
 * collection), or NULL when the order has none. */
static json_t *
dm_order_body_payment_doc(const struct dm_order_body *o)
{
	char amount[24];
	if (o->pay_method[0] == '\0')
		return NULL;
	if (strcmp(o->pay_method, "cod") != 0)
		return json_pack("{s:s,s:s,s:n}", "method", o->pay_method, "currency", "CNY",
				 "collected");
	return json_pack("{s:s,s:s,s:I,s:s,s:n}", "method", "cod", "amount",
			 cfg_money_format(o->cod_fen, amount), "amount_fen",
			 (json_int_t)o->cod_fen, "currency", "CNY", "collected");
}

static json_t *
dm_order_body_doc(const struct dm_order_body *o, const struct dm_order_body_alloc *a)
{
	const struct wh_plan *plan = a->plan;
	json_t *lines = json_array(), *ships = json_array();
	for (size_t i = 0; i < o->nlines; i++)
		json_array_append_new(lines, json_pack("{s:s,s:I}", "sku", o->lines[i].sku, "qty",
						       (json_int_t)o->lines[i].qty));
	for (size_t k = 0; k < plan->alloc.n_shipments; k++)
		json_array_append_new(ships, json_pack("{s:I,s:s,s:s,s:o}", "seq", (json_int_t)k + 1,
						       "warehouse", a->ship_wh[k], "status",
						       "allocated", "lines",
						       dm_order_body_ship_lines(o, plan, k)));
	json_t *cust = o->has_loc ? json_pack("{s:f,s:f}", "lat", o->lat, "lon", o->lon)
				  : json_null();
	json_t *promise = dm_order_body_promise(a);
	json_t *doc =
		json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:o,s:s,s:b,s:o,s:o,s:o}", "id", a->id,
			  "external_id", o->ext, "status", "allocated", "created_at", a->created_at,
			  "station", "id", a->place->station_id, "name", a->place->station_name,
			  "district", a->place->district_id, "customer", cust, "delivery_option",
			  o->option, "install", o->install, "lines", lines, "shipments", ships,
			  "promise", promise);
	if (doc != NULL) {
		json_object_set_new(doc, "tracking_code", json_string(a->tracking_code));
		json_object_set_new(doc, "recipient",
				    o->recipient != NULL ? json_incref(o->recipient) : json_null());
		json_t *pay = dm_order_body_payment_doc(o);
		if (pay != NULL)
			json_object_set_new(doc, "payment", pay);
		if (o->pickup_point[0] != '\0')
			json_object_set_new(doc, "pickup_point", json_string(o->pickup_point));
	}
	return doc;
}

static json_t *
dm_order_body_entry(const struct dm_order_body *o, const struct dm_order_body_alloc *a,
		      const char *resp)
{
	const struct wh_plan *plan = a->plan;
	json_t *lines = json_array(), *ships = json_array();
	for (size_t i = 0; i < o->nlines; i++) {
		int k = plan->alloc.lines[i].shipment;
		json_array_append_new(lines, json_pack("{s:I,s:s,s:I,s:I,s:s}", "n", (json_int_t)i + 1,
						       "sku", o->lines[i].sku, "qty",
						       (json_int_t)o->lines[i].qty, "ship",
						       (json_int_t)k + 1, "w", a->ship_wh[k]));
	}
	for (size_t k = 0; k < plan->alloc.n_shipments; k++)
		json_array_append_new(ships, json_pack("{s:I,s:s,s:o}", "seq", (json_int_t)k + 1, "w",
						       a->ship_wh[k], "lines",
						       dm_order_body_ship_lines(o, plan, k)));
	json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:o,s:o,s:o}", "key",
			      o->key, "body", o->canon, "id", a->id, "ext", o->ext, "st",
			      a->place->station_id, "stn", a->place->station_name, "dist",
			      a->place->district_id, "opt", o->option, "inst", o->install, "at",
			      a->created_at, "resp", resp, "promise",
			      dm_order_body_promise(a), "lines", lines, "ships",
			      ships);
	if (e != NULL) {
		json_object_set_new(e, "lon", o->has_loc ? json_real(o->lon) : json_null());
		json_object_set_new(e, "lat", o->has_loc ? json_real(o->lat) : json_null());
		/* The station counters to book with the order ("cap", data/sql/intake_commit.sql). */
		json_t *cap = json_array();
		char key[WH_CAPACITY_KEY_LEN];
		for (size_t i = 0; i < a->ncap; i++) {
			wh_capacity_key(&a->cap[i].ref, key, sizeof key);
			json_array_append_new(cap, json_pack("{s:s,s:s,s:i}", "st",
							     a->place->station_id, "k", key, "c",
							     (int)a->cap[i].capacity));
		}
		json_object_set_new(e, "cap", cap);
		/* The recipient as entered, the tracking code, the placing client. */
		json_object_set_new(e, "rcp",
				    o->recipient != NULL ? json_incref(o->recipient) : json_null());
		json_object_set_new(e, "trk", json_string(a->tracking_code));
		json_object_set_new(e, "cli",
				    a->client_id != NULL ? json_string(a->client_id) : json_null());
		/* The payment: method, and the amount to collect in fen (cod). */
		json_object_set_new(e, "pay", o->pay_method[0] != '\0'
						  ? json_string(o->pay_method) : json_null());
		json_object_set_new(e, "cod", strcmp(o->pay_method, "cod") == 0
						  ? json_integer((json_int_t)o->cod_fen)
						  : json_null());
		/* The pickup point (orders.pickup_point_id), checked at commit. */
		if (o->pickup_point[0] != '\0')
			json_object_set_new(e, "pp", json_string(o->pickup_point));
	}
	return e;
}

int
dm_order_body_build(const struct dm_order_body *o, const struct dm_order_body_alloc *a,
		      char **resp, char **entry)
{
	json_t *doc = dm_order_body_doc(o, a);
	*resp = doc != NULL ? json_dumps(doc, DM_INTAKE_ORDER_DUMP) : NULL;
	json_decref(doc);
	json_t *e = *resp != NULL ? dm_order_body_entry(o, a, *resp) : NULL;
	*entry = e != NULL ? json_dumps(e, DM_INTAKE_ORDER_DUMP) : NULL;
	json_decref(e);
	if (*entry == NULL) {
		free(*resp);
		*resp = NULL;
		return -1;
	}
	return 0;
}

char *
dm_order_body_check_entry(const struct dm_order_body *o, const char *id)
{
	json_t *e = json_pack("{s:s,s:s,s:s,s:b}", "key", o->key, "body", o->canon, "id", id, "chk",
			      1);
	char *s = e != NULL ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	return s;
}

void
dm_order_body_new_id(int64_t now_ms, char *out)
{
	static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	static uint64_t fallback;
	unsigned char rnd[10];
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		/* No entropy yet (early boot): still unique within the process. */
		uint64_t x = ++fallback * 0x9e3779b97f4a7c15ULL ^ (uint64_t)now_ms;
		memcpy(rnd, &x, 8);
		rnd[8] = rnd[9] = 0;
	}
	/* 128 bits: 48 of time, 80 random; 26 characters of 5 bits (the first 3). */
	unsigned char v[16];
	for (int i = 0; i < 6; i++)
		v[i] = (unsigned char)((uint64_t)now_ms >> (40 - 8 * i));
	memcpy(v + 6, rnd, 10);
	memcpy(out, "ord_", 4);
	for (int i = 0; i < 26; i++) {
		int bit = i == 0 ? 0 : 3 + (i - 1) * 5, width = i == 0 ? 3 : 5, val = 0;
		for (int b = 0; b < width; b++) {
			int pos = bit + b;
			val = val << 1 | ((v[pos / 8] >> (7 - pos % 8)) & 1);
		}
		out[4 + i] = b32[val];
	}
	out[30] = '\0';
}

int
dm_order_body_new_tracking_code(char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		return -1;
	memcpy(out, "TRK", 3);
	for (size_t i = 0; i < sizeof rnd; i++) {
		out[3 + 2 * i] = hex[rnd[i] >> 4];
		out[4 + 2 * i] = hex[rnd[i] & 15];
	}
	out[DM_ORDER_BODY_TRACKING_LEN - 1] = '\0';
	return 0;
}

bool
dm_order_body_valid_tracking_code(const char *s)
{
	return strlen(s) == DM_ORDER_BODY_TRACKING_LEN - 1 && strncmp(s, "TRK", 3) == 0 &&
	       strspn(s + 3, "0123456789ABCDEF") == DM_ORDER_BODY_TRACKING_LEN - 4;
}

void
dm_order_body_format_utc(int64_t now_ms, char *out)
{
	time_t s = (time_t)(now_ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(now_ms % 1000) % 1000u);
}
