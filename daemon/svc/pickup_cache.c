/* The pickup points cache (see pickup_cache.h): a timer on the loop, one
 * pickup_points_free query at a time; a complete answer replaces the
 * snapshot at once, a failed one keeps the last. Nothing here blocks. */
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/daemon.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/svc/pickup_cache.h"

#define DM_PICKUP_CACHE_ID_MAX 64 /* pickup_points.id and station ids: at most 63 bytes */

struct dm_pickup_cache_row {
	char id[DM_PICKUP_CACHE_ID_MAX];
	char station[DM_PICKUP_CACHE_ID_MAX];
	char *name;    /* owned */
	char *address; /* owned */
};

struct dm_pickup_cache {
	struct dm_daemon *d;
	struct event *ev;
	bool querying;
	bool closing;
	size_t n;
	struct dm_pickup_cache_row *rows;  /* owned: the ids the points borrow */
	struct wh_pickup_point *points;    /* owned */
};

static void
dm_pickup_cache_arm(struct dm_pickup_cache *c, long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	(void)event_add(c->ev, &tv);
}

static void
dm_pickup_cache_free_rows(struct dm_pickup_cache_row *rows, size_t n)
{
	for (size_t i = 0; rows != NULL && i < n; i++) {
		free(rows[i].name);
		free(rows[i].address);
	}
	free(rows);
}

static void
dm_pickup_cache_release(struct dm_pickup_cache *c)
{
	dm_pickup_cache_free_rows(c->rows, c->n);
	free(c->points);
	c->rows = NULL;
	c->points = NULL;
	c->n = 0;
}

static void
dm_pickup_cache_maybe_free(struct dm_pickup_cache *c)
{
	if (c->closing && !c->querying) {
		dm_pickup_cache_release(c);
		free(c);
	}
}

/* The answer as a new snapshot; -1 (the last one kept) when malformed or
 * out of memory. */
static int
dm_pickup_cache_load(struct dm_pickup_cache *c, const PGresult *res)
{
	size_t n = (size_t)PQntuples(res);
	if (PQnfields(res) != 9)
		return -1;
	struct dm_pickup_cache_row *rows = calloc(n > 0 ? n : 1, sizeof *rows);
	struct wh_pickup_point *points = calloc(n > 0 ? n : 1, sizeof *points);
	if (rows == NULL || points == NULL) {
		free(rows);
		free(points);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		int row = (int)i;
		snprintf(rows[i].id, sizeof rows[i].id, "%s", PQgetvalue(res, row, 0));
		snprintf(rows[i].station, sizeof rows[i].station, "%s", PQgetvalue(res, row, 1));
		rows[i].name = strdup(PQgetvalue(res, row, 7));
		rows[i].address = strdup(PQgetvalue(res, row, 8));
		if (rows[i].name == NULL || rows[i].address == NULL) {
			dm_pickup_cache_free_rows(rows, i + 1);
			free(points);
			return -1;
		}
		points[i] = (struct wh_pickup_point){
			.id = rows[i].id,
			.station = rows[i].station,
			.name = rows[i].name,
			.address = rows[i].address,
			.lon = strtod(PQgetvalue(res, row, 2), NULL),
			.lat = strtod(PQgetvalue(res, row, 3), NULL),
			.capacity = (int32_t)strtol(PQgetvalue(res, row, 4), NULL, 10),
			.used = (int32_t)strtol(PQgetvalue(res, row, 5), NULL, 10),
			.shelf = PQgetvalue(res, row, 6)[0] == 't',
		};
	}
	dm_pickup_cache_release(c);
	c->rows = rows;
	c->points = points;
	c->n = n;
	return 0;
}

static void
dm_pickup_cache_done(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_pickup_cache *c = arg;
	c->querying = false;
	if (!reply->ok && !reply->unavailable)
		dm_log_error("pg", "reading the pickup points failed: %s", reply->error);
	if (reply->ok && !c->closing && dm_pickup_cache_load(c, reply->res) != 0)
		dm_log_error("pickup", "the pickup points cache kept its last snapshot");
	dm_pickup_cache_maybe_free(c);
}

static void
dm_pickup_cache_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dm_pickup_cache *c = arg;
	(void)fd;
	(void)what;
	dm_pickup_cache_arm(c, DM_PICKUP_CACHE_REFRESH_MS);
	if (c->querying || c->closing || c->d->draining || c->d->pg == NULL || !dm_pg_up(c->d->pg))
		return;
	if (dm_pg_query(c->d->pg,
			"SELECT id, station_id, lon, lat, capacity, used, shelf, name, address "
			"FROM pickup_points_free()",
			0, NULL, dm_pickup_cache_done, c) == 0)
		c->querying = true;
}

struct dm_pickup_cache *
dm_pickup_cache_new(struct dm_daemon *d)
{
	struct dm_pickup_cache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->d = d;
	c->ev = event_new(d->base, -1, 0, dm_pickup_cache_tick_cb, c);
	if (c->ev == NULL) {
		free(c);
		return NULL;
	}
	dm_pickup_cache_arm(c, 0);
	return c;
}

void
dm_pickup_cache_free(struct dm_pickup_cache *c)
{
	if (c == NULL)
		return;
	event_free(c->ev);
	c->ev = NULL;
	c->closing = true;
	dm_pickup_cache_maybe_free(c);
}

const struct wh_pickup_point *
dm_pickup_cache_points(const struct dm_pickup_cache *c, size_t *n)
{
	*n = c != NULL ? c->n : 0;
	return c != NULL ? c->points : NULL;
}
