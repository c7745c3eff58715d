/* The service-types resource: GET /v1/service-types[?category=C] (public: no
 * token needed), the published price lists of the after-sales service types
 * ([service.CATEGORY.TYPE] of the config snapshot the request started with, in
 * config order), and dm_service_price_list_json, the rendering of one price list
 * that bookings store as their snapshot. No backend: it answers from the config
 * alone, so it works while PostgreSQL or Redis is down. */
#include "daemon/api/service_types.h"

#include <stdint.h>
#include <string.h>

#include "daemon/api/tables.h"
#include "daemon/base/reload.h"
#include "daemon/io/http.h"

/* An amount as "129.00" in obj[key] and its fen in obj[key_fen]. */
static int
dm_api_service_types_money(json_t *obj, const char *key, const char *key_fen, int64_t fen)
{
	char text[24];
	return json_object_set_new(obj, key, json_string(cfg_money_format(fen, text))) != 0 ||
		       json_object_set_new(obj, key_fen, json_integer((json_int_t)fen)) != 0
		       ? -1
		       : 0;
}

json_t *
dm_service_price_list_json(const struct cfg_service_type *t)
{
	json_t *doc = json_pack("{s:s,s:s,s:i,s:s}", "category", t->category, "type", t->type,
				"duration_minutes", t->duration_s / 60, "currency",
				DM_SERVICE_TYPES_CURRENCY);
	json_t *extras = json_array();
	if (doc == NULL || extras == NULL ||
	    dm_api_service_types_money(doc, "base_fee", "base_fee_fen", t->base_fee_fen) != 0 ||
	    json_object_set_new(doc, "free", json_boolean(t->free)) != 0)
		goto fail;
	for (int i = 0; i < t->n_extras; i++) {
		const struct cfg_service_extra *x = &t->extras[i];
		json_t *e = json_pack("{s:s,s:s}", "code", x->code, "unit", x->unit);
		if (e == NULL || json_array_append_new(extras, e) != 0 ||
		    dm_api_service_types_money(e, "price", "price_fen", x->price_fen) != 0 ||
		    json_object_set_new(e, "max_qty", json_integer(x->max_qty)) != 0)
			goto fail;
	}
	if (json_object_set_new(doc, "extras", extras) != 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
fail:
	json_decref(extras);
	json_decref(doc);
	return NULL;
}

/* A category as the config writes it: [a-z0-9_]{1,63}. */
static bool
dm_api_service_types_category_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static void
dm_api_service_types_list(struct dm_req *r)
{
	const struct cfg *cfg = r->cfg->cfg;
	const char *category = dm_req_query(r, "category");
	if (category != NULL && !dm_api_service_types_category_ok(category)) {
		dm_req_problem(r, DM_PROBLEM_VALIDATION_FAILED, "invalid query",
			       json_pack("{s:[{s:s,s:s}]}", "errors", "field", "category",
					 "message", "must be [a-z0-9_]{1,63}"));
		return;
	}
	json_t *list = json_array();
	json_t *doc = json_pack("{s:s,s:o}", "currency", DM_SERVICE_TYPES_CURRENCY,
				"service_types", list);
	if (doc == NULL)
		goto oom;
	for (int i = 0; i < cfg->n_service_types; i++) {
		const struct cfg_service_type *t = &cfg->service_types[i];
		if (category != NULL && strcmp(t->category, category) != 0)
			continue;
		json_t *one = dm_service_price_list_json(t);
		if (one == NULL || json_array_append_new(list, one) != 0)
			goto oom;
	}
	dm_req_reply_json(r, 200, doc);
	return;
oom:
	json_decref(doc);
	dm_req_problem(r, DM_PROBLEM_OUT_OF_MEMORY, "out of memory", NULL);
}

static const struct dm_route dm_api_service_types_routes[] = {
	{.methods = EVHTTP_REQ_GET,
	 .pattern = "/v1/service-types",
	 .handler = dm_api_service_types_list,
	 .body_limit = DM_ROUTE_NO_BODY,
	 .roles = DM_ROLES_PUBLIC},
};

const struct dm_route_table dm_api_service_types_table = {
	dm_api_service_types_routes,
	sizeof dm_api_service_types_routes / sizeof dm_api_service_types_routes[0]};
