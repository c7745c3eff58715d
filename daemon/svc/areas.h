/* The daemon's geography: an immutable, refcounted snapshot of the service
 * areas (districts, stations, warehouses) loaded from PostgreSQL, with the
 * point indexes built on a worker. Handlers locate points against the
 * current snapshot; a reload builds a new one off to the side and swaps it
 * in only when complete. */
#ifndef DM_AREAS_H
#define DM_AREAS_H

#include <stdbool.h>
#include <stddef.h>

struct dm_daemon;
struct dm_areas_snap;

#define DM_AREAS_ID_MAX 64
#define DM_AREAS_NAME_MAX 96
#define DM_AREAS_MAX_SERVING 8

/* A warehouse (regional "rdc" or front "fdc") that serves a point. */
struct dm_areas_warehouse {
	char id[DM_AREAS_ID_MAX];
	char kind[8];     /* "rdc" or "fdc" */
	double lon, lat;  /* WGS84 degrees */
	double dist_m;    /* great-circle distance to the station */
};

/* Where a point belongs: its station, district and serving warehouses. */
struct dm_areas_place {
	char station_id[DM_AREAS_ID_MAX];
	char station_name[DM_AREAS_NAME_MAX];
	double station_lon, station_lat;
	char district_id[DM_AREAS_ID_MAX];   /* "" when no district covers the point */
	char district_name[DM_AREAS_NAME_MAX];
	bool near;                         /* in a gap, given to the nearest station */
	double dist_m;                     /* metres to that station's area (0 inside) */
	int nwarehouses;
	struct dm_areas_warehouse warehouses[DM_AREAS_MAX_SERVING]; /* regional first, then front */
};

enum dm_areas_status {
	DM_AREAS_OK = 0,
	DM_AREAS_OUTSIDE,     /* outside coverage: 422 */
	DM_AREAS_NOT_LOADED,  /* no areas loaded yet: 503 */
	DM_AREAS_UNKNOWN,     /* no such station id: 404 */
};

/* The current snapshot with a reference taken, or NULL before the first
 * load. Release with dm_areas_unref. */
struct dm_areas_snap *dm_areas_current(struct dm_daemon *d);

/* Drop a reference; the last one frees the snapshot (on the loop thread). */
void dm_areas_unref(struct dm_areas_snap *geo);

/* Locate (lon, lat) in geo. Never allocates; safe on the loop thread. */
enum dm_areas_status dm_areas_locate(const struct dm_areas_snap *geo, double lon, double lat,
				 struct dm_areas_place *out);

/* The place of station id (its own point), as dm_areas_locate would give. */
enum dm_areas_status dm_areas_station(const struct dm_areas_snap *geo, const char *id,
				  struct dm_areas_place *out);

/* Number of stations in geo, and the id of the i-th (ordered by id). */
size_t dm_areas_station_count(const struct dm_areas_snap *geo);
const char *dm_areas_station_id(const struct dm_areas_snap *geo, size_t i);

/* Station id's service area as GeoJSON geometry text (borrowed from geo), or NULL. */
const char *dm_areas_station_area_geojson(const struct dm_areas_snap *geo, const char *id);

/* Start loading areas from PostgreSQL into a new snapshot (at start, on
 * SIGHUP, and retried while PostgreSQL is down); swaps it in when built. */
void dm_areas_reload(struct dm_daemon *d);

/* Release the current snapshot and stop reloading (shutdown). */
void dm_areas_shutdown(struct dm_daemon *d);

#endif
