/* The token cache (see tokens.h). It owns the hash table of principals, the
 * refresh timer, the refresh query and the batched last_used_at UPDATE. It
 * does not decide what a role may do (the HTTP layer's route table does),
 * and it never sees a token's text beyond hashing it in dm_tokens_check.
 *
 * A refresh builds a whole new table beside the old one and swaps them in
 * one step on the loop, so a check always sees one consistent table;
 * principals held by requests outlive the swap through their refcount. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/base/reload.h"
#include "daemon/io/pg.h"
#include "daemon/svc/tokens.h"

#define DM_TOKENS_MIN_BUCKETS 64
#define DM_TOKENS_FLUSH_MAX 1000 /* tokens per last_used_at UPDATE */
#define DM_TOKENS_FULL_READ_S 60.0 /* read whole at least this often: drops expired tokens */

/* One generation of the table. */
struct dm_tokens_table {
	struct dm_tokens_principal **buckets;
	size_t nbuckets; /* a power of two */
	size_t n;
};

struct dm_tokens {
	struct dm_daemon *d;
	struct event *tick;    /* every DM_TOKENS_REFRESH_MS */
	struct event *soon;    /* one-shot, activated for a read now (activating the
				* persistent timer by hand would push its schedule back) */
	struct dm_tokens_table table;
	bool loaded;
	bool reading;          /* a refresh query is in flight */
	bool discard;          /* a token was forgotten while reading: the answer may
				* still hold it, so drop the answer and read again */
	bool reread;           /* read again once the read in flight is applied */
	bool flushing;         /* a last_used_at UPDATE is in flight */
	bool warned_schema;    /* "not migrated" logged once */
	double loaded_mono_s;  /* when the table was last known current */
	long long version;     /* api_tokens_version of the table; -1: read it whole */
	double full_mono_s;    /* when the table was last read whole */
	uint64_t refreshes_total, refresh_errors_total;
};

/* One row of NULLs and the version when the version is still $1; else the
 * version with every live token. One statement: one snapshot. */
static const char dm_tokens_sql_read[] =
	"SELECT v.version, t.id, encode(t.hash, 'hex'), t.role, array_to_string(t.scope, ','), "
	"t.label, coalesce(extract(epoch FROM t.expires_at)::bigint, 0) "
	"FROM api_tokens_version v LEFT JOIN LATERAL (SELECT * FROM api_tokens "
	"WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) "
	"AND v.version <> $1::bigint) t ON true";

/* Only ever moves last_used_at forward: several daemons flush the same token. */
static const char dm_tokens_sql_flush[] =
	"UPDATE api_tokens t SET last_used_at = to_timestamp(u.at) "
	"FROM unnest($1::text[], $2::bigint[]) AS u(id, at) "
	"WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < to_timestamp(u.at))";

/* The hash is keyed and uniformly random: its first bytes index the table. */
static size_t
dm_tokens_bucket(const struct dm_tokens_table *t, const unsigned char hash[DM_TOKEN_HASH_BYTES])
{
	uint64_t h;
	memcpy(&h, hash, sizeof h);
	return (size_t)(h & (t->nbuckets - 1));
}

static struct dm_tokens_principal *
dm_tokens_find(const struct dm_tokens_table *t, const unsigned char hash[DM_TOKEN_HASH_BYTES])
{
	if (t->nbuckets == 0)
		return NULL;
	for (struct dm_tokens_principal *p = t->buckets[dm_tokens_bucket(t, hash)]; p != NULL;
	     p = p->next)
		if (dm_token_hash_equal(p->hash, hash))
			return p;
	return NULL;
}

struct dm_tokens_principal *
dm_tokens_principal_ref(struct dm_tokens_principal *p)
{
	p->refs++;
	return p;
}

void
dm_tokens_principal_unref(struct dm_tokens_principal *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	dm_token_scope_fini(&p->scope);
	free(p);
}

static void
dm_tokens_table_clear(struct dm_tokens_table *t)
{
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct dm_tokens_principal *p = t->buckets[i], *next;
		for (; p != NULL; p = next) {
			next = p->next;
			p->next = NULL;
			dm_tokens_principal_unref(p);
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof *t);
}

/* A principal from row i of the refresh query, or NULL (logged) when the
 * row cannot be used. */
