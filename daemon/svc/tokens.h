/* The daemon's token cache: every live API token (not revoked, not
 * expired) from PostgreSQL's api_tokens, held in memory as a hash table
 * keyed by the token's keyed hash, so checking a bearer token costs one
 * BLAKE2b hash and one lookup, never a query.
 *
 * Freshness: every DM_TOKENS_REFRESH_MS (2 s) one query checks
 * api_tokens_version (bumped by a trigger on every change but last_used_at)
 * and, only when it moved (or once a minute, to drop expired tokens), reads
 * every live token again, so a token revoked
 * anywhere (dispatchctl, another daemon's API) stops
 * working on every instance within one refresh plus a query: under 5 s.
 * While PostgreSQL is unreachable the last table stays in use (tokens keep
 * working; a revocation waits for the database to come back) and expiry is
 * still honoured from memory. last_used_at is written in batches, one
 * UPDATE per refresh for the tokens used since the previous one.
 *
 * One cache per daemon (struct dm_daemon's tokens), on the loop thread. */
#ifndef DM_TOKENS_H
#define DM_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/base/token.h"

struct dm_daemon;
struct dm_tokens;

#define DM_TOKENS_REFRESH_MS 2000
/* Until the table is first loaded: how soon to look again while PostgreSQL is not up. */
#define DM_TOKENS_RETRY_MS 50
#define DM_TOKENS_LABEL_MAX 201 /* a label: up to 200 bytes, with the NUL */

/* Who a valid token speaks for. Immutable once published; refcounted so a
 * request may keep it across a cache refresh. */
struct dm_tokens_principal {
	char id[DM_TOKEN_ID_MAX];          /* public id: what logs and lists show */
	enum dm_token_role role;
	struct dm_token_scope scope;       /* warehouse/station ids, or the one courier/engineer id */
	char label[DM_TOKENS_LABEL_MAX];
	int64_t expires_s;                 /* Unix seconds; 0: never */
	/* private to tokens.c */
	int refs;
	unsigned char hash[DM_TOKEN_HASH_BYTES];
	int64_t used_s;                    /* last use not yet written to PostgreSQL; 0: none */
	struct dm_tokens_principal *next;  /* hash chain */
};

/* Why dm_tokens_check found no principal. Suggested answers for the HTTP
 * layer: MISSING, MALFORMED, UNKNOWN and EXPIRED are 401 with
 * WWW-Authenticate: Bearer (clients need not learn which); NO_KEY and
 * NOT_LOADED are 503 not-ready (the daemon cannot tell yet). */
enum dm_tokens_status {
	DM_TOKENS_OK = 0,
	DM_TOKENS_MISSING,    /* no bearer token given */
	DM_TOKENS_MALFORMED,  /* not a token's shape: never hashed */
	DM_TOKENS_UNKNOWN,    /* no such live token (never issued, revoked, or another key) */
	DM_TOKENS_EXPIRED,    /* known, but its expires_at has passed */
	DM_TOKENS_NO_KEY,     /* [auth] token_key_file is not set: no token can be checked */
	DM_TOKENS_NOT_LOADED, /* the table has not been read yet (PostgreSQL down since start) */
};

/* Counters for /metrics and tests. */
struct dm_tokens_stats {
	size_t live;                 /* tokens in the table */
	bool loaded;                 /* read at least once */
	double age_s;                /* since the last successful read; 0 before the first */
	uint64_t refreshes_total;    /* successful reads */
	uint64_t refresh_errors_total;
};

/* The cache of d, refreshing from d->pg at once and then every
 * DM_TOKENS_REFRESH_MS. Logs a warning when no token key is configured.
 * NULL when out of memory or the timer cannot be created. */
struct dm_tokens *dm_tokens_new(struct dm_daemon *d);

/* Stop refreshing and free the table (principals still referenced by
 * requests live on until their last unref). Call after dm_pg_free, whose
 * failing callbacks still reach the cache. NULL is a no-op. */
void dm_tokens_free(struct dm_tokens *c);

/* Check bearer (the token text, e.g. from dm_token_bearer; NULL or "" is
 * MISSING) at Unix time now_s with the key of the current config snapshot.
 * Returns the principal with one new reference for the caller (release it
 * with dm_tokens_principal_unref), or NULL with *why set (why may be NULL).
 * Records the use for the next last_used_at batch. Constant-time hash
 * comparison (dm_token_hash_equal). Loop thread only. */
struct dm_tokens_principal *dm_tokens_check(struct dm_tokens *c, const char *bearer,
					    int64_t now_s, enum dm_tokens_status *why);

/* Take / drop a reference on a principal; the last unref frees it. NULL is
 * a no-op for unref. Loop thread only. */
struct dm_tokens_principal *dm_tokens_principal_ref(struct dm_tokens_principal *p);
void dm_tokens_principal_unref(struct dm_tokens_principal *p);

/* Drop token id from the table at once (this daemon revoked it: call after
 * the revocation committed); a read in flight, which may predate it, is
 * discarded and sent again. Other daemons drop it at their next refresh. */
void dm_tokens_forget(struct dm_tokens *c, const char *id);

/* Read the table again as soon as possible (this daemon created a token);
 * when a read is in flight, once more after it. */
void dm_tokens_refresh_soon(struct dm_tokens *c);

/* Copy the counters into out. */
void dm_tokens_stats_get(const struct dm_tokens *c, struct dm_tokens_stats *out);

struct evbuffer;

/* Append the cache's Prometheus series to out: dispatchd_api_tokens_live,
 * dispatchd_api_tokens_table_age_seconds (-1 before the first read),
 * dispatchd_api_tokens_refreshes_total{result}. */
void dm_tokens_metrics_render(const struct dm_tokens *c, struct evbuffer *out);

/* A short name of a status ("unknown"), for logs at debug level. Static. */
const char *dm_tokens_status_name(enum dm_tokens_status why);

#endif
