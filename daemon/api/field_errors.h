/* The `errors` member of a 422 validation-failed answer: an array of
 * {"field", "message"} entries, one per bad input, as every request body
 * and query parser of the API builds it (docs/api.md, "Errors"). Pure:
 * jansson only. */
#ifndef DM_FIELD_ERRORS_H
#define DM_FIELD_ERRORS_H

#include <jansson.h>

/* Append {"field": field, "message": message} to errors (both copied). */
void dm_field_errors_add(json_t *errors, const char *field, const char *message);

/* Append "is not a known member" for each member of obj not named in known
 * (NULL-terminated), its field being prefix + the member's name. Unknown
 * members are refused rather than ignored: a misspelt member would
 * otherwise be dropped silently. */
void dm_field_errors_unknown(const json_t *obj, const char *prefix, const char *const *known,
			     json_t *errors);

#endif
