/* API tokens (see token.h): the role table, token text, ids, the keyed hash
 * and scope lists. It owns no state; libsodium does the randomness, the
 * hashing, the base64 and the constant-time comparison. Where tokens are
 * stored (PostgreSQL), cached (svc/tokens.c) or checked against routes (the
 * HTTP layer) is not this file's business. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/base/token.h"

#define DM_TOKEN_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define DM_TOKEN_B64_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define DM_TOKEN_ID_PREFIX "tok_"
#define DM_TOKEN_ID_RANDOM 8
#define DM_TOKEN_KEY_CONTEXT "dispatchd token key v1" /* BLAKE2b key: 16..64 bytes */

static const struct {
	const char *name;
	const char *prefix;
	enum dm_token_scope_kind scope;
} dm_token_roles[DM_TOKEN_ROLE_COUNT] = {
	[DM_TOKEN_ADMIN] = {"admin", "dsp_admin_", DM_TOKEN_SCOPE_NONE},
	[DM_TOKEN_ORDER_SERVICE] = {"order_service", "dsp_ordr_", DM_TOKEN_SCOPE_NONE},
	[DM_TOKEN_WAREHOUSE] = {"warehouse", "dsp_whse_", DM_TOKEN_SCOPE_MANY},
	[DM_TOKEN_STATION] = {"station", "dsp_stn_", DM_TOKEN_SCOPE_MANY},
	[DM_TOKEN_COURIER] = {"courier", "dsp_cour_", DM_TOKEN_SCOPE_ONE},
	[DM_TOKEN_ENGINEER] = {"engineer", "dsp_engr_", DM_TOKEN_SCOPE_ONE},
	[DM_TOKEN_PICKUP_POINT] = {"pickup_point", "dsp_pkp_", DM_TOKEN_SCOPE_ONE},
};

enum dm_token_status
dm_token_init(void)
{
	return sodium_init() >= 0 ? DM_TOKEN_OK : DM_TOKEN_E_CRYPTO;
}

static bool
dm_token_role_ok(enum dm_token_role role)
{
	return (int)role >= 0 && role < DM_TOKEN_ROLE_COUNT;
}

const char *
dm_token_role_name(enum dm_token_role role)
{
	return dm_token_role_ok(role) ? dm_token_roles[role].name : NULL;
}

const char *
dm_token_role_prefix(enum dm_token_role role)
{
	return dm_token_role_ok(role) ? dm_token_roles[role].prefix : NULL;
}

enum dm_token_status
dm_token_role_parse(const char *name, enum dm_token_role *out)
{
	for (int i = 0; name != NULL && i < DM_TOKEN_ROLE_COUNT; i++) {
		if (strcmp(name, dm_token_roles[i].name) == 0) {
			*out = (enum dm_token_role)i;
			return DM_TOKEN_OK;
		}
	}
	return DM_TOKEN_E_ROLE;
}

enum dm_token_scope_kind
dm_token_role_scope(enum dm_token_role role)
{
	return dm_token_role_ok(role) ? dm_token_roles[role].scope : DM_TOKEN_SCOPE_NONE;
}

enum dm_token_status
dm_token_duration_parse(const char *text, int64_t *out_s)
{
	int64_t n = 0, unit;
	const char *p = text;
	if (text == NULL || *p < '0' || *p > '9')
		return DM_TOKEN_E_DURATION;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (*p - '0');
		if (n > DM_TOKEN_DURATION_MAX_S)
			return DM_TOKEN_E_DURATION;
	}
	switch (*p) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return DM_TOKEN_E_DURATION;
	}
	if (p[1] != '\0' || n < 1 || n > DM_TOKEN_DURATION_MAX_S / unit)
		return DM_TOKEN_E_DURATION;
	*out_s = n * unit;
	return DM_TOKEN_OK;
}

