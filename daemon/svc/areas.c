/* The daemon's geography. It owns the current snapshot (refcounted) and the
 * loader: query every area from PostgreSQL on the loop, build the indexes on
 * a worker (GEOS work takes a few hundred milliseconds for a city), swap the
 * snapshot in on the loop. The snapshot holds no GEOS objects (the point
 * index keeps plain arrays), so it may be read from the loop while the next
 * one is built. Retries every few seconds while PostgreSQL is down or the
 * areas table is missing. */
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/daemon.h"
#include "daemon/svc/areas.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"
#include "daemon/base/work.h"
#include "routing/geo/areas.h"
#include "routing/geo/ctx.h"
#include "routing/common/distance.h"
#include "routing/geo/index.h"

#define DM_AREAS_RETRY_S 3
#define DM_AREAS_MAX_SERVES 64

struct dm_areas_station {
	char id[DM_AREAS_ID_MAX];
	char name[DM_AREAS_NAME_MAX];
	char district[DM_AREAS_ID_MAX];
	double lon, lat;
	char *area_geojson; /* owned: the service area as a GeoJSON geometry */
};

struct dm_areas_district {
	char id[DM_AREAS_ID_MAX];
	char name[DM_AREAS_NAME_MAX];
};

struct dm_areas_wh {
	struct dm_areas_warehouse w;
	int nserves;
	char serves[DM_AREAS_MAX_SERVES][DM_AREAS_ID_MAX]; /* district ids */
};

struct dm_areas_snap {
	int refs;
	size_t nstations, ndistricts, nwarehouses;
	struct dm_areas_station *stations;   /* sorted by id; index order */
	struct dm_areas_district *districts; /* index order */
	struct dm_areas_wh *warehouses;      /* rdc first, then fdc, by id */
	struct rt_geo_index *station_index;
	struct rt_geo_index *district_index;
};

/* One row of the areas table, copied off the PGresult for the worker. */
struct dm_areas_row {
	char kind[16];
	char id[DM_AREAS_ID_MAX];
	char name[DM_AREAS_NAME_MAX];
	char *props;        /* owned JSON text */
	unsigned char *wkb; /* owned (PQfreemem) */
	size_t wkb_len;
	double lon, lat;
	bool has_point;
};

struct dm_areas_job {
	struct dm_daemon *d;
	struct dm_areas_row *rows;
	size_t nrows;
	struct dm_areas_snap *result; /* built by the worker, NULL on failure */
	char error[300];
	bool ran;
};

struct dm_areas_loader {
	struct dm_areas_snap *current;
	struct event *retry;
	bool loading;
	bool again; /* a reload was asked for while loading */
	bool stopped;
};

static struct dm_areas_loader *
dm_areas_loader(struct dm_daemon *d)
{
	if (d->geo_loader == NULL)
		d->geo_loader = calloc(1, sizeof(struct dm_areas_loader));
	return d->geo_loader;
}

static void
dm_areas_free(struct dm_areas_snap *geo)
{
	if (geo == NULL)
		return;
	for (size_t i = 0; i < geo->nstations; i++)
		free(geo->stations[i].area_geojson);
	free(geo->stations);
	free(geo->districts);
	free(geo->warehouses);
	rt_geo_index_free(geo->station_index);
	rt_geo_index_free(geo->district_index);
	free(geo);
}

void
dm_areas_unref(struct dm_areas_snap *geo)
{
	if (geo != NULL && --geo->refs == 0)
		dm_areas_free(geo);
}

struct dm_areas_snap *
dm_areas_current(struct dm_daemon *d)
{
	struct dm_areas_loader *l = d->geo_loader;
	if (l == NULL || l->current == NULL)
		return NULL;
	l->current->refs++;
	return l->current;
}

/* ---- building a snapshot (worker thread) ---- */

static void
dm_areas_props_string(json_t *props, const char *key, char *out, size_t cap)
{
	const char *v = json_string_value(json_object_get(props, key));
	snprintf(out, cap, "%s", v != NULL ? v : "");
}