static struct dm_tokens_principal *
dm_tokens_row(const PGresult *res, int i)
{
	struct dm_tokens_principal *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->refs = 1;
	snprintf(p->id, sizeof p->id, "%s", PQgetvalue(res, i, 1));
	if (dm_token_hash_unhex(PQgetvalue(res, i, 2), p->hash) != 0 ||
	    dm_token_role_parse(PQgetvalue(res, i, 3), &p->role) != DM_TOKEN_OK ||
	    dm_token_scope_parse(PQgetvalue(res, i, 4), ',', &p->scope) != DM_TOKEN_OK) {
		dm_log_error("auth", "token %s: unusable row in api_tokens; skipped", p->id);
		dm_tokens_principal_unref(p);
		return NULL;
	}
	snprintf(p->label, sizeof p->label, "%s", PQgetvalue(res, i, 5));
	p->expires_s = strtoll(PQgetvalue(res, i, 6), NULL, 10);
	return p;
}

/* Build a table from the refresh result; carry over the uses the old table
 * has not flushed yet. Returns 0, or -1 when out of memory. */
static int
dm_tokens_build(struct dm_tokens *c, const PGresult *res, struct dm_tokens_table *out)
{
	size_t rows = (size_t)PQntuples(res);
	out->nbuckets = DM_TOKENS_MIN_BUCKETS;
	while (out->nbuckets < 2 * rows)
		out->nbuckets *= 2;
	out->buckets = calloc(out->nbuckets, sizeof *out->buckets);
	out->n = 0;
	if (out->buckets == NULL) {
		out->nbuckets = 0;
		return -1;
	}
	for (size_t i = 0; i < rows; i++) {
		if (PQgetisnull(res, (int)i, 1))
			continue; /* the LEFT JOIN's row when there is no live token */
		struct dm_tokens_principal *p = dm_tokens_row(res, (int)i);
		if (p == NULL)
			continue;
		const struct dm_tokens_principal *old = dm_tokens_find(&c->table, p->hash);
		if (old != NULL)
			p->used_s = old->used_s;
		size_t b = dm_tokens_bucket(out, p->hash);
		p->next = out->buckets[b];
		out->buckets[b] = p;
		out->n++;
	}
	return 0;
}

static void
dm_tokens_read_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_tokens *c = arg;
	c->reading = false;
	if (c->discard || c->reread) {
		bool drop = c->discard;
		if (drop)
			c->version = -1; /* read the next one whole */
		c->discard = c->reread = false;
		event_active(c->soon, EV_TIMEOUT, 0);
		if (drop)
			return;
	}
	if (!reply->ok) {
		c->refresh_errors_total++;
		if (strcmp(reply->sqlstate, "42P01") == 0) {
			if (!c->warned_schema)
				dm_log_warning("auth", "no api_tokens table: run dispatchctl migrate");
			c->warned_schema = true;
		} else if (!reply->unavailable) {
			dm_log_error("auth", "reading api_tokens failed: %s", reply->error);
		}
		return;
	}
	if (PQntuples(reply->res) < 1) {
		c->refresh_errors_total++;
		dm_log_error("auth", "api_tokens_version has no row; keeping the previous table");
		return;
	}
	long long version = strtoll(PQgetvalue(reply->res, 0, 0), NULL, 10);
	if (c->loaded && version == c->version) {
		/* Unchanged: the table in memory is current. */
		c->loaded_mono_s = dm_clock_mono_s();
		c->refreshes_total++;
		return;
	}
	struct dm_tokens_table next;
	if (dm_tokens_build(c, reply->res, &next) != 0) {
		c->refresh_errors_total++;
		dm_log_error("auth", "out of memory reading api_tokens; keeping the previous table");
		dm_tokens_table_clear(&next);
		return;
	}
	if (!c->loaded || next.n != c->table.n)
		dm_log_info("auth", "%zu live API token(s) loaded", next.n);
	dm_tokens_table_clear(&c->table);
	c->table = next;
	c->version = version;
	c->full_mono_s = dm_clock_mono_s();
	c->loaded = true;
	c->warned_schema = false;
	c->loaded_mono_s = dm_clock_mono_s();
	c->refreshes_total++;
}

static void
dm_tokens_flush_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_tokens *c = arg;
	c->flushing = false;
	/* A lost batch only makes last_used_at older than the truth: not retried. */
	if (!reply->ok && !reply->unavailable)
		dm_log_warning("auth", "writing last_used_at failed: %s", reply->error);
}

