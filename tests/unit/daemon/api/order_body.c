/* Unit tests for daemon/api/order_body.c: the POST /v1/orders request
 * schema. A table of bodies with the fields a 422 names (in order), the
 * values a valid body yields, the canonical text the idempotency hash is
 * taken over, and the documents' small helpers (ids, times). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/api/order_body.h"

#define KEY "k-1"
/* A valid body's members, to build cases from. */
#define EXT "\"external_id\":\"SHOP-1\""
#define CUST "\"customer\":{\"lat\":39.9087,\"lon\":116.3975}"
#define LINES "\"lines\":[{\"sku\":\"SKU-00001\",\"qty\":2}]"
#define STD "\"delivery_option\":\"standard\""
#define GOOD "{" EXT "," CUST "," LINES "," STD "}"

struct body_case {
	const char *key;    /* Idempotency-Key, NULL when absent */
	const char *body;   /* a JSON object */
	const char *fields; /* the fields of the 422, comma-separated in order; "" when valid */
};

static const struct body_case body_cases[] = {
	{KEY, GOOD, ""},
	{KEY, "{" EXT ",\"station_id\":\"bj-st-001\"," LINES "," STD "}", ""},
	{KEY, "{" EXT "," CUST ",\"station_id\":null," LINES "," STD ",\"install\":true}", ""},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"slot\","
	      "\"slot\":{\"start\":\"2026-11-23T09:00:00+08:00\"}}", ""},
	/* the key */
	{NULL, GOOD, "Idempotency-Key"},
	{"", GOOD, "Idempotency-Key"},
	{"a b", GOOD, "Idempotency-Key"},
	{"caf\xc3\xa9", GOOD, "Idempotency-Key"},
	/* external_id: any printable text (it is stored as a parameter, never in SQL text) */
	{KEY, "{\"external_id\":\"x'); DROP TABLE orders;--\"," CUST "," LINES "," STD "}", ""},
	{KEY, "{\"external_id\":\"\"," CUST "," LINES "," STD "}", "external_id"},
	{KEY, "{\"external_id\":12," CUST "," LINES "," STD "}", "external_id"},
	{KEY, "{\"external_id\":\"a\\tb\"," CUST "," LINES "," STD "}", "external_id"},
	{KEY, "{\"external_id\":\"a\\u007fb\"," CUST "," LINES "," STD "}", "external_id"},
	{KEY, "{\"external_id\":\"01234567890123456789012345678901"
	      "23456789012345678901234567890123\","
	      CUST "," LINES "," STD "}", "external_id"},
	{KEY, "{" CUST "," LINES "," STD "}", "external_id"},
	/* where */
	{KEY, "{" EXT "," LINES "," STD "}", "customer"},
	{KEY, "{" EXT ",\"customer\":null," LINES "," STD "}", "customer"},
	{KEY, "{" EXT ",\"customer\":[39.9,116.4]," LINES "," STD "}", "customer"},
	{KEY, "{" EXT ",\"customer\":{\"lat\":90.5,\"lon\":116.4}," LINES "," STD "}",
	 "customer.lat"},
	{KEY, "{" EXT ",\"customer\":{\"lat\":\"39.9\",\"lon\":116.4}," LINES "," STD "}",
	 "customer.lat"},
	{KEY, "{" EXT ",\"customer\":{\"lat\":39.9}," LINES "," STD "}", "customer.lon"},
	{KEY, "{" EXT ",\"customer\":{\"lat\":39.9,\"lon\":-181}," LINES "," STD "}",
	 "customer.lon"},
	{KEY, "{" EXT ",\"station_id\":\"bj-st-001'--\"," LINES "," STD "}", "station_id"},
	{KEY, "{" EXT ",\"station_id\":7," LINES "," STD "}", "station_id"},
	/* lines */
	{KEY, "{" EXT "," CUST "," STD "}", "lines"},
	{KEY, "{" EXT "," CUST ",\"lines\":[]," STD "}", "lines"},
	{KEY, "{" EXT "," CUST ",\"lines\":{}," STD "}", "lines"},
	{KEY, "{" EXT "," CUST ",\"lines\":[1]," STD "}", "lines[0].sku,lines[0].qty"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"A\",\"qty\":1},{\"sku\":\"A\",\"qty\":1}],"
	      STD "}", "lines[1].sku"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"bad sku\",\"qty\":1}]," STD "}",
	 "lines[0].sku"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"S';DELETE FROM stock;--\",\"qty\":1}],"
	      STD "}", "lines[0].sku"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"A\",\"qty\":0}]," STD "}", "lines[0].qty"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"A\",\"qty\":100001}]," STD "}",
	 "lines[0].qty"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"A\",\"qty\":1.0}]," STD "}", "lines[0].qty"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"A\",\"qty\":\"1\"}]," STD "}",
	 "lines[0].qty"},
	/* delivery option and slot */
	{KEY, "{" EXT "," CUST "," LINES "}", "delivery_option"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"teleport\"}", "delivery_option"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"slot\"}", "slot.start"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ","
	      "\"slot\":{\"start\":\"2026-11-23T09:00:00+08:00\"}}",
	 "slot"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"slot\","
	      "\"slot\":{\"start\":\"2026-11-23 09:00\"}}", "slot.start"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"slot\","
	      "\"slot\":{\"start\":\"2026-02-30T09:00:00+08:00\"}}", "slot.start"},
	/* pickup: a point id with option "pickup", and only with it */
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"pp-bj-001\"}", ""},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\"}", "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":null}", "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":7}", "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"\"}", "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"pp 1\"}", "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":{\"id\":\"pp-1\"}}", "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
	 "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"pickup_point\":\"pp-bj-001\"}",
	 "pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"pp-1\",\"slot\":{\"start\":\"2026-11-23T09:00:00+08:00\"}}",
	 "slot"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"Pickup\","
	      "\"pickup_point\":\"pp-1\"}", "delivery_option,pickup_point"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"install\":\"yes\"}", "install"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"install\":null}", "install"},
	/* unknown members are refused, at every level */
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"note\":\"leave at door\"}", "note"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"instal\":true}", "instal"},
	{KEY, "{" EXT ",\"customer\":{\"lat\":39.9,\"lon\":116.4,\"alt\":3}," LINES "," STD "}",
	 "customer.alt"},
	{KEY, "{" EXT "," CUST ",\"lines\":[{\"sku\":\"A\",\"qty\":1,\"price\":9}]," STD "}",
	 "lines[0].price"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"slot\","
	      "\"slot\":{\"start\":\"2026-11-23T09:00:00+08:00\",\"end\":\"x\"}}", "slot.end"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"a\":1,\"b\":2}", "a,b"},
	/* the recipient: optional, name required, each member bounded */
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"Wang Wei\","
	      "\"phone\":\"+86 (138) 0013-8000\",\"address\":\"12 Dongsi St\\nFlat 4\","
	      "\"notes\":\"\"}}", ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"\u738b\u4f1f\"}}",
	 ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":null}", ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\",\"phone\":null}}",
	 ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":\"Wang\"}", "recipient"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{}}", "recipient.name"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"   \"}}",
	 "recipient.name"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"a\\nb\"}}",
	 "recipient.name"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":7}}", "recipient.name"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\","
	      "\"phone\":\"call me\"}}", "recipient.phone"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\","
	      "\"phone\":\"1234\"}}", "recipient.phone"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\","
	      "\"phone\":\"138+0013\"}}", "recipient.phone"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\","
	      "\"phone\":\"123456789012345678901\"}}", "recipient.phone"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\","
	      "\"address\":\"\",\"notes\":\"a\\u0001\"}}", "recipient.address,recipient.notes"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"recipient\":{\"name\":\"W\","
	      "\"email\":\"w@example.com\"}}", "recipient.email"},
	/* the payment (issue 13): decimal strings, never JSON numbers */
	/* cash on delivery is refused for a pickup point (it collects no money) */
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"pp-bj-001\",\"payment\":{\"method\":\"cod\","
	      "\"amount\":\"1.00\",\"currency\":\"CNY\"}}", "payment.method"},
	{KEY, "{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
	      "\"pickup_point\":\"pp-bj-001\",\"payment\":{\"method\":\"prepaid\","
	      "\"currency\":\"CNY\"}}", ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"payment\":{\"method\":\"cod\","
	      "\"amount\":\"0.10\",\"currency\":\"CNY\"}}", ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"payment\":{\"method\":\"prepaid\","
	      "\"currency\":\"CNY\"}}", ""},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"payment\":{\"method\":\"cod\","
	      "\"amount\":0.1,\"currency\":\"CNY\"}}", "payment.amount"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"payment\":{\"method\":\"cod\","
	      "\"amount\":\"1000000.01\",\"currency\":\"EUR\",\"x\":1}}",
	 "payment.x,payment.currency,payment.amount"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"payment\":{\"method\":\"prepaid\","
	      "\"amount\":\"1.00\",\"currency\":\"CNY\"}}", "payment.amount"},
	{KEY, "{" EXT "," CUST "," LINES "," STD ",\"payment\":\"cod\"}", "payment"},
	/* everything wrong at once: each field once, in schema order */
	{NULL, "{\"external_id\":\"\",\"customer\":{\"lat\":99,\"lon\":116.4},"
	       "\"lines\":[{\"sku\":\"bad sku\",\"qty\":0},{\"sku\":\"SKU-00001\",\"qty\":1.5}],"
	       "\"delivery_option\":\"teleport\",\"install\":\"yes\",\"x\":null}",
	 "Idempotency-Key,external_id,customer.lat,lines[0].sku,lines[0].qty,lines[1].qty,"
	 "delivery_option,install,x"},
};