/* Build the index of the rows of one kind; NULL and error on failure. */
static struct rt_geo_index *
dm_areas_build_index(struct rt_geo_ctx *ctx, struct dm_areas_job *job, const char *kind,
		   struct dm_areas_snap *geo, bool stations)
{
	struct rt_err err;
	struct rt_geo_areas *areas = rt_geo_areas_new(ctx, &err);
	struct rt_geo_index *idx = NULL;
	if (areas == NULL)
		goto fail;
	for (size_t i = 0; i < job->nrows; i++) {
		struct dm_areas_row *row = &job->rows[i];
		if (strcmp(row->kind, kind) != 0)
			continue;
		if (rt_geo_areas_add_wkb(areas, row->id, row->name, kind, row->props, row->wkb,
					 row->wkb_len, &err) != RT_OK)
			goto fail;
		json_t *props = json_loads(row->props, 0, NULL);
		if (stations) {
			struct dm_areas_station *s = &geo->stations[geo->nstations];
			snprintf(s->id, sizeof s->id, "%s", row->id);
			snprintf(s->name, sizeof s->name, "%s", row->name);
			dm_areas_props_string(props, "district", s->district, sizeof s->district);
			s->lon = row->lon;
			s->lat = row->lat;
			size_t ai = rt_geo_areas_count(areas) - 1;
			if (rt_geo_areas_geojson(areas, ai, &s->area_geojson, &err) != RT_OK) {
				json_decref(props);
				goto fail;
			}
			geo->nstations++;
		} else {
			struct dm_areas_district *dd = &geo->districts[geo->ndistricts++];
			snprintf(dd->id, sizeof dd->id, "%s", row->id);
			snprintf(dd->name, sizeof dd->name, "%s", row->name);
		}
		json_decref(props);
	}
	if (rt_geo_areas_count(areas) == 0) {
		rt_geo_areas_free(areas);
		return NULL; /* no areas of this kind: not an error */
	}
	idx = rt_geo_index_new(ctx, areas, NULL, &err);
	if (idx == NULL)
		goto fail;
	rt_geo_areas_free(areas);
	return idx;
fail:
	snprintf(job->error, sizeof job->error, "%s areas: %s", kind, err.msg);
	rt_geo_areas_free(areas);
	return NULL;
}

static void
dm_areas_build_warehouses(struct dm_areas_job *job, struct dm_areas_snap *geo)
{
	static const char *const kinds[] = {"rdc", "fdc"};
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < job->nrows; i++) {
			struct dm_areas_row *row = &job->rows[i];
			if (strcmp(row->kind, kinds[k]) != 0)
				continue;
			struct dm_areas_wh *w = &geo->warehouses[geo->nwarehouses++];
			snprintf(w->w.id, sizeof w->w.id, "%s", row->id);
			snprintf(w->w.kind, sizeof w->w.kind, "%.7s", row->kind);
			w->w.lon = row->lon;
			w->w.lat = row->lat;
			json_t *props = json_loads(row->props, 0, NULL);
			json_t *serves = json_object_get(props, "serves");
			size_t j;
			json_t *v;
			json_array_foreach(serves, j, v)
			{
				if (w->nserves < DM_AREAS_MAX_SERVES && json_is_string(v))
					snprintf(w->serves[w->nserves++], DM_AREAS_ID_MAX, "%s",
						 json_string_value(v));
			}
			json_decref(props);
		}
	}
}

static void
dm_areas_build_run(void *arg)
{
	struct dm_areas_job *job = arg;
	struct rt_err err;
	job->ran = true;
	struct rt_geo_ctx *ctx = rt_geo_ctx_new(&err);
	struct dm_areas_snap *geo = calloc(1, sizeof *geo);
	if (ctx == NULL || geo == NULL) {
		snprintf(job->error, sizeof job->error, "out of memory");
		goto out;
	}
	geo->refs = 1;
	geo->stations = calloc(job->nrows + 1, sizeof *geo->stations);
	geo->districts = calloc(job->nrows + 1, sizeof *geo->districts);
	geo->warehouses = calloc(job->nrows + 1, sizeof *geo->warehouses);
	if (geo->stations == NULL || geo->districts == NULL || geo->warehouses == NULL) {
		snprintf(job->error, sizeof job->error, "out of memory");
		goto out;
	}
	geo->station_index = dm_areas_build_index(ctx, job, "station", geo, true);
	if (job->error[0] == '\0')
		geo->district_index = dm_areas_build_index(ctx, job, "district", geo, false);
	if (job->error[0] != '\0')
		goto out;
	dm_areas_build_warehouses(job, geo);
	job->result = geo;
	geo = NULL;
out:
	dm_areas_free(geo);
	rt_geo_ctx_free(ctx);
}

/* ---- loading (loop thread) ---- */

static void dm_areas_load(struct dm_daemon *d);

static void
dm_areas_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dm_areas_load(arg);
}

