/* Intake's read cache (see stock_hints.h). It owns the warehouse table,
 * the SKU hash table and the fetch query; it does not reserve anything and
 * never decides an order (api/orders.c and svc/order_committer.c do).
 *
 * Warehouses are only ever appended (a vanished one is marked gone), so
 * the warehouse indexes held in SKU levels stay valid for the process's
 * life. Unknown SKUs are not cached: a client cannot grow the table with
 * made-up names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/clock.h"
#include "daemon/base/daemon.h"
#include "daemon/base/hash.h"
#include "daemon/svc/stock_hints.h"
#include "daemon/base/log.h"
#include "daemon/io/pg.h"

#define DM_STOCK_HINTS_MIN_BUCKETS 1024

struct dm_stock_hints {
	struct dm_daemon *d;
	struct dm_stock_hints_wh *whs;
	size_t nwh, capwh;
	double wh_loaded_s; /* 0: never loaded */
	struct dm_stock_hints_sku **buckets;
	size_t nbuckets, nskus;
	bool refreshing; /* a dm_stock_hints_refresh is in flight */
};

/* One fetch in flight: the SKUs asked for, to drop those that do not exist. */
struct dm_stock_hints_fetch {
	struct dm_stock_hints *c;
	dm_stock_hints_done_fn *done;
	void *arg;
	bool with_wh;
	size_t n;
	char skus[][DM_INTAKE_ID_MAX];
};

struct dm_stock_hints *
dm_stock_hints_get(struct dm_daemon *d)
{
	return d->hints;
}

struct dm_stock_hints *
dm_stock_hints_new(struct dm_daemon *d)
{
	struct dm_stock_hints *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->d = d;
	c->nbuckets = DM_STOCK_HINTS_MIN_BUCKETS;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
dm_stock_hints_free(struct dm_stock_hints *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct dm_stock_hints_sku *e = c->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e->levels);
			free(e);
		}
	}
	free(c->buckets);
	free(c->whs);
	free(c);
}

static struct dm_stock_hints_sku **
dm_stock_hints_slot(const struct dm_stock_hints *c, const char *sku)
{
	struct dm_stock_hints_sku **p = &c->buckets[dm_hash_str(sku, 0) & (c->nbuckets - 1)];
	while (*p != NULL && strcmp((*p)->sku, sku) != 0)
		p = &(*p)->next;
	return p;
}

const struct dm_stock_hints_sku *
dm_stock_hints_sku(const struct dm_stock_hints *c, const char *sku)
{
	return *dm_stock_hints_slot(c, sku);
}

