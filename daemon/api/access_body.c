/* The access resources' request bodies (api/access_body.h): API tokens and
 * webhook subscriptions. No I/O: jansson, base/token.c's rules and
 * libevent's URI parser. */
#include "daemon/api/access_body.h"

#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "daemon/api/field_errors.h"

const char *const dm_access_body_webhook_events[] = {
	"shipment.out_for_delivery", "shipment.eta_changed", "shipment.delivered",
	"shipment.failed", "shipment.rescheduled",
	/* after-sales (issue 12): the order_events kinds of the same names */
	"service.booked", "service.rescheduled", "service.cancelled", "service.planned",
	"service.arrived", "service.started", "service.completed", "service.failed",
	"return.requested", "return.picked_up", "return.refund_due", "return.received",
	"return.inspected",
	/* cash on delivery (issue 13) */
	"payment.collected", NULL,
};
#define DM_ACCESS_BODY_NEVENTS                                                                   \
	(sizeof dm_access_body_webhook_events / sizeof dm_access_body_webhook_events[0] - 1)
_Static_assert(DM_ACCESS_BODY_NEVENTS <= 32, "the seen mask is 32 bits");

/* The scope members of a create body for role into ids (borrowed from
 * body); errors gets one entry per problem. */
static size_t
dm_access_body_token_scope(const json_t *body, enum dm_token_role role, const char **ids,
			   json_t *errors)
{
	static const struct {
		const char *field;
		enum dm_token_role role;
		bool list;
	} fields[] = {
		{"warehouses", DM_TOKEN_WAREHOUSE, true}, {"stations", DM_TOKEN_STATION, true},
		{"courier", DM_TOKEN_COURIER, false},     {"engineer", DM_TOKEN_ENGINEER, false},
		{"pickup_point", DM_TOKEN_PICKUP_POINT, false},
	};
	size_t n = 0;
	for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
		const json_t *v = json_object_get(body, fields[f].field);
		if (v == NULL || json_is_null(v))
			continue;
		if (fields[f].role != role) {
			dm_field_errors_add(errors, fields[f].field, "not a scope of this role");
			continue;
		}
		if (!fields[f].list) {
			if (!dm_token_scope_id_valid(json_string_value(v)))
				dm_field_errors_add(errors, fields[f].field,
						    "must be an id (1 to 63 of A-Z a-z 0-9 _ . : / -)");
			else
				ids[n++] = json_string_value(v);
			continue;
		}
		size_t i;
		const json_t *e;
		if (!json_is_array(v) || json_array_size(v) > DM_TOKEN_SCOPE_MAX) {
			dm_field_errors_add(errors, fields[f].field,
					    "must be an array of 1 to 64 ids");
			continue;
		}
		json_array_foreach(v, i, e) {
			if (!dm_token_scope_id_valid(json_string_value(e))) {
				dm_field_errors_add(errors, fields[f].field,
						    "must be an array of ids (1 to 63 of A-Z a-z 0-9 "
						    "_ . : / -)");
				break;
			}
			ids[n++] = json_string_value(e);
		}
	}
	return n;
}

/* The lifetime member: a duration string ("30d") or whole seconds. Writes
 * the seconds into out ("" for none). */
static void
dm_access_body_token_expires(const json_t *body, char *out, size_t cap, json_t *errors)
{
	const json_t *v = json_object_get(body, "expires_in");
	int64_t s = 0;
	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return;
	if (json_is_integer(v) && json_integer_value(v) >= 1 &&
	    json_integer_value(v) <= DM_TOKEN_DURATION_MAX_S)
		s = json_integer_value(v);
	else if (json_is_string(v) && dm_token_duration_parse(json_string_value(v), &s) == DM_TOKEN_OK)
		;
	else {
		dm_field_errors_add(errors, "expires_in",
				    "must be seconds (an integer) or N followed by s, m, h, d or w, "
				    "at most about ten years");
		return;
	}
	snprintf(out, cap, "%lld", (long long)s);
}

