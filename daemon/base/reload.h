/* Configuration loading and hot swap. A snapshot is refcounted so that an
 * in-flight request keeps the settings it started with across a reload. */
#ifndef DM_RELOAD_H
#define DM_RELOAD_H

#include <stdbool.h>

#include "config/cfg.h"
#include "daemon/base/token.h"
#include "warehouse/promise.h"

/* One immutable, refcounted configuration. */
struct dm_cfg_snap {
	int refs;
	struct cfg *cfg; /* owned */
	struct wh_promise_config promise; /* cfg's [promise] section, validated */
	bool token_key_set;               /* [auth] token_key_file is set and was read */
	unsigned char token_key[DM_TOKEN_KEY_BYTES]; /* derived from it (token_key.h) */
};

/* Read path, parse it and apply the environment overrides of secrets
 * (DISPATCH_PG_DSN, DISPATCH_REDIS_PASSWORD), and read the token key file
 * when [auth] token_key_file is set (a missing or short file fails the
 * load); a [testing] clock other than system is refused when
 * DISPATCH_FORBID_TEST_CLOCK is set (and not "0"). Returns a snapshot with
 * one reference, or NULL with err naming the line and key. */
struct dm_cfg_snap *dm_reload_load(const char *path, struct cfg_err *err);

/* Take a reference. */
struct dm_cfg_snap *dm_cfg_snap_ref(struct dm_cfg_snap *snap);

/* Drop a reference; the last one frees. NULL is a no-op. */
void dm_cfg_snap_unref(struct dm_cfg_snap *snap);

/* Copy into next every non-reloadable key whose value differs from cur,
 * logging a warning for each: a reload never changes them. */
void dm_reload_keep_fixed(const struct cfg *cur, struct cfg *next);

#endif