static void
dm_areas_schedule_retry(struct dm_daemon *d)
{
	struct dm_areas_loader *l = d->geo_loader;
	/* Quickly at first (PostgreSQL may just be connecting), then slower. */
	struct timeval tv = {l->current == NULL ? 0 : DM_AREAS_RETRY_S, l->current == NULL ? 300000 : 0};
	if (l->stopped)
		return;
	if (l->retry == NULL)
		l->retry = evtimer_new(d->base, dm_areas_retry_cb, d);
	if (l->retry != NULL)
		evtimer_add(l->retry, &tv);
}

static void
dm_areas_job_free(struct dm_areas_job *job)
{
	for (size_t i = 0; i < job->nrows; i++) {
		free(job->rows[i].props);
		PQfreemem(job->rows[i].wkb);
	}
	free(job->rows);
	free(job);
}

static void
dm_areas_build_done(void *arg)
{
	struct dm_areas_job *job = arg;
	struct dm_daemon *d = job->d;
	struct dm_areas_loader *l = d->geo_loader;
	if (l == NULL) { /* shut down while building */
		dm_areas_free(job->result);
		dm_areas_job_free(job);
		return;
	}
	l->loading = false;
	if (job->result != NULL && !l->stopped) {
		dm_areas_unref(l->current);
		l->current = job->result;
		job->result = NULL;
		dm_log_info("geo", "areas loaded: %zu stations, %zu districts, %zu warehouses",
			    l->current->nstations, l->current->ndistricts,
			    l->current->nwarehouses);
	} else if (job->ran) {
		dm_log_error("geo", "cannot build the areas, keeping the previous ones: %s",
			     job->error);
	}
	dm_areas_free(job->result);
	dm_areas_job_free(job);
	if (l->again && !l->stopped) {
		l->again = false;
		dm_areas_load(d);
	}
}

static void
dm_areas_rows_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_daemon *d = arg;
	struct dm_areas_loader *l = d->geo_loader;
	if (l == NULL || l->stopped)
		return;
	if (!reply->ok) {
		l->loading = false;
		if (strcmp(reply->sqlstate, "42P01") == 0)
			dm_log_warning("geo", "no areas table: run dispatchctl migrate");
		else
			dm_log_warning("geo", "cannot read the areas: %s", reply->error);
		dm_areas_schedule_retry(d);
		return;
	}
	struct dm_areas_job *job = calloc(1, sizeof *job);
	int n = PQntuples(reply->res);
	if (job == NULL || (job->rows = calloc((size_t)n + 1, sizeof *job->rows)) == NULL) {
		free(job);
		l->loading = false;
		dm_areas_schedule_retry(d);
		return;
	}
	job->d = d;
	for (int i = 0; i < n; i++) {
		struct dm_areas_row *row = &job->rows[job->nrows++];
		const PGresult *res = reply->res;
		snprintf(row->kind, sizeof row->kind, "%s", PQgetvalue(res, i, 0));
		snprintf(row->id, sizeof row->id, "%s", PQgetvalue(res, i, 1));
		snprintf(row->name, sizeof row->name, "%s", PQgetvalue(res, i, 2));
		row->props = strdup(PQgetvalue(res, i, 3));
		row->wkb = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 4),
					   &row->wkb_len);
		row->has_point = !PQgetisnull(res, i, 5);
		row->lon = row->has_point ? strtod(PQgetvalue(res, i, 5), NULL) : 0;
		row->lat = row->has_point ? strtod(PQgetvalue(res, i, 6), NULL) : 0;
		if (row->props == NULL || row->wkb == NULL) {
			dm_areas_job_free(job);
			l->loading = false;
			dm_areas_schedule_retry(d);
			return;
		}
	}
	if (dm_work_submit(d->work, dm_areas_build_run, dm_areas_build_done, job) != 0) {
		dm_areas_job_free(job);
		l->loading = false;
		dm_areas_schedule_retry(d);
	}
}

static void
dm_areas_load(struct dm_daemon *d)
{
	struct dm_areas_loader *l = dm_areas_loader(d);
	if (l == NULL || l->stopped)
		return;
	if (l->loading) {
		l->again = true;
		return;
	}
	if (dm_pg_query(d->pg,
			"SELECT kind, id, name, props::text, ST_AsBinary(geom), ST_X(point), "
			"ST_Y(point) FROM areas ORDER BY kind, id COLLATE \"C\"",
			0, NULL, dm_areas_rows_cb, d) != 0) {
		dm_areas_schedule_retry(d); /* PostgreSQL down: try again later */
		return;
	}
	l->loading = true;
}