static void
dm_stock_hints_grow(struct dm_stock_hints *c)
{
	size_t n = c->nbuckets * 2;
	struct dm_stock_hints_sku **b = calloc(n, sizeof *b);
	if (b == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct dm_stock_hints_sku *e = c->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			size_t k = dm_hash_str(e->sku, 0) & (n - 1);
			e->next = b[k];
			b[k] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

static void
dm_stock_hints_drop(struct dm_stock_hints *c, const char *sku)
{
	struct dm_stock_hints_sku **p = dm_stock_hints_slot(c, sku);
	struct dm_stock_hints_sku *e = *p;
	if (e == NULL)
		return;
	*p = e->next;
	free(e->levels);
	free(e);
	c->nskus--;
}

size_t
dm_stock_hints_nwh(const struct dm_stock_hints *c)
{
	return c->nwh;
}

const struct dm_stock_hints_wh *
dm_stock_hints_wh(const struct dm_stock_hints *c, size_t i)
{
	return &c->whs[i];
}

long
dm_stock_hints_wh_find(const struct dm_stock_hints *c, const char *id)
{
	for (size_t i = 0; i < c->nwh; i++)
		if (strcmp(c->whs[i].id, id) == 0)
			return (long)i;
	return -1;
}

bool
dm_stock_hints_fresh(const struct dm_stock_hints *c, const char *const *skus, size_t n,
		      double now_s)
{
	if (c->wh_loaded_s == 0 || now_s - c->wh_loaded_s > DM_STOCK_HINTS_WH_TTL_S)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct dm_stock_hints_sku *e = dm_stock_hints_sku(c, skus[i]);
		if (e == NULL || now_s - e->fetched_s > DM_STOCK_HINTS_SKU_TTL_S)
			return false;
	}
	return true;
}

static void
dm_stock_hints_set_level(struct dm_stock_hints_sku *e, size_t wh, int64_t available)
{
	for (size_t i = 0; i < e->nlevels; i++) {
		if (e->levels[i].wh == wh) {
			e->levels[i].available = available;
			return;
		}
	}
	struct dm_stock_hints_level *l = realloc(e->levels, (e->nlevels + 1) * sizeof *l);
	if (l == NULL)
		return; /* a missing hint: the next fetch brings it */
	e->levels = l;
	e->levels[e->nlevels++] = (struct dm_stock_hints_level){wh, available};
}

void
dm_stock_hints_note(struct dm_stock_hints *c, const char *wh, const char *sku,
		     int64_t available)
{
	struct dm_stock_hints_sku *e = *dm_stock_hints_slot(c, sku);
	long w = dm_stock_hints_wh_find(c, wh);
	if (e != NULL && w >= 0)
		dm_stock_hints_set_level(e, (size_t)w, available);
}

void
dm_stock_hints_note_json(struct dm_stock_hints *c, const json_t *rows, bool complete)
{
	size_t i;
	json_t *row;
	double now = dm_clock_mono_s();
	if (complete) {
		json_array_foreach(rows, i, row)
		{
			const char *sku = json_string_value(json_object_get(row, "sku"));
			struct dm_stock_hints_sku *e = sku != NULL ? *dm_stock_hints_slot(c, sku) : NULL;
			if (e != NULL && e->fetched_s != now) {
				for (size_t k = 0; k < e->nlevels; k++)
					e->levels[k].available = 0;
				e->fetched_s = now;
			}
		}
	}
	json_array_foreach(rows, i, row)
	{
		const char *w = json_string_value(json_object_get(row, "w"));
		const char *sku = json_string_value(json_object_get(row, "sku"));
		json_t *avail = json_object_get(row, "available");
		if (w != NULL && sku != NULL && json_is_integer(avail))
			dm_stock_hints_note(c, w, sku, json_integer_value(avail));
	}
}

/* ---- the fetch ---- */

static int
dm_stock_hints_int(json_t *o, const char *key, int min, int max, int *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = (int)json_integer_value(v);
	return 0;
}

/* Update the warehouse table from the view's rows (JSON array of objects). */
static int
dm_stock_hints_load_whs(struct dm_stock_hints *c, json_t *rows)
{
	size_t i;
	json_t *row;
	for (size_t k = 0; k < c->nwh; k++)
		c->whs[k].gone = true;
	json_array_foreach(rows, i, row)
	{
		const char *id = json_string_value(json_object_get(row, "id"));
		const char *kind = json_string_value(json_object_get(row, "kind"));
		json_t *deps = json_object_get(row, "departures_s");
		struct dm_stock_hints_wh w = {0};
		int handling, open, cutoff, linehaul;
		if (id == NULL || kind == NULL || strlen(id) >= sizeof w.id || !json_is_array(deps) ||
		    json_array_size(deps) > DM_INTAKE_MAX_DEPARTURES ||
		    dm_stock_hints_int(row, "handling_s", 0, 172800, &handling) != 0 ||
		    dm_stock_hints_int(row, "pick_open_s", 0, 86400, &open) != 0 ||
		    dm_stock_hints_int(row, "pick_cutoff_s", 0, 86400, &cutoff) != 0 ||
		    dm_stock_hints_int(row, "linehaul_s", 0, 172800, &linehaul) != 0)
			return -1;
		snprintf(w.id, sizeof w.id, "%s", id);
		snprintf(w.kind, sizeof w.kind, "%.7s", kind);
		size_t j;
		json_t *dep;
		json_array_foreach(deps, j, dep)
		{
			if (!json_is_integer(dep))
				return -1;
			w.departures_s[j] = (int32_t)json_integer_value(dep);
		}
		w.chain = (struct wh_chain){.handling_s = handling,
					    .pick_open_s = open,
					    .pick_cutoff_s = cutoff,
					    .n_departures = json_array_size(deps),
					    .linehaul_s = linehaul};
		w.chain.departures_s = w.chain.n_departures > 0 ? w.departures_s : NULL;
		struct wh_err err;
		if (wh_promise_chain_check(&w.chain, &err) != WH_OK) {
			dm_log_warning("pg", "warehouse %s: bad chain, not used: %s", id, err.msg);
			continue;
		}
		long k = dm_stock_hints_wh_find(c, id);
		if (k < 0) {
			if (c->nwh == c->capwh) {
				size_t cap = c->capwh ? c->capwh * 2 : 16;
				struct dm_stock_hints_wh *p = realloc(c->whs, cap * sizeof *p);
				if (p == NULL)
					return -1;
				c->whs = p;
				c->capwh = cap;
			}
			k = (long)c->nwh++;
		}
		c->whs[k] = w;
	}
	/* Point each chain at its own (possibly moved) departures array. */
	for (size_t k = 0; k < c->nwh; k++)
		c->whs[k].chain.departures_s =
			c->whs[k].chain.n_departures > 0 ? c->whs[k].departures_s : NULL;
	return 0;
}

/* Replace the cached SKUs from rows [sku, weight_g, large, warehouse|null, available|null]. */
static int
dm_stock_hints_load_skus(struct dm_stock_hints *c, struct dm_stock_hints_fetch *f, json_t *rows,
			  double now)
{
	size_t i;
	json_t *row;
	for (size_t k = 0; k < f->n; k++)
		dm_stock_hints_drop(c, f->skus[k]);
	json_array_foreach(rows, i, row)
	{
		const char *sku = json_string_value(json_array_get(row, 0));
		json_t *weight = json_array_get(row, 1);
		const char *wh = json_string_value(json_array_get(row, 3));
		json_t *avail = json_array_get(row, 4);
		if (sku == NULL || strlen(sku) >= DM_INTAKE_ID_MAX || !json_is_integer(weight))
			return -1;
		struct dm_stock_hints_sku **p = dm_stock_hints_slot(c, sku);
		if (*p == NULL) {
			struct dm_stock_hints_sku *e = calloc(1, sizeof *e);
			if (e == NULL)
				return -1;
			snprintf(e->sku, sizeof e->sku, "%s", sku);
			e->weight_g = json_integer_value(weight);
			e->large = json_is_true(json_array_get(row, 2));
			e->fetched_s = now;
			*p = e;
			if (++c->nskus > c->nbuckets)
				dm_stock_hints_grow(c);
			p = dm_stock_hints_slot(c, sku);
		}
		long w = wh != NULL ? dm_stock_hints_wh_find(c, wh) : -1;
		if (w >= 0 && json_is_integer(avail))
			dm_stock_hints_set_level(*p, (size_t)w, json_integer_value(avail));
	}
	return 0;
}

static void
dm_stock_hints_fetch_cb(const struct dm_pg_reply *reply, void *arg)
{
	struct dm_stock_hints_fetch *f = arg;
	struct dm_stock_hints *c = f->c;
	enum dm_stock_hints_status status = DM_STOCK_HINTS_FAILED;
	json_t *whs = NULL, *skus = NULL;
	if (!reply->ok) {
		status = reply->unavailable ? DM_STOCK_HINTS_UNAVAILABLE : DM_STOCK_HINTS_FAILED;
		if (!reply->unavailable)
			dm_log_error("pg", "reading the catalogue failed: %s", reply->error);
		goto out;
	}
	if (PQntuples(reply->res) != 1)
		goto bad;
	if (!PQgetisnull(reply->res, 0, 0) &&
	    (whs = json_loads(PQgetvalue(reply->res, 0, 0), 0, NULL)) == NULL)
		goto bad;
	skus = json_loads(PQgetvalue(reply->res, 0, 1), 0, NULL);
	if (skus == NULL)
		goto bad;
	double now = dm_clock_mono_s();
	if (f->with_wh) {
		if (dm_stock_hints_load_whs(c, whs) != 0)
			goto bad;
		c->wh_loaded_s = now;
	}
	if (dm_stock_hints_load_skus(c, f, skus, now) != 0)
		goto bad;
	status = DM_STOCK_HINTS_OK;
	goto out;
bad:
	dm_log_error("pg", "reading the catalogue: unexpected result");
out:
	json_decref(whs);
	json_decref(skus);
	f->done(status, f->arg);
	free(f);
}

/* skus[n] as a PostgreSQL array literal; NULL when out of memory. */
static char *
dm_stock_hints_array(const char *const *skus, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += 2 * strlen(skus[i]) + 3;
	char *s = malloc(cap), *p = s;
	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		*p++ = '"';
		for (const char *q = skus[i]; *q != '\0'; q++) {
			if (*q == '"' || *q == '\\')
				*p++ = '\\';
			*p++ = *q;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return s;
}

int
dm_stock_hints_fetch(struct dm_stock_hints *c, const char *const *skus, size_t n,
		      dm_stock_hints_done_fn *done, void *arg)
{
	static const char sql[] =
		"SELECT CASE WHEN $2::boolean THEN (SELECT coalesce(json_agg(w ORDER BY w.id), "
		"'[]') FROM intake_warehouses w) END, "
		"(SELECT coalesce(json_agg(json_build_array(k.sku, k.weight_g, k.large, "
		"s.warehouse_id, s.available)), '[]') "
		"FROM skus k LEFT JOIN stock s ON s.sku = k.sku WHERE k.sku = ANY ($1::text[]))";
	struct dm_stock_hints_fetch *f = calloc(1, sizeof *f + n * sizeof f->skus[0]);
	char *array = dm_stock_hints_array(skus, n);
	double now = dm_clock_mono_s();
	if (f == NULL || array == NULL)
		goto fail;
	f->c = c;
	f->done = done;
	f->arg = arg;
	f->n = n;
	f->with_wh = c->wh_loaded_s == 0 || now - c->wh_loaded_s > DM_STOCK_HINTS_WH_TTL_S;
	for (size_t i = 0; i < n; i++)
		snprintf(f->skus[i], sizeof f->skus[i], "%s", skus[i]);
	const char *params[] = {array, f->with_wh ? "true" : "false"};
	if (dm_pg_query(c->d->pg, sql, 2, params, dm_stock_hints_fetch_cb, f) != 0)
		goto fail;
	free(array);
	return 0;
fail:
	free(array);
	free(f);
	return -1;
}

static void
dm_stock_hints_refreshed(enum dm_stock_hints_status status, void *arg)
{
	struct dm_stock_hints *c = arg;
	(void)status;
	c->refreshing = false;
}

void
dm_stock_hints_refresh(struct dm_stock_hints *c, const char *const *skus, size_t n)
{
	if (c->refreshing)
		return;
	if (dm_stock_hints_fetch(c, skus, n, dm_stock_hints_refreshed, c) == 0)
		c->refreshing = true;
}
