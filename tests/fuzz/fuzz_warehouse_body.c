/* libFuzzer harness: the warehouse side's request parsers
 * (daemon/api/warehouse_body.c). The first byte picks the parser: 's' a
 * stock count (PUT .../stock/{sku}), '1' one shipment scan, anything else a
 * batch of scans; the rest is the body. Each promises to take any object
 * and either accept it or add {field, message} errors, never both (a stock
 * count: one per unknown member, else exactly one). An accepted count is in
 * 0..1000000000 with a reason of at most 200 bytes; an accepted scan has an
 * event a warehouse or station may scan, a place of at most 200 bytes and
 * its time in UTC
 * "YYYY-MM-DDTHH:MM:SSZ" (the clock's when none was given), which reads
 * back as itself; a batch's normal form has one entry per scan given, each
 * with an order id, a seq in 1..32767 and a key of 1..255 bytes, and parses
 * again to itself. */
#include "daemon/api/order_body.h"
#include "daemon/api/warehouse_body.h"
#include "tests/fuzz/fuzz_common.h"

/* 2026-12-01T02:00:00Z, the clock the parsers are given. */
#define FUZZ_WAREHOUSE_BODY_NOW INT64_C(1796090400)

static void
fuzz_warehouse_body_check_scan(const char *event, const char *place, const char *at)
{
	char again[DM_WAREHOUSE_BODY_UTC_LEN];
	static const char *const events[] = {"picked", "packed", "departed_warehouse",
					     "arrived_at_station"};
	size_t i = 0;
	while (i < 4 && (event == NULL || strcmp(event, events[i]) != 0))
		i++;
	if (i == 4 || place == NULL || strlen(place) > DM_WAREHOUSE_BODY_PLACE_MAX ||
	    !fuzz_common_utc(at) || !dm_warehouse_body_at(at, again) || strcmp(again, at) != 0)
		__builtin_trap();
}

static void
fuzz_warehouse_body_batch(const json_t *body)
{
	json_t *errors = json_array();
	json_t *scans = dm_warehouse_body_batch(body, FUZZ_WAREHOUSE_BODY_NOW, errors);
	fuzz_common_check_errors(errors, 0, scans != NULL);
	if (scans != NULL) {
		size_t i;
		json_t *s;
		if (json_array_size(scans) != json_array_size(json_object_get(body, "scans")))
			__builtin_trap();
		json_array_foreach(scans, i, s)
		{
			const char *key = json_string_value(json_object_get(s, "key"));
			json_int_t seq = json_integer_value(json_object_get(s, "seq"));
			if (!dm_order_body_valid_id(json_string_value(json_object_get(s, "order"))) ||
			    seq < 1 || seq > 32767 || key == NULL || key[0] == '\0' ||
			    strlen(key) > DM_WAREHOUSE_BODY_KEY_MAX)
				__builtin_trap();
			fuzz_warehouse_body_check_scan(json_string_value(json_object_get(s, "event")),
						       json_string_value(json_object_get(s, "place")),
						       json_string_value(json_object_get(s, "at")));
		}
		json_t *again_body = json_pack("{s:O}", "scans", scans), *errors2 = json_array();
		json_t *again = dm_warehouse_body_batch(again_body, 0, errors2);
		if (again == NULL || !json_equal(again, scans))
			__builtin_trap();
		json_decref(again);
		json_decref(errors2);
		json_decref(again_body);
	}
	json_decref(scans);
	json_decref(errors);
}

static void
fuzz_warehouse_body_check(uint8_t which, const json_t *body)
{
	json_t *errors = json_array();
	if (which == 's') {
		int64_t on_hand = -1;
		const char *reason = NULL;
		int rc = dm_warehouse_body_stock(body, &on_hand, &reason, errors);
		fuzz_common_check_errors(errors, 0, rc == 0);
		if (rc == 0 ? on_hand < 0 || on_hand > DM_WAREHOUSE_BODY_ON_HAND_MAX ||
				  reason == NULL || strlen(reason) > DM_WAREHOUSE_BODY_REASON_MAX
			    : (rc == -3 ? json_array_size(errors) == 0
					: json_array_size(errors) != 1 || (rc != -1 && rc != -2)))
			__builtin_trap();
	} else if (which == '1') {
		struct dm_warehouse_body_scan s;
		int rc = dm_warehouse_body_scan(body, FUZZ_WAREHOUSE_BODY_NOW, &s, errors);
		fuzz_common_check_errors(errors, 0, rc == 0);
		if (rc == 0)
			fuzz_warehouse_body_check_scan(s.event, s.place, s.at);
	} else {
		fuzz_warehouse_body_batch(body);
	}
	json_decref(errors);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_common_one(data, size, fuzz_warehouse_body_check);
}
