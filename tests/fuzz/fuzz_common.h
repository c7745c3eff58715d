/* What the request body harnesses share: the body decoded as
 * dm_req_body_json decodes a request, and the promise of every body parser
 * of the API about its errors (a 422's `errors`, docs/api.md "Errors"). A
 * broken promise is __builtin_trap(), which libFuzzer reports as a crash. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The body of a request: size bytes of JSON, duplicate keys refused, an
 * object only (dm_req_body_json answers 400 otherwise). NULL when it is not
 * one; else a new reference. */
static inline json_t *
fuzz_common_body(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (body != NULL && !json_is_object(body)) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/* The harnesses of several parsers: the first byte picks the parser, the
 * rest is the body, handed to check when it is an object. Returns 0. */
static inline int
fuzz_common_one(const uint8_t *data, size_t size, void (*check)(uint8_t which, const json_t *body))
{
	if (size == 0)
		return 0;
	json_t *body = fuzz_common_body(data + 1, size - 1);
	if (body != NULL)
		check(data[0], body);
	json_decref(body);
	return 0;
}

/* A parser's outcome: ok (it accepted) exactly when it added no error, and
 * every error it added (from index before on) is {"field": string,
 * "message": non-empty string}. */
static inline void
fuzz_common_check_errors(const json_t *errors, size_t before, bool ok)
{
	size_t i;
	json_t *e;
	if (!json_is_array(errors) || ok != (json_array_size(errors) == before))
		__builtin_trap();
	json_array_foreach(errors, i, e)
	{
		const char *msg = json_string_value(json_object_get(e, "message"));
		if (i >= before && (json_string_value(json_object_get(e, "field")) == NULL ||
				    msg == NULL || msg[0] == '\0'))
			__builtin_trap();
	}
}

/* Every member of a normal form obj is one of known (NULL-terminated). */
static inline void
fuzz_common_known_only(const json_t *obj, const char *const *known)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		size_t i = 0;
		while (known[i] != NULL && strcmp(k, known[i]) != 0)
			i++;
		if (known[i] == NULL)
			__builtin_trap();
	}
}

/* An RFC 3339 UTC time in the daemon's normal form "YYYY-MM-DDTHH:MM:SSZ". */
static inline bool
fuzz_common_utc(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (s == NULL || strlen(s) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

#endif
