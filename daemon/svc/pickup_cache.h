/* The daemon's cache of pickup points for the promise (issue 13 part C3):
 * every DM_PICKUP_CACHE_REFRESH_MS one query, pickup_points_free
 * (data/sql/pickup_points_free.sql), reads the open points with the places
 * their orders take, so GET /v1/promise offers points without querying
 * PostgreSQL per request. The cache may be a refresh behind: a point shown
 * with a place may be full by the order, which intake_commit then refuses
 * (409 pickup-point-full). */
#ifndef DM_PICKUP_CACHE_H
#define DM_PICKUP_CACHE_H

#include <stddef.h>

#include "warehouse/promise.h"

#define DM_PICKUP_CACHE_REFRESH_MS 2000

struct dm_daemon;
struct dm_pickup_cache;

/* Start the refresh timer (its first read at once). NULL when out of
 * memory. Loop thread only. */
struct dm_pickup_cache *dm_pickup_cache_new(struct dm_daemon *d);

/* Stop the timer and free the cache once its query in flight has called
 * back (call after the PostgreSQL pool is freed). NULL is a no-op. */
void dm_pickup_cache_free(struct dm_pickup_cache *c);

/* The points of the last refresh (*n of them; none before the first), valid
 * until the loop runs again. c may be NULL (no points). */
const struct wh_pickup_point *dm_pickup_cache_points(const struct dm_pickup_cache *c, size_t *n);

#endif
