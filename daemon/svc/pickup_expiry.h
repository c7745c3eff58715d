/* The pickup expiry tick (issue 13 part C2): every [pickup]
 * expiry_interval_ms (0: off, the timer idles at one second) one query,
 * pickup_expire (data/sql/pickup_expire.sql), sends the parcels held at
 * pickup points past their hold deadline back to their station and, with
 * [pickup] return_to_warehouse, on to their warehouse as returns. Safe on
 * every daemon at once: the SQL takes each parcel's locks with SKIP LOCKED
 * (a parcel another transaction holds waits for a later tick), so ticks
 * share the due parcels and never wait on each other. It also deletes the
 * wrong pickup code rows older than a day. */
#ifndef DM_PICKUP_EXPIRY_H
#define DM_PICKUP_EXPIRY_H

struct dm_daemon;
struct dm_pickup_expiry;

/* Start the timer (its first tick after one interval). NULL when out of
 * memory. Loop thread only. */
struct dm_pickup_expiry *dm_pickup_expiry_new(struct dm_daemon *d);

/* Stop the timer and free it once its query in flight has called back
 * (call after the PostgreSQL pool is freed). NULL is a no-op. */
void dm_pickup_expiry_free(struct dm_pickup_expiry *x);

#endif
