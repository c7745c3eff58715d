/* libFuzzer harness: the access resources' request parsers
 * (daemon/api/access_body.c). The first byte picks the parser: 't' an API
 * token's create body, 'w' a webhook subscription's as an admin sends it,
 * anything else a webhook subscription's from another role; the rest is the
 * body. Each promises to take any object and either accept it or add
 * {field, message} errors, never both. An accepted token has a role, a
 * PostgreSQL array literal of as many quoted ids as the role takes (none,
 * exactly one, or 1..64), a lifetime of whole seconds within about ten
 * years or none, and a label of at most 200 bytes. An accepted webhook has
 * an http(s) URL of at most 2048 bytes, 1 or more distinct known events
 * (in the order given), and an owner only from an admin, a token id; its
 * normal form parses again to the same. */
#include <stdlib.h>

#include "daemon/api/access_body.h"
#include "tests/fuzz/fuzz_common.h"

static void
fuzz_access_body_token(const json_t *body)
{
	struct dm_access_body_token t;
	json_t *errors = json_array();
	int rc = dm_access_body_token(body, &t, errors);
	fuzz_common_check_errors(errors, 0, rc == 0);
	if (rc == 0) {
		size_t len = strlen(t.scope), n = 0;
		if (len < 2 || t.scope[0] != '{' || t.scope[len - 1] != '}' ||
		    dm_token_role_name(t.role) == NULL || t.label == NULL ||
		    strlen(t.label) > DM_ACCESS_BODY_LABEL_MAX)
			__builtin_trap();
		if (len > 2)
			for (const char *p = t.scope; (p = strchr(p, '"')) != NULL; p++)
				n++;
		n /= 2; /* each id is quoted */
		enum dm_token_scope_kind kind = dm_token_role_scope(t.role);
		if ((kind == DM_TOKEN_SCOPE_NONE && n != 0) || (kind == DM_TOKEN_SCOPE_ONE && n != 1) ||
		    (kind == DM_TOKEN_SCOPE_MANY && (n < 1 || n > DM_TOKEN_SCOPE_MAX)))
			__builtin_trap();
		if (t.expires[0] != '\0') {
			char *end;
			long long s = strtoll(t.expires, &end, 10);
			if (*end != '\0' || s < 1 || s > DM_TOKEN_DURATION_MAX_S)
				__builtin_trap();
		}
	}
	json_decref(errors);
}

static void
fuzz_access_body_webhook(const json_t *body, bool admin)
{
	const char *owner = NULL;
	json_t *errors = json_array();
	json_t *events = dm_access_body_webhook(body, admin, &owner, errors);
	fuzz_common_check_errors(errors, 0, events != NULL);
	if (events != NULL) {
		const char *url = json_string_value(json_object_get(body, "url"));
		size_t i, j, k;
		json_t *e;
		if (url == NULL || strlen(url) > DM_ACCESS_BODY_URL_MAX ||
		    (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
		    json_array_size(events) == 0 || (owner != NULL && (!admin || !dm_token_id_valid(owner))))
			__builtin_trap();
		json_array_foreach(events, i, e)
		{
			const char *name = json_string_value(e);
			for (k = 0; name != NULL && dm_access_body_webhook_events[k] != NULL &&
				    strcmp(name, dm_access_body_webhook_events[k]) != 0;
			     k++)
				;
			if (name == NULL || dm_access_body_webhook_events[k] == NULL)
				__builtin_trap();
			for (j = 0; j < i; j++)
				if (json_equal(json_array_get(events, j), e))
					__builtin_trap();
		}
		json_t *norm = json_pack("{s:s,s:O}", "url", url, "events", events);
		if (owner != NULL)
			json_object_set_new(norm, "owner", json_string(owner));
		const char *owner2 = NULL;
		json_t *errors2 = json_array();
		json_t *events2 = dm_access_body_webhook(norm, admin, &owner2, errors2);
		if (events2 == NULL || !json_equal(events, events2) || (owner == NULL) != (owner2 == NULL))
			__builtin_trap();
		json_decref(events2);
		json_decref(errors2);
		json_decref(norm);
	}
	json_decref(events);
	json_decref(errors);
}

static void
fuzz_access_body_check(uint8_t which, const json_t *body)
{
	if (which == 't')
		fuzz_access_body_token(body);
	else
		fuzz_access_body_webhook(body, which == 'w');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_common_one(data, size, fuzz_access_body_check);
}