/* The "field" members of errors, comma-separated. */
static void
body_fields(const json_t *errors, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *e;
	buf[0] = '\0';
	json_array_foreach(errors, i, e)
	{
		const char *f = json_string_value(json_object_get(e, "field"));
		assert_non_null(f);
		assert_non_null(json_string_value(json_object_get(e, "message")));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i > 0 ? "," : "", f);
		assert_true(off < len);
	}
}

static json_t *
body_load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL)
		fail_msg("bad fixture %s: %s", text, jerr.text);
	return v;
}

static void
order_body_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
		const struct body_case *c = &body_cases[i];
		struct dm_order_body o;
		char fields[512] = "";
		json_t *body = body_load(c->body);
		json_t *errors = dm_order_body_parse(&o, c->key, body);
		if (errors != NULL)
			body_fields(errors, fields, sizeof fields);
		if (strcmp(fields, c->fields) != 0 || (errors == NULL) != (c->fields[0] == '\0'))
			fail_msg("case %zu: %s: fields \"%s\", want \"%s\"", i, c->body, fields,
				 c->fields);
		if (errors == NULL)
			assert_non_null(o.canon);
		else
			assert_null(o.canon);
		json_decref(errors);
		dm_order_body_fini(&o);
		json_decref(body);
	}
}

