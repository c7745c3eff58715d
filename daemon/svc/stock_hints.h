/* Intake's read cache: the warehouses with their chains (from the
 * intake_warehouses view) and, per SKU, its weight, large flag and the
 * available units per warehouse as last seen. The stock figures are HINTS
 * that steer allocation; PostgreSQL's conditional UPDATE is the truth, and
 * every reservation, release and stock change seen by this daemon refreshes
 * them. Entries older than DM_STOCK_HINTS_SKU_TTL_S are read again, so
 * changes made by other daemons show up within seconds.
 *
 * One cache per daemon (struct dm_daemon's hints), made by dm_stock_hints_new
 * at startup and freed at shutdown, living on the loop thread. */
#ifndef DM_STOCK_HINTS_H
#define DM_STOCK_HINTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/promise.h"

struct dm_daemon;
struct dm_stock_hints;

#define DM_INTAKE_ID_MAX 64          /* warehouse ids and SKUs: up to 63 bytes */
#define DM_INTAKE_MAX_DEPARTURES 48
#define DM_STOCK_HINTS_SKU_TTL_S 5.0
#define DM_STOCK_HINTS_WH_TTL_S 60.0

/* A warehouse as intake plans with it. */
struct dm_stock_hints_wh {
	char id[DM_INTAKE_ID_MAX];
	char kind[8];   /* "rdc" or "fdc" */
	bool gone;      /* no longer in the warehouses view */
	struct wh_chain chain; /* chain.departures_s points into departures_s */
	int32_t departures_s[DM_INTAKE_MAX_DEPARTURES];
};

/* Units available at one warehouse (index into the cache's warehouses). */
struct dm_stock_hints_level {
	size_t wh;
	int64_t available;
};

/* A known SKU. */
struct dm_stock_hints_sku {
	char sku[DM_INTAKE_ID_MAX];
	int64_t weight_g;
	bool large;
	double fetched_s;  /* monotonic time of the last full read of its stock */
	size_t nlevels;
	struct dm_stock_hints_level *levels; /* owned by the cache */
	struct dm_stock_hints_sku *next;     /* hash chain (private) */
};

/* How a fetch went. */
enum dm_stock_hints_status {
	DM_STOCK_HINTS_OK = 0,
	DM_STOCK_HINTS_UNAVAILABLE, /* PostgreSQL unreachable (or the link died) */
	DM_STOCK_HINTS_FAILED       /* the query failed or answered nonsense (logged) */
};

/* Fetch completion. */
typedef void dm_stock_hints_done_fn(enum dm_stock_hints_status status, void *arg);

/* A new, empty cache reading through d->pg (NULL when out of memory). Call
 * once at startup; d->pg may be set later, before the first fetch. */
struct dm_stock_hints *dm_stock_hints_new(struct dm_daemon *d);

/* Free c and everything cached. Call after the PostgreSQL pool is freed
 * (no fetch is then in flight). NULL is a no-op. */
void dm_stock_hints_free(struct dm_stock_hints *c);

/* The daemon's cache (d->hints). */
struct dm_stock_hints *dm_stock_hints_get(struct dm_daemon *d);

/* True when the warehouses are loaded and recent, and each of skus[n] is
 * cached and read less than DM_STOCK_HINTS_SKU_TTL_S before now_s. */
bool dm_stock_hints_fresh(const struct dm_stock_hints *c, const char *const *skus, size_t n,
			   double now_s);

/* Read skus[n] (and the warehouses when stale) from PostgreSQL in one query;
 * done runs once, later, on the loop. SKUs that do not exist are dropped
 * from the cache. Returns 0, or -1 at once (done never called) when
 * PostgreSQL is unavailable. */
int dm_stock_hints_fetch(struct dm_stock_hints *c, const char *const *skus, size_t n,
			  dm_stock_hints_done_fn *done, void *arg);

/* Re-read skus[n] in the background (a quote does not wait for it), unless
 * such a refresh is already in flight: at most one at a time per cache. */
void dm_stock_hints_refresh(struct dm_stock_hints *c, const char *const *skus, size_t n);

/* The cached SKU, or NULL. Valid until the next fetch or note on c. */
const struct dm_stock_hints_sku *dm_stock_hints_sku(const struct dm_stock_hints *c, const char *sku);

/* Warehouses: count, the i-th, and the index of an id (-1 when unknown). */
size_t dm_stock_hints_nwh(const struct dm_stock_hints *c);
const struct dm_stock_hints_wh *dm_stock_hints_wh(const struct dm_stock_hints *c, size_t i);
long dm_stock_hints_wh_find(const struct dm_stock_hints *c, const char *id);

/* Record that warehouse wh now has `available` units of sku (a reservation,
 * release or stock change just seen). Unknown SKUs and warehouses are
 * ignored. */
void dm_stock_hints_note(struct dm_stock_hints *c, const char *wh, const char *sku,
			  int64_t available);

/* Apply rows [{"w","sku","available"}...] with dm_stock_hints_note; with
 * complete set, the rows are every level of their SKUs: levels not listed
 * become 0 and the SKUs count as freshly read. */
void dm_stock_hints_note_json(struct dm_stock_hints *c, const json_t *rows, bool complete);

#endif
