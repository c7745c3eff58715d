/* API tokens: opaque bearer tokens, their roles and scopes, and the keyed
 * hash that is all the server ever stores of them.
 *
 * A token is a readable prefix naming its role ("dsp_cour_") followed by 256
 * bits from the OS CSPRNG in URL-safe base64 without padding (43 chars), e.g.
 * "dsp_cour_3q2-7w…". The prefix makes a leaked token recognisable (secret
 * scanners, logs); it is a hint only: the role that counts is the stored one.
 * The server keeps BLAKE2b-256(token) keyed with the server's token key
 * (crypto_generichash), compares hashes in constant time (sodium_memcmp), and
 * names a token in logs and lists by its public id ("tok_" + 16 hex digits).
 *
 * Everything here is libsodium and plain data: no files, no clock, no
 * database. Randomness comes only from dm_token_generate and
 * dm_token_id_generate (randombytes_buf); every other function is pure. */
#ifndef DM_TOKEN_H
#define DM_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DM_TOKEN_KEY_BYTES 32     /* the hash key (derived from the key file) */
#define DM_TOKEN_HASH_BYTES 32    /* the stored keyed hash */
#define DM_TOKEN_SECRET_BYTES 32  /* random bytes in a token: 256 bits */
#define DM_TOKEN_SECRET_CHARS 43  /* their URL-safe base64, unpadded */
#define DM_TOKEN_MAX 64           /* longest token text, with its NUL */
#define DM_TOKEN_ID_MAX 24        /* "tok_" + 16 hex digits, with the NUL */
#define DM_TOKEN_SCOPE_ID_MAX 64  /* a scope id: 1 to 63 bytes */
#define DM_TOKEN_SCOPE_MAX 64     /* ids in one token's scope */
#define DM_TOKEN_KEY_FILE_MIN 32  /* a key file holds at least this many bytes */
#define DM_TOKEN_DURATION_MAX_S ((int64_t)10 * 366 * 86400) /* about ten years */

enum dm_token_role {
	DM_TOKEN_ADMIN = 0,     /* "dsp_admin_": everything */
	DM_TOKEN_ORDER_SERVICE, /* "dsp_ordr_": promise and orders */
	DM_TOKEN_WAREHOUSE,     /* "dsp_whse_": scope = one or more warehouse ids */
	DM_TOKEN_STATION,       /* "dsp_stn_": scope = one or more station ids */
	DM_TOKEN_COURIER,       /* "dsp_cour_": scope = one courier id */
	DM_TOKEN_ENGINEER,      /* "dsp_engr_": scope = one engineer id */
	DM_TOKEN_PICKUP_POINT,  /* "dsp_pkp_": scope = one pickup point id (issue 13) */
	DM_TOKEN_ROLE_COUNT
};

/* How many scope ids a role takes. */
enum dm_token_scope_kind {
	DM_TOKEN_SCOPE_NONE, /* admin, order_service: no scope */
	DM_TOKEN_SCOPE_MANY, /* warehouse, station: one or more ids */
	DM_TOKEN_SCOPE_ONE,  /* courier, engineer, pickup_point: exactly one id */
};

enum dm_token_status {
	DM_TOKEN_OK = 0,
	DM_TOKEN_E_ROLE,     /* not a role name */
	DM_TOKEN_E_DURATION, /* not "<N>s|m|h|d|w" within 1 s .. DM_TOKEN_DURATION_MAX_S */
	DM_TOKEN_E_FORMAT,   /* not a token's shape (prefix, length, alphabet) */
	DM_TOKEN_E_SCOPE,    /* a bad scope id, or the wrong number for the role */
	DM_TOKEN_E_KEY,      /* key material too short */
	DM_TOKEN_E_NOMEM,
	DM_TOKEN_E_CRYPTO,   /* libsodium failed to initialise */
};

/* A token's scope: n ids. ids and the strings it points to are one
 * allocation owned by the scope (dm_token_scope_fini frees it). */
struct dm_token_scope {
	size_t n;
	char **ids;
};

#if defined(__GNUC__)
#define DM_TOKEN_MUST_CHECK __attribute__((warn_unused_result))
#else
#define DM_TOKEN_MUST_CHECK
#endif

/* Initialise libsodium (idempotent, thread-safe). Call once at startup,
 * before any other function here. */
enum dm_token_status dm_token_init(void) DM_TOKEN_MUST_CHECK;

/* The role's name as in the API and the database ("order_service"), or
 * NULL for an out-of-range value. Static. */
const char *dm_token_role_name(enum dm_token_role role);

/* The role's token prefix ("dsp_ordr_"), or NULL. Static. */
const char *dm_token_role_prefix(enum dm_token_role role);

/* Parse a role name (exact, lower case). */
enum dm_token_status dm_token_role_parse(const char *name,
					 enum dm_token_role *out) DM_TOKEN_MUST_CHECK;

/* How many scope ids role takes. */
enum dm_token_scope_kind dm_token_role_scope(enum dm_token_role role);

/* Parse a lifetime such as "30d", "12h", "90m", "3600s" or "2w" into
 * seconds (1 .. DM_TOKEN_DURATION_MAX_S). */