static void
order_body_values(void **state)
{
	struct dm_order_body o;
	(void)state;
	json_t *body = body_load("{\"external_id\":\"x'); DROP TABLE orders;--\","
				 "\"customer\":{\"lat\":39.123456789,\"lon\":-116.00000004},"
				 "\"lines\":[{\"sku\":\"A\",\"qty\":2},"
				 "{\"sku\":\"B:1\",\"qty\":100000}],"
				 "\"delivery_option\":\"slot\",\"install\":true,"
				 "\"slot\":{\"start\":\"2026-11-23T09:00:00+08:00\"}}");
	assert_null(dm_order_body_parse(&o, "key-\x21\x7e", body));
	assert_string_equal(o.key, "key-!~");
	assert_string_equal(o.ext, "x'); DROP TABLE orders;--");
	assert_true(o.has_loc);
	assert_true(o.lat == 39.1234568);
	assert_true(o.lon == -116.0);
	assert_string_equal(o.station, "");
	assert_string_equal(o.option, "slot");
	assert_true(o.has_slot);
	assert_int_equal(o.slot_utc_s, 1795395600); /* 2026-11-23T01:00:00Z */
	assert_true(o.install);
	assert_int_equal(o.nlines, 2);
	assert_string_equal(o.lines[1].sku, "B:1");
	assert_int_equal(o.lines[1].qty, 100000);
	assert_ptr_equal(o.skus[1], o.lines[1].sku);
	dm_order_body_fini(&o);
	dm_order_body_fini(&o); /* idempotent */
	json_decref(body);
}

