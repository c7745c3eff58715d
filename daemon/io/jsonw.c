/* The streaming JSON writer: separators, member names and RFC 8259 string
 * escaping (quote, backslash and control characters; UTF-8 passes through). */
#include <stdio.h>
#include <string.h>

#include "daemon/io/jsonw.h"

void
dm_jsonw_init(struct dm_jsonw *w, struct evbuffer *buf)
{
	w->buf = buf;
	w->depth = 0;
	w->first[0] = true;
}

static void
dm_jsonw_quoted(struct dm_jsonw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	evbuffer_add(w->buf, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		evbuffer_add(w->buf, run, (size_t)(s - run));
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			evbuffer_add(w->buf, esc, 2);
		} else {
			evbuffer_add(w->buf, esc, 6);
		}
		run = s + 1;
	}
	evbuffer_add(w->buf, run, (size_t)(s - run));
	evbuffer_add(w->buf, "\"", 1);
}

/* The comma before a value, and its member name when in an object. */
static void
dm_jsonw_member(struct dm_jsonw *w, const char *key)
{
	if (!w->first[w->depth])
		evbuffer_add(w->buf, ",", 1);
	w->first[w->depth] = false;
	if (key != NULL) {
		dm_jsonw_quoted(w, key);
		evbuffer_add(w->buf, ":", 1);
	}
}

static void
dm_jsonw_open(struct dm_jsonw *w, const char *key, const char *bracket)
{
	dm_jsonw_member(w, key);
	evbuffer_add(w->buf, bracket, 1);
	if (w->depth + 1 < DM_JSONW_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void
dm_jsonw_close(struct dm_jsonw *w, const char *bracket)
{
	evbuffer_add(w->buf, bracket, 1);
	if (w->depth > 0)
		w->depth--;
}

void
dm_jsonw_object(struct dm_jsonw *w, const char *key)
{
	dm_jsonw_open(w, key, "{");
}

void
dm_jsonw_array(struct dm_jsonw *w, const char *key)
{
	dm_jsonw_open(w, key, "[");
}

void
dm_jsonw_end_object(struct dm_jsonw *w)
{
	dm_jsonw_close(w, "}");
}

void
dm_jsonw_end_array(struct dm_jsonw *w)
{
	dm_jsonw_close(w, "]");
}

void
dm_jsonw_string(struct dm_jsonw *w, const char *key, const char *value)
{
	dm_jsonw_member(w, key);
	if (value == NULL)
		evbuffer_add(w->buf, "null", 4);
	else
		dm_jsonw_quoted(w, value);
}

void
dm_jsonw_int(struct dm_jsonw *w, const char *key, long long value)
{
	char digits[24], *p = digits + sizeof digits;
	unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
	dm_jsonw_member(w, key);
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (value < 0)
		*--p = '-';
	evbuffer_add(w->buf, p, (size_t)(digits + sizeof digits - p));
}

void
dm_jsonw_bool(struct dm_jsonw *w, const char *key, bool value)
{
	dm_jsonw_member(w, key);
	evbuffer_add(w->buf, value ? "true" : "false", value ? 4 : 5);
}