enum dm_token_status dm_token_duration_parse(const char *text,
					     int64_t *out_s) DM_TOKEN_MUST_CHECK;

/* Write role's prefix and the URL-safe unpadded base64 of secret into out
 * (DM_TOKEN_MAX bytes). Pure: dm_token_generate supplies the randomness. */
enum dm_token_status dm_token_format(enum dm_token_role role,
				     const unsigned char secret[DM_TOKEN_SECRET_BYTES],
				     char out[DM_TOKEN_MAX]) DM_TOKEN_MUST_CHECK;

/* A new token for role: 256 bits from the OS CSPRNG, formatted. The caller
 * should sodium_memzero out once it has been shown. */
enum dm_token_status dm_token_generate(enum dm_token_role role,
				       char out[DM_TOKEN_MAX]) DM_TOKEN_MUST_CHECK;

/* Check that text has a token's shape: a known prefix followed by exactly
 * DM_TOKEN_SECRET_CHARS URL-safe base64 characters. On success *role (may
 * be NULL) is the prefix's role, a hint only. Cheap: callers check the
 * shape before hashing, so junk never costs a hash. */
enum dm_token_status dm_token_parse(const char *text, enum dm_token_role *role);

/* The token of an Authorization header value "Bearer <token>" (scheme
 * case-insensitive, one or more spaces), borrowed from header; NULL when
 * header is NULL or not a Bearer credential. The shape is not checked. */
const char *dm_token_bearer(const char *header);

/* A new public token id, "tok_" + 16 lower-case hex digits (8 random bytes). */
void dm_token_id_generate(char out[DM_TOKEN_ID_MAX]);

/* True when id has the shape dm_token_id_generate produces. */
bool dm_token_id_valid(const char *id);

/* Derive the hash key from a key file's bytes (at least
 * DM_TOKEN_KEY_FILE_MIN): BLAKE2b-256 keyed with a fixed context string, so
 * any file of random bytes (raw or hex text) serves. */
enum dm_token_status dm_token_key_derive(const unsigned char *bytes, size_t len,
					 unsigned char key[DM_TOKEN_KEY_BYTES]) DM_TOKEN_MUST_CHECK;

/* The stored form of token: BLAKE2b-256 of its text keyed with key. */
void dm_token_hash(const unsigned char key[DM_TOKEN_KEY_BYTES], const char *token,
		   unsigned char out[DM_TOKEN_HASH_BYTES]);

/* Constant-time comparison of two hashes (sodium_memcmp). */
bool dm_token_hash_equal(const unsigned char a[DM_TOKEN_HASH_BYTES],
			 const unsigned char b[DM_TOKEN_HASH_BYTES]);

/* Lower-case hex of a hash into out (2 * DM_TOKEN_HASH_BYTES + 1 bytes), as
 * PostgreSQL's decode(..., 'hex') and encode(..., 'hex') speak it. */
void dm_token_hash_hex(const unsigned char hash[DM_TOKEN_HASH_BYTES],
		       char out[2 * DM_TOKEN_HASH_BYTES + 1]);

/* Parse exactly 2 * DM_TOKEN_HASH_BYTES hex digits into hash. Returns 0 or -1. */
int dm_token_hash_unhex(const char *hex, unsigned char hash[DM_TOKEN_HASH_BYTES]);

/* True for a valid scope id: 1 to 63 bytes of [A-Za-z0-9_.:/-] (the ids the
 * API accepts for warehouses, stations, couriers and engineers). */
bool dm_token_scope_id_valid(const char *id);

/* Parse sep-separated ids ("w1,w2"; "" is no id) into out (initialised
 * here; dm_token_scope_fini frees it, also after a failure). Every id must
 * be valid and there may be at most DM_TOKEN_SCOPE_MAX. */
enum dm_token_status dm_token_scope_parse(const char *list, char sep,
					  struct dm_token_scope *out) DM_TOKEN_MUST_CHECK;

#define DM_TOKEN_SCOPE_ARRAY_MAX (DM_TOKEN_SCOPE_MAX * (DM_TOKEN_SCOPE_ID_MAX + 3) + 3)

/* Write ids[n] (each valid, see dm_token_scope_id_valid) as a PostgreSQL
 * array literal with quoted elements ('{"w1","w2"}'; '{}' for none) into out
 * (cap >= DM_TOKEN_SCOPE_ARRAY_MAX holds any scope). Quoting keeps an id
 * such as NULL an id. Returns 0, or -1 for an invalid id or a short out. */
int dm_token_scope_pg_array(const char *const *ids, size_t n, char *out, size_t cap);

/* Check that n scope ids suit role (none, one or more, exactly one). */
enum dm_token_status dm_token_scope_check(enum dm_token_role role, size_t n) DM_TOKEN_MUST_CHECK;

/* True when id is one of scope's ids. */
bool dm_token_scope_has(const struct dm_token_scope *scope, const char *id);

/* Free a scope's ids; the scope is left empty. NULL is a no-op. */
void dm_token_scope_fini(struct dm_token_scope *scope);

#endif
