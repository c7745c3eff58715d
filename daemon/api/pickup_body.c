/* The pickup points' request bodies (api/pickup_body.h). No I/O: jansson
 * and base/token.c's id rule. */
#include "daemon/api/pickup_body.h"

#include <stdio.h>
#include <string.h>

#include "daemon/api/field_errors.h"
#include "daemon/api/order_body.h"
#include "daemon/base/pickup_code.h"
#include "daemon/base/token.h"

const char *const dm_pickup_body_sizes[] = {"S", "M", "L", NULL};

static bool
dm_pickup_body_is_size(const char *s)
{
	for (size_t i = 0; s != NULL && dm_pickup_body_sizes[i] != NULL; i++)
		if (strcmp(s, dm_pickup_body_sizes[i]) == 0)
			return true;
	return false;
}

/* A string member of at most max bytes (at least one when nonempty). */
static void
dm_pickup_body_text(const json_t *body, const char *field, size_t max, bool nonempty,
		   bool required, json_t *out, json_t *errors)
{
	const json_t *v = json_object_get(body, field);
	char msg[96];
	if (v == NULL) {
		if (required)
			dm_field_errors_add(errors, field, "is required");
		return;
	}
	if (!json_is_string(v) || json_string_length(v) > max ||
	    (nonempty && json_string_length(v) == 0)) {
		snprintf(msg, sizeof msg, "must be a string of %s to %zu bytes", nonempty ? "1" : "0",
			 max);
		dm_field_errors_add(errors, field, msg);
		return;
	}
	json_object_set(out, field, (json_t *)v);
}

/* lon or lat: a JSON number in [-lim, lim]. */
static void
dm_pickup_body_coord(const json_t *body, const char *field, double lim, bool required,
		    json_t *out, json_t *errors)
{
	const json_t *v = json_object_get(body, field);
	if (v == NULL) {
		if (required)
			dm_field_errors_add(errors, field, "is required");
		return;
	}
	if (!json_is_number(v) || json_number_value(v) < -lim || json_number_value(v) > lim) {
		dm_field_errors_add(errors, field, lim > 90 ? "must be a number in -180..180"
							   : "must be a number in -90..90");
		return;
	}
	json_object_set_new(out, field, json_real(json_number_value(v)));
}

/* compartments: {"S":n,"M":n,"L":n} (each 0..100000, at least one) into out,
 * with capacity their sum. */
static void
dm_pickup_body_compartments(const json_t *v, json_t *out, json_t *errors)
{
	const char *k;
	const json_t *n;
	json_int_t sum = 0;
	bool ok = json_is_object(v) && json_object_size(v) > 0;
	json_object_foreach((json_t *)v, k, n) {
		if (!dm_pickup_body_is_size(k) || !json_is_integer(n) || json_integer_value(n) < 0 ||
		    json_integer_value(n) > DM_PICKUP_BODY_CAPACITY_MAX)
			ok = false;
		else
			sum += json_integer_value(n);
	}
	if (!ok || sum > DM_PICKUP_BODY_CAPACITY_MAX) {
		dm_field_errors_add(errors, "compartments",
				    "must be an object of S, M and L to counts of compartments "
				    "(integers 0..100000, at most 100000 in all)");
		return;
	}
	json_t *c = json_object();
	for (size_t i = 0; dm_pickup_body_sizes[i] != NULL; i++) {
		const json_t *e = json_object_get(v, dm_pickup_body_sizes[i]);
		json_object_set_new(c, dm_pickup_body_sizes[i],
				    json_integer(e != NULL ? json_integer_value(e) : 0));
	}
	json_object_set_new(out, "compartments", c);
	json_object_set_new(out, "capacity", json_integer(sum));
}

