/* Config file I/O and the reload rules: read the file, parse it with the
 * pure parser, apply environment secrets, and keep fixed keys fixed. The
 * swap itself (and re-applying settings to the pool, Redis and HTTP) is
 * main.c's, which owns those objects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/file.h"
#include "daemon/log.h"
#include "daemon/promise_cfg.h"
#include "daemon/reload.h"

#define DM_RELOAD_MAX_FILE (1 << 20)

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
