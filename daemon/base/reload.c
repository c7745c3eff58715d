/* Config file I/O and the reload rules: read the file, parse it with the
 * pure parser, apply environment secrets, refuse a test clock where the
 * environment forbids it, and keep fixed keys fixed. The
 * swap itself (and re-applying settings to the pool, Redis and HTTP) is
 * main.c's, which owns those objects. */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/file.h"
#include "daemon/base/log.h"
#include "daemon/base/promise_cfg.h"
#include "daemon/base/reload.h"
#include "daemon/base/token_key.h"

#define DM_RELOAD_MAX_FILE (1 << 20)

/* True for an IPv4 or IPv6 literal. */
static bool
dm_reload_is_ip(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The backends must be reachable without name resolution: libpq and hiredis
 * resolve host names with blocking calls, which would stall the event loop
 * at every reconnect. IP addresses, PostgreSQL socket folders and an
 * explicit hostaddr are fine. Returns 0, or -1 with err filled. */
static int
dm_reload_check_hosts(const struct cfg *cfg, struct cfg_err *err)
{
	char *why = NULL;
	PQconninfoOption *opts = PQconninfoParse(cfg->pg_dsn, &why);
	int rc = 0;
	if (opts == NULL) {
		snprintf(err->msg, sizeof err->msg, "[postgres] dsn: %.200s",
			 why != NULL ? why : "cannot be parsed");
		PQfreemem(why);
		return -1;
	}
	const char *host = NULL, *hostaddr = NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
	}
	if (hostaddr == NULL && host != NULL && host[0] != '\0' && host[0] != '/') {
		/* A list of hosts is comma-separated: every one must be an address. */
		char list[CFG_STR_MAX];
		snprintf(list, sizeof list, "%s", host);
		for (char *save = NULL, *h = strtok_r(list, ",", &save); h != NULL;
		     h = strtok_r(NULL, ",", &save)) {
			if (!dm_reload_is_ip(h) && h[0] != '/') {
				snprintf(err->msg, sizeof err->msg,
					 "[postgres] dsn: host '%.64s' is a name; give an IP address, a "
					 "socket folder or hostaddr= (resolving names would block the "
					 "event loop)",
					 h);
				rc = -1;
				break;
			}
		}
	}
	PQconninfoFree(opts);
	if (rc == 0 && !dm_reload_is_ip(cfg->redis_host)) {
		snprintf(err->msg, sizeof err->msg,
			 "[redis] host: '%.64s' is not an IP address (resolving names would block "
			 "the event loop)",
			 cfg->redis_host);
		rc = -1;
	}
	return rc;
}

/* A test clock ([testing] clock other than system) is refused where the
 * environment forbids it: the shipped systemd unit sets
 * DISPATCH_FORBID_TEST_CLOCK=1, so a production daemon never starts (or
 * reloads) with a clock that lies. Returns 0, or -1 with err filled. */
static int
dm_reload_check_clock(const struct cfg *cfg, struct cfg_err *err)
{
	const char *forbid = getenv("DISPATCH_FORBID_TEST_CLOCK");
	if (cfg->testing_clock == CFG_CLOCK_SYSTEM || forbid == NULL || forbid[0] == '\0' ||
	    strcmp(forbid, "0") == 0)
		return 0;
	snprintf(err->msg, sizeof err->msg,
		 "[testing] clock = %s is refused: DISPATCH_FORBID_TEST_CLOCK is set (the test "
		 "clock is for tests only; use clock = system)",
		 cfg_clock_name(cfg->testing_clock));
	return -1;
}

struct dm_cfg_snap *
dm_reload_load(const char *path, struct cfg_err *err)
{
	size_t len = 0;
	struct dm_cfg_snap *snap;
	static const struct {
		const char *env, *section, *key;
	} overrides[] = {
		{"DISPATCH_PG_DSN", "postgres", "dsn"},
		{"DISPATCH_REDIS_PASSWORD", "redis", "password"},
	};

	err->line = 0;
	char *buf = dm_file_read(path, DM_RELOAD_MAX_FILE, &len, err->msg, sizeof err->msg);
	if (buf == NULL)
		return NULL;
	struct cfg *cfg = cfg_parse(buf, len, err);
	free(buf);
	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
		const char *v = getenv(overrides[i].env);
		if (v != NULL && cfg_set(cfg, overrides[i].section, overrides[i].key, v, err) != 0) {
			snprintf(err->msg, sizeof err->msg, "environment %s: invalid value",
				 overrides[i].env);
			cfg_free(cfg);
			return NULL;
		}
	}
	if (dm_reload_check_hosts(cfg, err) != 0 || dm_reload_check_clock(cfg, err) != 0) {
		cfg_free(cfg);
		return NULL;
	}
	snap = calloc(1, sizeof *snap);
	if (snap == NULL) {
		snprintf(err->msg, sizeof err->msg, "out of memory");
		cfg_free(cfg);
		return NULL;
	}
	if (dm_promise_cfg_build(cfg, &snap->promise, err) != 0) {
		cfg_free(cfg);
		free(snap);
		return NULL;
	}
	if (cfg->auth_token_key_file[0] != '\0') {
		char why[sizeof err->msg - 32] = "libsodium failed to initialise";
		if (dm_token_init() != DM_TOKEN_OK ||
		    dm_token_key_load(cfg->auth_token_key_file, snap->token_key, why, sizeof why) != 0) {
			snprintf(err->msg, sizeof err->msg, "[auth] token_key_file: %s", why);
			cfg_free(cfg);
			sodium_memzero(snap, sizeof *snap);
			free(snap);
			return NULL;
		}
		snap->token_key_set = true;
	}
	snap->refs = 1;
	snap->cfg = cfg;
	return snap;
}

struct dm_cfg_snap *
dm_cfg_snap_ref(struct dm_cfg_snap *snap)
{
	snap->refs++;
	return snap;
}

void
dm_cfg_snap_unref(struct dm_cfg_snap *snap)
{
	if (snap == NULL || --snap->refs > 0)
		return;
	cfg_free(snap->cfg);
	sodium_memzero(snap->token_key, sizeof snap->token_key);
	free(snap);
}

void
dm_reload_keep_fixed(const struct cfg *cur, struct cfg *next)
{
	const struct cfg_key *k;
	while ((k = cfg_first_fixed_change(cur, next)) != NULL) {
		dm_log_warning("cfg", "[%s] %s cannot change on reload; keeping the running value "
				      "(restart to apply)",
			       k->section, k->name);
		memcpy((char *)next + k->offset, (const char *)cur + k->offset, cfg_key_size(k));
	}
}