json_t *
dm_pickup_body_point(const json_t *body, bool create, json_t *errors)
{
	static const char *const known[2][12] = {
		{"station", "name", "address", "lon", "lat", "opening_hours", "kind", "capacity",
		 "compartments", NULL},
		{"id", "station", "name", "address", "lon", "lat", "opening_hours", "kind", "capacity",
		 "compartments", NULL},
	};
	json_t *out = json_object();
	dm_field_errors_unknown(body, "", known[create], errors);
	if (create) {
		const char *id = json_string_value(json_object_get(body, "id"));
		if (id == NULL || !dm_token_scope_id_valid(id))
			dm_field_errors_add(errors, "id",
					    "must be an id (1 to 63 of A-Z a-z 0-9 _ . : / -)");
		else
			json_object_set_new(out, "id", json_string(id));
	}
	const json_t *st = json_object_get(body, "station");
	if ((st != NULL || create) && !dm_token_scope_id_valid(json_string_value(st)))
		dm_field_errors_add(errors, "station", "must be a station id");
	else if (st != NULL)
		json_object_set(out, "station", (json_t *)st);
	dm_pickup_body_text(body, "name", DM_PICKUP_BODY_NAME_MAX, true, create, out, errors);
	dm_pickup_body_text(body, "address", DM_PICKUP_BODY_ADDRESS_MAX, false, false, out, errors);
	dm_pickup_body_text(body, "opening_hours", DM_PICKUP_BODY_HOURS_MAX, false, false, out,
			   errors);
	dm_pickup_body_coord(body, "lon", 180, create, out, errors);
	dm_pickup_body_coord(body, "lat", 90, create, out, errors);
	const json_t *kind = json_object_get(body, "kind");
	const char *k = kind != NULL ? json_string_value(kind) : create ? "point" : NULL;
	if (kind != NULL && (k == NULL || (strcmp(k, "point") != 0 && strcmp(k, "locker") != 0))) {
		dm_field_errors_add(errors, "kind", "must be point or locker");
		k = NULL;
	} else if (kind != NULL)
		json_object_set(out, "kind", (json_t *)kind);
	const json_t *cap = json_object_get(body, "capacity");
	const json_t *comp = json_object_get(body, "compartments");
	bool locker = k != NULL && strcmp(k, "locker") == 0;
	bool point = k != NULL && strcmp(k, "point") == 0;
	if (comp != NULL && point)
		dm_field_errors_add(errors, "compartments", "only a locker has compartments");
	else if (comp != NULL)
		dm_pickup_body_compartments(comp, out, errors);
	else if (locker)
		dm_field_errors_add(errors, "compartments", "a locker needs its compartments");
	if (cap != NULL && (locker || comp != NULL))
		dm_field_errors_add(errors, "capacity",
				    "a locker's capacity is the sum of its compartments");
	else if (cap != NULL && (!json_is_integer(cap) || json_integer_value(cap) < 0 ||
				 json_integer_value(cap) > DM_PICKUP_BODY_CAPACITY_MAX))
		dm_field_errors_add(errors, "capacity", "must be an integer in 0..100000");
	else if (cap != NULL)
		json_object_set(out, "capacity", (json_t *)cap);
	else if (point && create)
		dm_field_errors_add(errors, "capacity", "is required");
	if (json_array_size(errors) > 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

const char *
dm_pickup_body_arrival(const json_t *body, const char **size, json_t *errors)
{
	static const char *const known[] = {"order", "size", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	const char *order = json_string_value(json_object_get(body, "order"));
	if (order == NULL || !dm_order_body_valid_id(order))
		dm_field_errors_add(errors, "order", "must be an order id");
	const json_t *v = json_object_get(body, "size");
	*size = json_string_value(v);
	if (v != NULL && !dm_pickup_body_is_size(*size))
		dm_field_errors_add(errors, "size", "must be S, M or L");
	return json_array_size(errors) > before ? NULL : order;
}

const char *
dm_pickup_body_collection(const json_t *body, json_t *errors)
{
	static const char *const known[] = {"code", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	const char *code = json_string_value(json_object_get(body, "code"));
	if (!dm_pickup_code_valid(code))
		dm_field_errors_add(errors, "code", "must be the 8-digit pickup code");
	return json_array_size(errors) > before ? NULL : code;
}