enum dm_token_status
dm_token_format(enum dm_token_role role, const unsigned char secret[DM_TOKEN_SECRET_BYTES],
		char out[DM_TOKEN_MAX])
{
	if (!dm_token_role_ok(role))
		return DM_TOKEN_E_ROLE;
	size_t plen = strlen(dm_token_roles[role].prefix);
	_Static_assert(sizeof "dsp_admin_" - 1 + DM_TOKEN_SECRET_CHARS < DM_TOKEN_MAX,
		       "DM_TOKEN_MAX holds the longest token");
	memcpy(out, dm_token_roles[role].prefix, plen);
	sodium_bin2base64(out + plen, DM_TOKEN_MAX - plen, secret, DM_TOKEN_SECRET_BYTES,
			  DM_TOKEN_B64);
	return DM_TOKEN_OK;
}

enum dm_token_status
dm_token_generate(enum dm_token_role role, char out[DM_TOKEN_MAX])
{
	unsigned char secret[DM_TOKEN_SECRET_BYTES];
	randombytes_buf(secret, sizeof secret);
	enum dm_token_status st = dm_token_format(role, secret, out);
	sodium_memzero(secret, sizeof secret);
	return st;
}

enum dm_token_status
dm_token_parse(const char *text, enum dm_token_role *role)
{
	if (text == NULL)
		return DM_TOKEN_E_FORMAT;
	for (int i = 0; i < DM_TOKEN_ROLE_COUNT; i++) {
		size_t plen = strlen(dm_token_roles[i].prefix);
		if (strncmp(text, dm_token_roles[i].prefix, plen) != 0)
			continue;
		const char *s = text + plen;
		if (strlen(s) != DM_TOKEN_SECRET_CHARS ||
		    strspn(s, DM_TOKEN_B64_ALPHABET) != DM_TOKEN_SECRET_CHARS)
			return DM_TOKEN_E_FORMAT;
		if (role != NULL)
			*role = (enum dm_token_role)i;
		return DM_TOKEN_OK;
	}
	return DM_TOKEN_E_FORMAT;
}

const char *
dm_token_bearer(const char *header)
{
	if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 || header[6] != ' ')
		return NULL;
	const char *t = header + 6;
	while (*t == ' ')
		t++;
	return *t != '\0' ? t : NULL;
}

void
dm_token_id_generate(char out[DM_TOKEN_ID_MAX])
{
	unsigned char raw[DM_TOKEN_ID_RANDOM];
	randombytes_buf(raw, sizeof raw);
	memcpy(out, DM_TOKEN_ID_PREFIX, sizeof DM_TOKEN_ID_PREFIX - 1);
	sodium_bin2hex(out + sizeof DM_TOKEN_ID_PREFIX - 1,
		       DM_TOKEN_ID_MAX - (sizeof DM_TOKEN_ID_PREFIX - 1), raw, sizeof raw);
}

bool
dm_token_id_valid(const char *id)
{
	size_t plen = sizeof DM_TOKEN_ID_PREFIX - 1;
	return id != NULL && strncmp(id, DM_TOKEN_ID_PREFIX, plen) == 0 &&
	       strlen(id + plen) == 2 * DM_TOKEN_ID_RANDOM &&
	       strspn(id + plen, "0123456789abcdef") == 2 * DM_TOKEN_ID_RANDOM;
}

enum dm_token_status
dm_token_key_derive(const unsigned char *bytes, size_t len, unsigned char key[DM_TOKEN_KEY_BYTES])
{
	if (bytes == NULL || len < DM_TOKEN_KEY_FILE_MIN)
		return DM_TOKEN_E_KEY;
	if (crypto_generichash(key, DM_TOKEN_KEY_BYTES, bytes, len,
			       (const unsigned char *)DM_TOKEN_KEY_CONTEXT,
			       sizeof DM_TOKEN_KEY_CONTEXT - 1) != 0)
		return DM_TOKEN_E_CRYPTO;
	return DM_TOKEN_OK;
}

void
dm_token_hash(const unsigned char key[DM_TOKEN_KEY_BYTES], const char *token,
	      unsigned char out[DM_TOKEN_HASH_BYTES])
{
	/* Cannot fail with these sizes (32-byte key and output). */
	(void)crypto_generichash(out, DM_TOKEN_HASH_BYTES, (const unsigned char *)token,
				 strlen(token), key, DM_TOKEN_KEY_BYTES);
}

