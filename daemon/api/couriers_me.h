/* What the handheld resources (couriers_me.c, stops.c, engineers_me.c)
 * share: who the calling courier (or engineer) is, and the local day. */
#ifndef DM_API_COURIERS_ME_H
#define DM_API_COURIERS_ME_H

#include <stdbool.h>
#include <stdint.h>

struct dm_req;

/* The calling courier's id (the token's one scope id), or NULL after
 * answering r 403 (not a courier token, or an id the daemon cannot use).
 * Borrowed from r's principal. */
const char *dm_api_couriers_me_id(struct dm_req *r);

/* The same for an engineer token when engineer (issue 12), else a courier's. */
const char *dm_api_couriers_me_worker(struct dm_req *r, bool engineer);

/* Now (the daemon's clock) as Unix milliseconds, the zone's UTC offset, and
 * the local day as "YYYYMMDD" (the prefix of that day's wave keys). */
void dm_api_couriers_me_now(int64_t *now_ms, int32_t *offset_s, char today[16]);

#endif
