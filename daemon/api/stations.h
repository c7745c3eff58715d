/* What other resources under /v1/stations/{id}/... need of the stations
 * resource (stations.c). */
#ifndef DM_API_STATIONS_H
#define DM_API_STATIONS_H

#include "daemon/io/http.h"
#include "daemon/svc/areas.h"

/* The place of station id from the current areas snapshot into *place
 * (may be NULL when only existence matters): 0, or -1 once r is answered
 * 404 (no such station) or 503 (no areas loaded yet). */
int dm_api_stations_find(struct dm_req *r, const char *id, struct dm_areas_place *place);

#endif