void
dm_areas_reload(struct dm_daemon *d)
{
	dm_areas_load(d);
}

void
dm_areas_shutdown(struct dm_daemon *d)
{
	struct dm_areas_loader *l = d->geo_loader;
	if (l == NULL)
		return;
	l->stopped = true;
	if (l->retry != NULL)
		event_free(l->retry);
	dm_areas_unref(l->current);
	free(l);
	d->geo_loader = NULL;
}

/* ---- lookups ---- */

static void
dm_areas_fill_place(const struct dm_areas_snap *geo, size_t si, struct dm_areas_place *out)
{
	const struct dm_areas_station *s = &geo->stations[si];
	memset(out, 0, sizeof *out);
	snprintf(out->station_id, sizeof out->station_id, "%s", s->id);
	snprintf(out->station_name, sizeof out->station_name, "%s", s->name);
	out->station_lon = s->lon;
	out->station_lat = s->lat;
	snprintf(out->district_id, sizeof out->district_id, "%s", s->district);
	for (size_t i = 0; i < geo->ndistricts; i++)
		if (strcmp(geo->districts[i].id, s->district) == 0)
			snprintf(out->district_name, sizeof out->district_name, "%s",
				 geo->districts[i].name);
	for (size_t w = 0; w < geo->nwarehouses && out->nwarehouses < DM_AREAS_MAX_SERVING; w++) {
		const struct dm_areas_wh *wh = &geo->warehouses[w];
		for (int k = 0; k < wh->nserves; k++) {
			if (strcmp(wh->serves[k], s->district) != 0)
				continue;
			struct dm_areas_warehouse *o = &out->warehouses[out->nwarehouses++];
			*o = wh->w;
			o->dist_m = rt_distance_haversine_m(wh->w.lon, wh->w.lat, s->lon, s->lat);
			break;
		}
	}
}

enum dm_areas_status
dm_areas_locate(const struct dm_areas_snap *geo, double lon, double lat, struct dm_areas_place *out)
{
	struct rt_geo_hit hit;
	if (geo == NULL || geo->station_index == NULL)
		return DM_AREAS_NOT_LOADED;
	if (rt_geo_index_locate(geo->station_index, lon, lat, &hit) != RT_OK ||
	    hit.kind == RT_GEO_HIT_OUTSIDE || hit.area < 0)
		return DM_AREAS_OUTSIDE;
	dm_areas_fill_place(geo, (size_t)hit.area, out);
	out->near = hit.kind == RT_GEO_HIT_NEAR;
	out->dist_m = hit.dist_m;
	/* The customer's own district, when the district layer says otherwise
	 * (a station area never crosses a district line in the generated
	 * network, but imported areas may). */
	if (geo->district_index != NULL &&
	    rt_geo_index_locate(geo->district_index, lon, lat, &hit) == RT_OK && hit.area >= 0 &&
	    hit.kind == RT_GEO_HIT_INSIDE) {
		const struct dm_areas_district *dd = &geo->districts[hit.area];
		if (strcmp(dd->id, out->district_id) != 0) {
			snprintf(out->district_id, sizeof out->district_id, "%s", dd->id);
			snprintf(out->district_name, sizeof out->district_name, "%s", dd->name);
		}
	}
	return DM_AREAS_OK;
}

static long
dm_areas_station_find(const struct dm_areas_snap *geo, const char *id)
{
	size_t lo = 0, hi = geo->nstations;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(geo->stations[mid].id, id);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

enum dm_areas_status
dm_areas_station(const struct dm_areas_snap *geo, const char *id, struct dm_areas_place *out)
{
	if (geo == NULL || geo->nstations == 0)
		return DM_AREAS_NOT_LOADED;
	long i = dm_areas_station_find(geo, id);
	if (i < 0)
		return DM_AREAS_UNKNOWN;
	dm_areas_fill_place(geo, (size_t)i, out);
	return DM_AREAS_OK;
}

size_t
dm_areas_station_count(const struct dm_areas_snap *geo)
{
	return geo != NULL ? geo->nstations : 0;
}

const char *
dm_areas_station_id(const struct dm_areas_snap *geo, size_t i)
{
	return geo->stations[i].id;
}

const char *
dm_areas_station_area_geojson(const struct dm_areas_snap *geo, const char *id)
{
	long i = geo != NULL ? dm_areas_station_find(geo, id) : -1;
	return i < 0 ? NULL : geo->stations[i].area_geojson;
}