/* Send the uses recorded since the last flush, up to DM_TOKENS_FLUSH_MAX. */
static void
dm_tokens_flush(struct dm_tokens *c)
{
	size_t n = 0, idlen = 2, atlen = 2;
	for (size_t i = 0; i < c->table.nbuckets; i++)
		for (const struct dm_tokens_principal *p = c->table.buckets[i]; p != NULL; p = p->next)
			if (p->used_s != 0 && n < DM_TOKENS_FLUSH_MAX)
				n++;
	if (n == 0 || c->flushing)
		return;
	char *ids = malloc(n * (DM_TOKEN_ID_MAX + 1) + 2), *ats = malloc(n * 21 + 2);
	if (ids == NULL || ats == NULL)
		goto out;
	strcpy(ids, "{");
	strcpy(ats, "{");
	idlen = atlen = 1;
	size_t k = 0;
	for (size_t i = 0; i < c->table.nbuckets && k < n; i++) {
		for (struct dm_tokens_principal *p = c->table.buckets[i]; p != NULL && k < n;
		     p = p->next) {
			if (p->used_s == 0)
				continue;
			/* Ids are tok_ + hex (checked by the table): safe unquoted. */
			idlen += (size_t)sprintf(ids + idlen, "%s%s", k > 0 ? "," : "", p->id);
			atlen += (size_t)sprintf(ats + atlen, "%s%lld", k > 0 ? "," : "",
						 (long long)p->used_s);
			p->used_s = 0;
			k++;
		}
	}
	strcpy(ids + idlen, "}");
	strcpy(ats + atlen, "}");
	const char *params[] = {ids, ats};
	if (dm_pg_query(c->d->pg, dm_tokens_sql_flush, 2, params, dm_tokens_flush_cb, c) == 0)
		c->flushing = true;
out:
	free(ids);
	free(ats);
}

static void
dm_tokens_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_tokens *c = arg;
	(void)fd;
	(void)what;
	if (!dm_pg_up(c->d->pg)) {
		/* Not loaded yet (a start, a restart after a crash): look again
		 * soon rather than at the next tick, so the daemon is ready as
		 * soon as PostgreSQL answers (docs/reliability.md). */
		struct timeval again = {0, DM_TOKENS_RETRY_MS * 1000};
		if (!c->loaded)
			event_add(c->soon, &again);
		return;
	}
	dm_tokens_flush(c);
	if (c->reading)
		return;
	char version[24];
	bool whole = !c->loaded || dm_clock_mono_s() - c->full_mono_s > DM_TOKENS_FULL_READ_S;
	snprintf(version, sizeof version, "%lld", whole ? -1LL : c->version);
	const char *params[] = {version};
	if (dm_pg_query(c->d->pg, dm_tokens_sql_read, 1, params, dm_tokens_read_cb, c) == 0)
		c->reading = true;
}

struct dm_tokens *
dm_tokens_new(struct dm_daemon *d)
{
	if (dm_token_init() != DM_TOKEN_OK) {
		dm_log_error("auth", "libsodium failed to initialise");
		return NULL;
	}
	struct dm_tokens *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->d = d;
	c->version = -1;
	c->tick = event_new(d->base, -1, EV_PERSIST, dm_tokens_tick_cb, c);
	c->soon = event_new(d->base, -1, 0, dm_tokens_tick_cb, c);
	struct timeval tv = {DM_TOKENS_REFRESH_MS / 1000, (DM_TOKENS_REFRESH_MS % 1000) * 1000};
	if (c->tick == NULL || c->soon == NULL || event_add(c->tick, &tv) != 0) {
		dm_tokens_free(c);
		return NULL;
	}
	if (!d->cfg->token_key_set)
		dm_log_warning("auth", "[auth] token_key_file is not set: every API token is refused");
	event_active(c->soon, EV_TIMEOUT, 0); /* the first read as soon as the loop runs */
	return c;
}

void
dm_tokens_free(struct dm_tokens *c)
{
	if (c == NULL)
		return;
	if (c->tick != NULL)
		event_free(c->tick);
	if (c->soon != NULL)
		event_free(c->soon);
	dm_tokens_table_clear(&c->table);
	free(c);
}

