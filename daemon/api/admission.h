/* Admission: what every matched request passes before its handler (today
 * the rate limits; authentication joins here). Installed by main.c as
 * struct dm_daemon's admit hook, so daemon/io never includes daemon/api. */
#ifndef DM_ADMISSION_H
#define DM_ADMISSION_H

#include <stdbool.h>

struct dm_req;

/* Let r through (true), or answer it 429 rate-limited with Retry-After and
 * return false. Loop thread only. */
bool dm_admission_check(struct dm_req *r);

#endif
