/* Route pattern matching (see route_match.h). It owns the meaning of a
 * route pattern ("/a/{x}/b") and of a captured segment's decoding; the
 * route tables themselves and what a match leads to belong to http.c.
 *
 * A decoded NUL is refused rather than kept: a C string would end there,
 * so "ord_1%00junk" would silently name "ord_1". So are bytes that are not
 * UTF-8: PostgreSQL refuses them as a query parameter, which would turn a
 * request for no such resource into a failed query. */
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
	if (cap == 0 || !dm_route_match_utf8(out, n))
		return -1;
	out[n] = '\0';
	return (int)n;
}

bool
dm_route_match_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = u[i];
		size_t more;
		unsigned min, cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			more = 1, min = 0x80, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			more = 2, min = 0x800, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			more = 3, min = 0x10000, cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= more)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += more + 1;
	}
	return true;
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