/* Option "pickup" keeps the point's id; other options leave it empty. */
static void
order_body_pickup(void **state)
{
	struct dm_order_body o;
	(void)state;
	json_t *body = body_load("{" EXT "," CUST "," LINES ",\"delivery_option\":\"pickup\","
				 "\"pickup_point\":\"pp-bj-001\"}");
	assert_null(dm_order_body_parse(&o, KEY, body));
	assert_string_equal(o.option, "pickup");
	assert_string_equal(o.pickup_point, "pp-bj-001");
	assert_false(o.has_slot);
	assert_non_null(strstr(o.canon, "\"pickup_point\":\"pp-bj-001\""));
	dm_order_body_fini(&o);
	json_decref(body);
	body = body_load(GOOD);
	assert_null(dm_order_body_parse(&o, KEY, body));
	assert_string_equal(o.pickup_point, "");
	dm_order_body_fini(&o);
	json_decref(body);
}

/* The idempotency hash is taken over canon: member order and whitespace do
 * not change it, any value does. */
static void
order_body_canon(void **state)
{
	static const char *const same[] = {
		GOOD,
		"{" STD "," LINES "," CUST "," EXT "}",
		"{ \"lines\" : [ { \"qty\" : 2 , \"sku\" : \"SKU-00001\" } ] ,\n" EXT "," STD ","
		"\"customer\":{\"lon\":116.3975,\"lat\":39.9087}}",
	};
	struct dm_order_body o;
	char *first = NULL;
	(void)state;
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		json_t *body = body_load(same[i]);
		assert_null(dm_order_body_parse(&o, KEY, body));
		if (first == NULL)
			first = strdup(o.canon);
		else
			assert_string_equal(o.canon, first);
		dm_order_body_fini(&o);
		json_decref(body);
	}
	assert_string_equal(first, "{\"customer\":{\"lat\":39.908700000000003,"
				   "\"lon\":116.39749999999999},\"delivery_option\":\"standard\","
				   "\"external_id\":\"SHOP-1\","
				   "\"lines\":[{\"qty\":2,\"sku\":\"SKU-00001\"}]}");
	json_t *body = body_load("{" EXT "," CUST ",\"lines\":[{\"sku\":\"SKU-00001\",\"qty\":3}],"
				 STD "}");
	assert_null(dm_order_body_parse(&o, KEY, body));
	assert_string_not_equal(o.canon, first);
	dm_order_body_fini(&o);
	json_decref(body);
	free(first);
}

/* 64 lines are the most an order takes. */
static void
order_body_line_limit(void **state)
{
	struct dm_order_body o;
	char fields[64];
	(void)state;
	for (int n = 63; n <= 65; n++) {
		json_t *lines = json_array();
		for (int i = 0; i < n; i++) {
			char sku[16];
			snprintf(sku, sizeof sku, "S-%d", i);
			json_array_append_new(lines, json_pack("{s:s,s:i}", "sku", sku, "qty", 1));
		}
		json_t *body =
			json_pack("{s:s,s:s,s:s,s:o}", "external_id", "E", "station_id",
				  "bj-st-001", "delivery_option", "standard", "lines", lines);
		json_t *errors = dm_order_body_parse(&o, KEY, body);
		if (n <= WH_ALLOC_MAX_LINES) {
			assert_null(errors);
			assert_int_equal(o.nlines, n);
		} else {
			body_fields(errors, fields, sizeof fields);
			assert_string_equal(fields, "lines");
			const json_t *e = json_array_get(errors, 0);
			assert_string_equal(json_string_value(json_object_get(e, "message")),
					    "must be an array of 1 to 64 lines");
		}
		json_decref(errors);
		dm_order_body_fini(&o);
		json_decref(body);
	}
}

