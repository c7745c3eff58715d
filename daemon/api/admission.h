/* Admission: what every matched request passes before its handler: the
 * bearer token (401), the route's roles (403), the token's scope (404, as
 * if the resource did not exist) and the rate limits (429). Installed by main.c as
 * struct dm_daemon's admit hook, so daemon/io never includes daemon/api. */
#ifndef DM_ADMISSION_H
#define DM_ADMISSION_H

#include <stdbool.h>

struct dm_req;

/* Let r through (true; r->principal is set when a token was given), or
 * answer it 401, 403, 404, 429 (or 503 while tokens cannot be checked) and
 * return false. Writes by admin, warehouse and station tokens get
 * r->audit set. Loop thread only. */
bool dm_admission_check(struct dm_req *r);

/* The id of the token r came with ("tok_..."), or "anonymous". Borrowed
 * from r. */
const char *dm_admission_actor(const struct dm_req *r);

#endif