struct dm_tokens_principal *
dm_tokens_check(struct dm_tokens *c, const char *bearer, int64_t now_s, enum dm_tokens_status *why)
{
	enum dm_tokens_status st;
	struct dm_tokens_principal *p = NULL;
	unsigned char hash[DM_TOKEN_HASH_BYTES];
	if (bearer == NULL || bearer[0] == '\0') {
		st = DM_TOKENS_MISSING;
	} else if (dm_token_parse(bearer, NULL) != DM_TOKEN_OK) {
		st = DM_TOKENS_MALFORMED;
	} else if (!c->d->cfg->token_key_set) {
		st = DM_TOKENS_NO_KEY;
	} else if (!c->loaded) {
		st = DM_TOKENS_NOT_LOADED;
		dm_tokens_refresh_soon(c); /* PostgreSQL may have come up since the last tick */
	} else {
		dm_token_hash(c->d->cfg->token_key, bearer, hash);
		p = dm_tokens_find(&c->table, hash);
		if (p == NULL) {
			st = DM_TOKENS_UNKNOWN;
		} else if (p->expires_s != 0 && now_s >= p->expires_s) {
			st = DM_TOKENS_EXPIRED;
			p = NULL;
		} else {
			st = DM_TOKENS_OK;
			p->used_s = now_s;
			dm_tokens_principal_ref(p);
		}
	}
	if (why != NULL)
		*why = st;
	return p;
}

void
dm_tokens_forget(struct dm_tokens *c, const char *id)
{
	c->discard |= c->reading;
	for (size_t i = 0; i < c->table.nbuckets; i++) {
		for (struct dm_tokens_principal **pp = &c->table.buckets[i]; *pp != NULL;
		     pp = &(*pp)->next) {
			struct dm_tokens_principal *p = *pp;
			if (strcmp(p->id, id) != 0)
				continue;
			*pp = p->next;
			p->next = NULL;
			c->table.n--;
			dm_tokens_principal_unref(p);
			return;
		}
	}
}

void
dm_tokens_refresh_soon(struct dm_tokens *c)
{
	if (c->reading)
		c->reread = true;
	else
		event_active(c->soon, EV_TIMEOUT, 0);
}

void
dm_tokens_stats_get(const struct dm_tokens *c, struct dm_tokens_stats *out)
{
	out->live = c->table.n;
	out->loaded = c->loaded;
	out->age_s = c->loaded ? dm_clock_mono_s() - c->loaded_mono_s : 0;
	out->refreshes_total = c->refreshes_total;
	out->refresh_errors_total = c->refresh_errors_total;
}

void
dm_tokens_metrics_render(const struct dm_tokens *c, struct evbuffer *out)
{
	struct dm_tokens_stats st;
	dm_tokens_stats_get(c, &st);
	evbuffer_add_printf(
		out,
		"# HELP dispatchd_api_tokens_live API tokens in the daemon's cache.\n"
		"# TYPE dispatchd_api_tokens_live gauge\n"
		"dispatchd_api_tokens_live %zu\n"
		"# HELP dispatchd_api_tokens_table_age_seconds Since the token table was last read "
		"(-1: never).\n"
		"# TYPE dispatchd_api_tokens_table_age_seconds gauge\n"
		"dispatchd_api_tokens_table_age_seconds %.3f\n"
		"# TYPE dispatchd_api_tokens_refreshes_total counter\n"
		"dispatchd_api_tokens_refreshes_total{result=\"ok\"} %llu\n"
		"dispatchd_api_tokens_refreshes_total{result=\"failed\"} %llu\n",
		st.live, st.loaded ? st.age_s : -1.0, (unsigned long long)st.refreshes_total,
		(unsigned long long)st.refresh_errors_total);
}

const char *
dm_tokens_status_name(enum dm_tokens_status why)
{
	switch (why) {
	case DM_TOKENS_OK: return "ok";
	case DM_TOKENS_MISSING: return "missing";
	case DM_TOKENS_MALFORMED: return "malformed";
	case DM_TOKENS_UNKNOWN: return "unknown";
	case DM_TOKENS_EXPIRED: return "expired";
	case DM_TOKENS_NO_KEY: return "no-key";
	case DM_TOKENS_NOT_LOADED: return "not-loaded";
	}
	return "?";
}
