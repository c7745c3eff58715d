/* libFuzzer harness: the order body decoder. The input is the
 * Idempotency-Key up to the first '\n' (no '\n': no key) and then the body
 * bytes, decoded as dm_req_body_json decodes a request (jansson, duplicate
 * keys refused, a JSON object only) and validated by dm_order_body_parse,
 * which promises to take any object and return either a valid order or a
 * list of {field, message} errors, never crash or leak. A valid order must
 * keep the schema's limits (a recipient, when kept, has its name), and its
 * canonical text (the idempotency hash's input) must parse again to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/order_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_order_body_check_valid(const struct dm_order_body *o, const char *key)
{
	if (o->canon == NULL || strcmp(o->key, key) != 0 || o->ext[0] == '\0')
		__builtin_trap();
	if (o->nlines < 1 || o->nlines > WH_ALLOC_MAX_LINES)
		__builtin_trap();
	for (size_t i = 0; i < o->nlines; i++) {
		if (!dm_order_body_valid_id(o->lines[i].sku) || o->skus[i] != o->lines[i].sku ||
		    o->lines[i].qty < 1 || o->lines[i].qty > DM_ORDER_BODY_QTY_MAX)
			__builtin_trap();
		for (size_t k = 0; k < i; k++)
			if (strcmp(o->lines[k].sku, o->lines[i].sku) == 0)
				__builtin_trap();
	}
	if (!o->has_loc && o->station[0] == '\0')
		__builtin_trap();
	if (o->has_loc && (!(o->lat >= -90 && o->lat <= 90) || !(o->lon >= -180 && o->lon <= 180)))
		__builtin_trap();
	if (strcmp(o->option, "standard") != 0 && strcmp(o->option, "slot") != 0)
		__builtin_trap();
	if (o->has_slot != (strcmp(o->option, "slot") == 0))
		__builtin_trap();
	/* A recipient kept is an object with a name, and nothing but its members. */
	if (o->recipient != NULL) {
		const char *name = json_string_value(json_object_get(o->recipient, "name"));
		if (!json_is_object(o->recipient) || name == NULL || name[0] == '\0' ||
		    json_object_size(o->recipient) > 4)
			__builtin_trap();
	}
}

/* Errors are a non-empty array of {"field": string, "message": string}. */
static void
fuzz_order_body_check_errors(const json_t *errors)
{
	size_t i;
	json_t *e;
	if (!json_is_array(errors) || json_array_size(errors) == 0)
		__builtin_trap();
	json_array_foreach(errors, i, e)
	{
		if (json_string_value(json_object_get(e, "field")) == NULL ||
		    json_string_value(json_object_get(e, "message")) == NULL)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *key = NULL;
	if (nl != NULL) {
		key = strndup((const char *)data, (size_t)(nl - data));
		if (key == NULL)
			return 0;
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body))
		goto out;
	struct dm_order_body o;
	json_t *errors = dm_order_body_parse(&o, key, body);
	if (errors != NULL) {
		fuzz_order_body_check_errors(errors);
		if (o.canon != NULL)
			__builtin_trap();
		json_decref(errors);
		dm_order_body_fini(&o);
		goto out;
	}
	fuzz_order_body_check_valid(&o, key);
	/* A retry sending the canonical text is the same request. */
	json_t *again = json_loads(o.canon, JSON_REJECT_DUPLICATES, NULL);
	struct dm_order_body o2;
	json_t *errors2 = again != NULL ? dm_order_body_parse(&o2, key, again) : NULL;
	if (again == NULL || errors2 != NULL || strcmp(o.canon, o2.canon) != 0)
		__builtin_trap();
	dm_order_body_fini(&o2);
	json_decref(again);
	dm_order_body_fini(&o);
out:
	json_decref(body);
	free(key);
	return 0;
}