/* The recipient is kept exactly as entered; its lengths are characters. */
static void
order_body_recipient(void **state)
{
	struct dm_order_body o;
	char name[4 * 201 + 1];
	(void)state;
	json_t *body = body_load("{" EXT "," CUST "," LINES "," STD ",\"recipient\":{"
				 "\"name\":\" Wang  Wei \",\"phone\":\"+86 138 0013 8000\","
				 "\"notes\":\"ring twice\\n\\tthen wait\"}}");
	assert_null(dm_order_body_parse(&o, KEY, body));
	assert_non_null(o.recipient);
	assert_true(json_equal(o.recipient, json_object_get(body, "recipient")));
	assert_ptr_not_equal(o.recipient, json_object_get(body, "recipient")); /* a copy */
	assert_non_null(strstr(o.canon, "\"recipient\":{"));
	dm_order_body_fini(&o);
	assert_null(o.recipient);
	json_decref(body);
	/* 200 CJK characters (600 bytes) are a name; 201 are not. */
	for (int n = 200; n <= 201; n++) {
		name[0] = '\0';
		for (int i = 0; i < n; i++)
			strcat(name, "\xe7\x8e\x8b");
		body = json_pack("{s:s,s:s,s:s,s:[{s:s,s:i}],s:{s:s}}", "external_id", "E",
				 "station_id", "bj-st-001", "delivery_option", "standard", "lines",
				 "sku", "A", "qty", 1, "recipient", "name", name);
		json_t *errors = dm_order_body_parse(&o, KEY, body);
		assert_true((errors == NULL) == (n == 200));
		json_decref(errors);
		dm_order_body_fini(&o);
		json_decref(body);
	}
	/* No recipient: none kept. */
	body = body_load(GOOD);
	assert_null(dm_order_body_parse(&o, KEY, body));
	assert_null(o.recipient);
	dm_order_body_fini(&o);
	json_decref(body);
}

static void
order_body_tracking_codes(void **state)
{
	char a[DM_ORDER_BODY_TRACKING_LEN], b[DM_ORDER_BODY_TRACKING_LEN];
	(void)state;
	assert_int_equal(dm_order_body_new_tracking_code(a), 0);
	assert_int_equal(dm_order_body_new_tracking_code(b), 0);
	assert_int_equal(strlen(a), 19);
	assert_memory_equal(a, "TRK", 3);
	assert_int_equal(strspn(a + 3, "0123456789ABCDEF"), 16);
	assert_string_not_equal(a, b);
	assert_true(dm_order_body_valid_tracking_code(a));
	assert_true(dm_order_body_valid_tracking_code("TRK0123456789ABCDEF"));
	assert_false(dm_order_body_valid_tracking_code("TRK0123456789abcdef"));
	assert_false(dm_order_body_valid_tracking_code("TRK0123456789ABCDE"));
	assert_false(dm_order_body_valid_tracking_code("TRK0123456789ABCDEF0"));
	assert_false(dm_order_body_valid_tracking_code("XYZ0123456789ABCDEF"));
	assert_false(dm_order_body_valid_tracking_code("TRK0123456789ABCDE'"));
}

static void
order_body_ids_and_times(void **state)
{
	char id[31], other[31], when[32];
	(void)state;
	assert_true(dm_order_body_valid_id("SKU-00001"));
	assert_true(dm_order_body_valid_id("a.b:c/d_e-f"));
	assert_false(dm_order_body_valid_id(""));
	assert_false(dm_order_body_valid_id("a b"));
	assert_false(dm_order_body_valid_id("a'b"));
	assert_false(dm_order_body_valid_id("a;b"));
	assert_false(dm_order_body_valid_id("caf\xc3\xa9"));
	assert_true(dm_order_body_valid_id(
		"012345678901234567890123456789012345678901234567890123456789012"));
	assert_false(dm_order_body_valid_id(
		"0123456789012345678901234567890123456789012345678901234567890123"));
	dm_order_body_new_id(1700000000123, id);
	dm_order_body_new_id(1700000000124, other);
	assert_int_equal(strlen(id), 30);
	assert_memory_equal(id, "ord_", 4);
	assert_int_equal(strspn(id + 4, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
	assert_true(strcmp(id, other) < 0); /* sortable by time */
	dm_order_body_format_utc(1700000000123, when);
	assert_string_equal(when, "2023-11-14T22:13:20.123Z");
	dm_order_body_format_utc(0, when);
	assert_string_equal(when, "1970-01-01T00:00:00.000Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(order_body_table),	 cmocka_unit_test(order_body_values),
		cmocka_unit_test(order_body_canon),	 cmocka_unit_test(order_body_line_limit),
		cmocka_unit_test(order_body_ids_and_times),
		cmocka_unit_test(order_body_recipient),
		cmocka_unit_test(order_body_pickup),
		cmocka_unit_test(order_body_tracking_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
