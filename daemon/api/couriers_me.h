/* What the handheld resources (couriers_me.c, stops.c) share: who the
 * calling courier is, and the courier's local day. */
#ifndef DM_API_COURIERS_ME_H
#define DM_API_COURIERS_ME_H

#include <stdint.h>

struct dm_req;

/* The calling courier's id (the token's one scope id), or NULL after
 * answering r 403 (not a courier token, or an id the daemon cannot use).
 * Borrowed from r's principal. */
const char *dm_api_couriers_me_id(struct dm_req *r);

/* Now (the daemon's clock) as Unix milliseconds, the zone's UTC offset, and
 * the local day as "YYYYMMDD" (the prefix of that day's wave keys). */
void dm_api_couriers_me_now(int64_t *now_ms, int32_t *offset_s, char today[16]);

#endif
