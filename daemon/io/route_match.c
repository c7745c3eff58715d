/* Route pattern matching (see route_match.h). It owns the meaning of a
 * route pattern ("/a/{x}/b") and of a captured segment's decoding; the
 * route tables themselves and what a match leads to belong to http.c.
 *
 * A decoded NUL is refused rather than kept: a C string would end there,
 * so "ord_1%00junk" would silently name "ord_1". */
#include <stddef.h>
#include <string.h>

#include "daemon/io/route_match.h"

static int
dm_route_match_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
dm_route_match_decode(const char *src, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)src[i];
		if (c == '%' && i + 2 < len) {
			int hi = dm_route_match_hex(src[i + 1]);
			int lo = dm_route_match_hex(src[i + 2]);
			if (hi >= 0 && lo >= 0) {
				c = hi << 4 | lo;
				i += 2;
			}
		}
		if (c == '\0' || n + 1 >= cap)
			return -1;
		out[n++] = (char)c;
	}
	if (cap == 0)
		return -1;
	out[n] = '\0';
	return (int)n;
}

bool
dm_route_match(const char *pattern, const char *path,
	       char params[DM_ROUTE_MATCH_MAX_PARAMS][DM_ROUTE_MATCH_PARAM_LEN], int *nparams)
{
	const char *p = pattern, *s = path;
	int n = 0;
	while (*p != '\0' && *s != '\0') {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		const char *pe = strchrnul(p, '/');
		const char *se = strchrnul(s, '/');
		if (*p == '{') {
			size_t len = (size_t)(se - s);
			if (len == 0 || n == DM_ROUTE_MATCH_MAX_PARAMS ||
			    len >= DM_ROUTE_MATCH_PARAM_LEN)
				return false;
			if (dm_route_match_decode(s, len, params[n], DM_ROUTE_MATCH_PARAM_LEN) <= 0)
				return false;
			n++;
		} else if (pe - p != se - s || memcmp(p, s, (size_t)(pe - p)) != 0) {
			return false;
		}
		p = pe;
		s = se;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	*nparams = n;
	return true;
}
