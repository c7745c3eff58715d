/* The `errors` member of a 422 validation-failed answer: an array of
 * {"field", "message"} entries, one per bad input, as every request body
 * and query parser of the API builds it (docs/api.md, "Errors"). Pure:
 * jansson only. */
#ifndef DM_FIELD_ERRORS_H
#define DM_FIELD_ERRORS_H

#include <jansson.h>
#include <stdbool.h>

/* Append {"field": field, "message": message} to errors (both copied). */
void dm_field_errors_add(json_t *errors, const char *field, const char *message);

/* Append "is not a known member" for each member of obj not named in known
 * (NULL-terminated), its field being prefix + the member's name. Unknown
 * members are refused rather than ignored: a misspelt member would
 * otherwise be dropped silently. */
void dm_field_errors_unknown(const json_t *obj, const char *prefix, const char *const *known,
			     json_t *errors);

/* The longest Idempotency-Key header the API takes, in bytes. */
#define DM_FIELD_ERRORS_KEY_MAX 255

/* Check an Idempotency-Key header value (NULL: absent): 1 to
 * DM_FIELD_ERRORS_KEY_MAX visible ASCII characters (as an order's key: the
 * key is a query parameter of PostgreSQL, which refuses bytes that are not
 * UTF-8), and present when required. Appends one
 * entry for field "Idempotency-Key" when it is not; returns true when it is. */
bool dm_field_errors_idempotency_key(json_t *errors, const char *key, bool required);

#endif
