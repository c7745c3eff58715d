/* The [promise] section of the configuration as the warehouse core's
 * struct wh_promise_config: converted and validated as a whole at load and
 * reload, so a bad section never replaces a good one. */
#ifndef DM_PROMISE_CFG_H
#define DM_PROMISE_CFG_H

#include "config/cfg.h"
#include "warehouse/promise.h"

/* Fill out from cfg's [promise] keys and validate it (wh_promise_config_check).
 * Returns 0, or -1 with err->msg naming the section and the problem. */
int dm_promise_cfg_build(const struct cfg *cfg, struct wh_promise_config *out, struct cfg_err *err);

#endif
