/* The request bodies of the access resources, as pure parsers (no I/O;
 * fuzzed by tests/fuzz/fuzz_access_body.c): an API token's create body
 * (POST /v1/admin/tokens, api/tokens.c) and a webhook subscription's
 * (POST /v1/webhooks, api/webhooks.c). Beside jansson they use the token
 * rules of base/token.c (libsodium, no I/O) and libevent's URI parser (no
 * event loop), so they live in library dm_access, not dm_pure. Each
 * problem is one {"field", "message"} entry of an errors array. */
#ifndef DM_ACCESS_BODY_H
#define DM_ACCESS_BODY_H

#include <jansson.h>
#include <stdbool.h>

#include "daemon/base/token.h"

#define DM_ACCESS_BODY_LABEL_MAX 200  /* bytes of a token's label */
#define DM_ACCESS_BODY_URL_MAX 2048   /* bytes of a webhook URL (as svc/webhook_sender.h) */
#define DM_ACCESS_BODY_EXPIRES_LEN 24 /* a lifetime in seconds as text, and its NUL */

/* A token create body, checked. */
struct dm_access_body_token {
	enum dm_token_role role;
	char scope[DM_TOKEN_SCOPE_ARRAY_MAX];      /* a PostgreSQL text[] literal: {} or {"a","b"} */
	char expires[DM_ACCESS_BODY_EXPIRES_LEN]; /* seconds, "" for no expiry */
	const char *label;                         /* borrowed from the body; "" when absent */
};

/* {"role", "warehouses"? | "stations"? (1..64 ids) | "courier"? |
 * "engineer"? | "pickup_point"? (one id), "label"? (<= 200 bytes),
 * "expires_in"? (seconds, or "30d": s, m, h, d, w; about ten years at
 * most)}: the scope member must be the role's and present exactly when the
 * role takes one. Other members are refused. Returns 0, or -1 after
 * appending errors. */
int dm_access_body_token(const json_t *body, struct dm_access_body_token *out, json_t *errors);

/* The events a webhook subscription may name (docs/api.md, "Webhooks"),
 * NULL-terminated. Static. */
extern const char *const dm_access_body_webhook_events[];

/* {"url": http(s)://host... (no user, password, fragment or port 0), "events":
 * [distinct names of dm_access_body_webhook_events], "owner"?: a token id,
 * only when admin}: unknown members refused. Returns the events (a new
 * array) and sets *owner (borrowed; NULL when absent: the caller), or
 * returns NULL after appending errors. */
json_t *dm_access_body_webhook(const json_t *body, bool admin, const char **owner,
			       json_t *errors);

#endif
