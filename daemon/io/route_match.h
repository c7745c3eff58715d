/* Path pattern matching for the route tables: "/v1/orders/{id}" against a
 * request path, with the {param} segments captured and percent-decoded.
 * Pure: no libevent, no allocation; any bytes are safe input. */
#ifndef DM_ROUTE_MATCH_H
#define DM_ROUTE_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#define DM_ROUTE_MATCH_MAX_PARAMS 4 /* {param} segments per pattern */
#define DM_ROUTE_MATCH_PARAM_LEN 128 /* bytes per captured segment, NUL included */

/* Match path (as sent: still percent-encoded, no query) against pattern,
 * one '/'-separated segment at a time. A literal segment must be equal byte
 * for byte; a "{name}" segment matches one non-empty segment, which is
 * percent-decoded ("%2F" becomes '/', '+' stays '+', a '%' not followed by
 * two hex digits stays as it is) into the next params slot. A segment whose
 * raw text is DM_ROUTE_MATCH_PARAM_LEN bytes or more, or that decodes to a
 * NUL byte anywhere or to bytes that are not UTF-8 ("%FF"), does not
 * match; nor does an empty one or a (DM_ROUTE_MATCH_MAX_PARAMS + 1)th
 * parameter. Both strings are borrowed.
 * Returns true and sets *nparams on a match; params is scratch otherwise. */
bool dm_route_match(const char *pattern, const char *path,
		    char params[DM_ROUTE_MATCH_MAX_PARAMS][DM_ROUTE_MATCH_PARAM_LEN], int *nparams);

/* Percent-decode the len bytes at src into out (cap bytes, NUL-terminated)
 * as dm_route_match decodes a segment. Returns the decoded length, or -1
 * when it would not fit in cap or decodes to a NUL byte or to bytes that are
 * not UTF-8. */
int dm_route_match_decode(const char *src, size_t len, char *out, size_t cap);

/* Whether the len bytes at s are well-formed UTF-8 (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF). */
bool dm_route_match_utf8(const char *s, size_t len);

#endif
