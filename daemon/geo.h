/* The daemon's geography: an immutable, refcounted snapshot of the service
 * areas (districts, stations, warehouses) loaded from PostgreSQL, with the
 * point indexes built on a worker. Handlers locate points against the
 * current snapshot; a reload builds a new one off to the side and swaps it
 * in only when complete. */
#ifndef DM_GEO_H
#define DM_GEO_H

#include <stdbool.h>
#include <stddef.h>

struct dm_daemon;
struct dm_geo;

#define DM_GEO_ID_MAX 64
#define DM_GEO_NAME_MAX 96
#define DM_GEO_MAX_SERVING 8

/* A warehouse (regional "rdc" or front "fdc") that serves a point. */
struct dm_geo_warehouse {
	char id[DM_GEO_ID_MAX];
	char kind[8];     /* "rdc" or "fdc" */
	double lon, lat;  /* WGS84 degrees */
	double dist_m;    /* great-circle distance to the station */
};

/* Where a point belongs: its station, district and serving warehouses. */
struct dm_geo_place {
	char station_id[DM_GEO_ID_MAX];
	char station_name[DM_GEO_NAME_MAX];
	double station_lon, station_lat;
	char district_id[DM_GEO_ID_MAX];   /* "" when no district covers the point */
	char district_name[DM_GEO_NAME_MAX];
	bool near;                         /* in a gap, given to the nearest station */
	double dist_m;                     /* metres to that station's area (0 inside) */
	int nwarehouses;
	struct dm_geo_warehouse warehouses[DM_GEO_MAX_SERVING]; /* regional first, then front */
};

enum dm_geo_status {
	DM_GEO_OK = 0,
	DM_GEO_OUTSIDE,     /* outside coverage: 422 */
	DM_GEO_NOT_LOADED,  /* no areas loaded yet: 503 */
	DM_GEO_UNKNOWN,     /* no such station id: 404 */
};

/* The current snapshot with a reference taken, or NULL before the first
 * load. Release with dm_geo_unref. */
struct dm_geo *dm_geo_current(struct dm_daemon *d);

/* Drop a reference; the last one frees the snapshot (on the loop thread). */
void dm_geo_unref(struct dm_geo *geo);

/* Locate (lon, lat) in geo. Never allocates; safe on the loop thread. */
enum dm_geo_status dm_geo_locate(const struct dm_geo *geo, double lon, double lat,
				 struct dm_geo_place *out);

/* The place of station id (its own point), as dm_geo_locate would give. */
enum dm_geo_status dm_geo_station(const struct dm_geo *geo, const char *id,
				  struct dm_geo_place *out);

/* Number of stations in geo, and the id of the i-th (ordered by id). */
size_t dm_geo_station_count(const struct dm_geo *geo);
const char *dm_geo_station_id(const struct dm_geo *geo, size_t i);

/* Station id's service area as GeoJSON geometry text (borrowed from geo), or NULL. */
const char *dm_geo_station_area_geojson(const struct dm_geo *geo, const char *id);

/* Start loading areas from PostgreSQL into a new snapshot (at start, on
 * SIGHUP, and retried while PostgreSQL is down); swaps it in when built. */
void dm_geo_reload(struct dm_daemon *d);

/* Release the current snapshot and stop reloading (shutdown). */
void dm_geo_shutdown(struct dm_daemon *d);

#endif