int
dm_access_body_token(const json_t *body, struct dm_access_body_token *out, json_t *errors)
{
	size_t before = json_array_size(errors);
	const char *ids[2 * DM_TOKEN_SCOPE_MAX + 2];
	const char *role_name = json_string_value(json_object_get(body, "role"));
	const json_t *label = json_object_get(body, "label");
	out->scope[0] = '\0';
	if (dm_token_role_parse(role_name, &out->role) != DM_TOKEN_OK) {
		dm_field_errors_add(errors, "role",
				    "must be one of admin, order_service, warehouse, station, "
				    "courier, engineer, pickup_point");
	} else {
		size_t n = dm_access_body_token_scope(body, out->role, ids, errors);
		if (json_array_size(errors) == before &&
		    dm_token_scope_check(out->role, n) != DM_TOKEN_OK)
			dm_field_errors_add(errors, "scope",
					    dm_token_role_scope(out->role) == DM_TOKEN_SCOPE_NONE
						    ? "this role takes no scope"
					    : dm_token_role_scope(out->role) == DM_TOKEN_SCOPE_ONE
						    ? "this role takes one id (courier, engineer or "
						      "pickup_point)"
						    : "this role takes 1 to 64 ids (warehouses or "
						      "stations)");
		else if (json_array_size(errors) == before &&
			 dm_token_scope_pg_array(ids, n, out->scope, sizeof out->scope) != 0)
			dm_field_errors_add(errors, "scope", "too long");
	}
	if (label != NULL && !json_is_null(label) &&
	    (!json_is_string(label) || json_string_length(label) > DM_ACCESS_BODY_LABEL_MAX))
		dm_field_errors_add(errors, "label", "must be a string of at most 200 bytes");
	out->label = json_is_string(label) ? json_string_value(label) : "";
	dm_access_body_token_expires(body, out->expires, sizeof out->expires, errors);
	static const char *const known[] = {"role",     "label",   "expires_in", "warehouses",
					    "stations", "courier", "engineer",	 "pickup_point",
					    NULL};
	dm_field_errors_unknown(body, "", known, errors);
	return json_array_size(errors) > before ? -1 : 0;
}

/* Check the URL: http:// or https:// with a host. Adds to errors. */
static void
dm_access_body_webhook_url(const json_t *v, json_t *errors)
{
	const char *url = json_string_value(v);
	if (url == NULL || strlen(url) < 8 || strlen(url) > DM_ACCESS_BODY_URL_MAX) {
		dm_field_errors_add(errors, "url",
				    "must be an http:// or https:// URL of at most 2048 bytes");
		return;
	}
	struct evhttp_uri *uri = evhttp_uri_parse_with_flags(url, 0);
	const char *scheme = uri != NULL ? evhttp_uri_get_scheme(uri) : NULL;
	const char *host = uri != NULL ? evhttp_uri_get_host(uri) : NULL;
	if (scheme == NULL || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    host == NULL || host[0] == '\0' || host[0] == '[' ||
	    evhttp_uri_get_fragment(uri) != NULL || evhttp_uri_get_userinfo(uri) != NULL ||
	    evhttp_uri_get_port(uri) == 0)
		dm_field_errors_add(errors, "url",
				    "must be an http:// or https:// URL with a host name or IPv4 "
				    "address, without user, password or fragment");
	/* libevent 2.1's evhttp_uri_free(NULL) dereferences it: a URL it cannot
	 * parse ("https://a\u007fb/") crashed the daemon (fuzz_access_body). */
	if (uri != NULL)
		evhttp_uri_free(uri);
}

/* Check the events: distinct known names, at least one; into out (a JSON array). */
static void
dm_access_body_webhook_event_list(const json_t *v, json_t *out, json_t *errors)
{
	if (!json_is_array(v) || json_array_size(v) < 1 ||
	    json_array_size(v) > DM_ACCESS_BODY_NEVENTS) {
		dm_field_errors_add(errors, "events", "must be an array of distinct event names (at least one)");
		return;
	}
	unsigned seen = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *e = json_string_value(json_array_get(v, i));
		size_t k = 0;
		while (e != NULL && k < DM_ACCESS_BODY_NEVENTS &&
		       strcmp(e, dm_access_body_webhook_events[k]) != 0)
			k++;
		if (e == NULL || k == DM_ACCESS_BODY_NEVENTS) {
			dm_field_errors_add(errors, "events",
					    "each must be one of the event names in docs/api.md "
					    "(Webhooks), e.g. shipment.delivered, return.refund_due");
			return;
		}
		if (seen & (1u << k)) {
			dm_field_errors_add(errors, "events", "names an event twice");
			return;
		}
		seen |= 1u << k;
		json_array_append_new(out, json_string(e));
	}
}

json_t *
dm_access_body_webhook(const json_t *body, bool admin, const char **owner, json_t *errors)
{
	static const char *const known[] = {"url", "events", "owner", NULL};
	size_t before = json_array_size(errors);
	json_t *events = json_array();
	dm_field_errors_unknown(body, "", known, errors);
	dm_access_body_webhook_url(json_object_get(body, "url"), errors);
	dm_access_body_webhook_event_list(json_object_get(body, "events"), events, errors);
	const json_t *v = json_object_get(body, "owner");
	*owner = NULL;
	if (v != NULL && !admin) {
		dm_field_errors_add(errors, "owner", "is the calling token: only an admin may "
						     "name another owner");
	} else if (v != NULL) {
		*owner = json_string_value(v);
		if (*owner == NULL || !dm_token_id_valid(*owner))
			dm_field_errors_add(errors, "owner",
					    "must be a token id (tok_ and 16 hex digits)");
	}
	if (json_array_size(errors) > before) {
		json_decref(events);
		return NULL;
	}
	return events;
}