bool
dm_token_hash_equal(const unsigned char a[DM_TOKEN_HASH_BYTES],
		    const unsigned char b[DM_TOKEN_HASH_BYTES])
{
	return sodium_memcmp(a, b, DM_TOKEN_HASH_BYTES) == 0;
}

void
dm_token_hash_hex(const unsigned char hash[DM_TOKEN_HASH_BYTES], char out[2 * DM_TOKEN_HASH_BYTES + 1])
{
	sodium_bin2hex(out, 2 * DM_TOKEN_HASH_BYTES + 1, hash, DM_TOKEN_HASH_BYTES);
}

int
dm_token_hash_unhex(const char *hex, unsigned char hash[DM_TOKEN_HASH_BYTES])
{
	size_t n = 0;
	const char *end = NULL;
	if (hex == NULL || strlen(hex) != 2 * DM_TOKEN_HASH_BYTES)
		return -1;
	if (sodium_hex2bin(hash, DM_TOKEN_HASH_BYTES, hex, 2 * DM_TOKEN_HASH_BYTES, NULL, &n,
			   &end) != 0 ||
	    n != DM_TOKEN_HASH_BYTES || *end != '\0')
		return -1;
	return 0;
}

bool
dm_token_scope_id_valid(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;
	return n >= 1 && n < DM_TOKEN_SCOPE_ID_MAX &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/-") == n;
}

enum dm_token_status
dm_token_scope_parse(const char *list, char sep, struct dm_token_scope *out)
{
	out->n = 0;
	out->ids = NULL;
	if (list == NULL || *list == '\0')
		return DM_TOKEN_OK;
	size_t n = 1, len = strlen(list);
	for (const char *p = list; *p != '\0'; p++)
		n += *p == sep;
	if (n > DM_TOKEN_SCOPE_MAX)
		return DM_TOKEN_E_SCOPE;
	/* The pointer array, then a copy of the list whose separators become NULs. */
	char **ids = malloc(n * sizeof *ids + len + 1);
	if (ids == NULL)
		return DM_TOKEN_E_NOMEM;
	char *text = (char *)(ids + n);
	memcpy(text, list, len + 1);
	out->ids = ids;
	for (char *p = text;; p++) {
		ids[out->n++] = p;
		p = strchr(p, sep);
		if (p == NULL)
			break;
		*p = '\0';
	}
	for (size_t i = 0; i < out->n; i++)
		if (!dm_token_scope_id_valid(ids[i]))
			return DM_TOKEN_E_SCOPE;
	return DM_TOKEN_OK;
}

int
dm_token_scope_pg_array(const char *const *ids, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	if (cap < 3)
		return -1;
	out[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (!dm_token_scope_id_valid(ids[i]))
			return -1;
		size_t need = strlen(ids[i]) + 3 + (i > 0); /* comma, two quotes */
		if (len + need + 2 > cap)
			return -1;
		len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"", i > 0 ? "," : "", ids[i]);
	}
	out[len++] = '}';
	out[len] = '\0';
	return 0;
}

enum dm_token_status
dm_token_scope_check(enum dm_token_role role, size_t n)
{
	if (!dm_token_role_ok(role))
		return DM_TOKEN_E_ROLE;
	switch (dm_token_roles[role].scope) {
	case DM_TOKEN_SCOPE_NONE: return n == 0 ? DM_TOKEN_OK : DM_TOKEN_E_SCOPE;
	case DM_TOKEN_SCOPE_MANY:
		return n >= 1 && n <= DM_TOKEN_SCOPE_MAX ? DM_TOKEN_OK : DM_TOKEN_E_SCOPE;
	case DM_TOKEN_SCOPE_ONE: return n == 1 ? DM_TOKEN_OK : DM_TOKEN_E_SCOPE;
	}
	return DM_TOKEN_E_SCOPE;
}

bool
dm_token_scope_has(const struct dm_token_scope *scope, const char *id)
{
	for (size_t i = 0; scope != NULL && id != NULL && i < scope->n; i++)
		if (strcmp(scope->ids[i], id) == 0)
			return true;
	return false;
}

void
dm_token_scope_fini(struct dm_token_scope *scope)
{
	if (scope == NULL)
		return;
	free(scope->ids);
	scope->ids = NULL;
	scope->n = 0;
}
