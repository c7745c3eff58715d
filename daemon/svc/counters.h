/* Station capacity counters in Redis: the fast, shared copy of the booked
 * counts whose record is PostgreSQL's capacity_counters table (010). The
 * promise reads them (one HGETALL per station) instead of the database;
 * bookings pass a Redis check-and-increment gate (a Lua script, atomic
 * across daemons) before the order's transaction makes them real. When
 * Redis has lost the counts (restart, FLUSHALL), they are rebuilt from
 * PostgreSQL, and until then no precise slot is offered and bookings rely on
 * PostgreSQL alone. A periodic reconcile rewrites the counts from
 * PostgreSQL, correcting any drift (a lost increment, or a daemon that died
 * between the gate and its transaction). */
#ifndef DM_COUNTERS_H
#define DM_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "warehouse/capacity.h"

struct dm_daemon;

#define DM_COUNTERS_MAX_COUNTS 512

/* The booked counts of one station, as read from Redis. */
struct dm_counters_counts {
	bool ready;                   /* false: counts are being rebuilt; offer no slot */
	size_t n;
	struct wh_capacity_count counts[DM_COUNTERS_MAX_COUNTS];
};

/* Read completion: counts is borrowed for the call; NULL when Redis failed. */
typedef void dm_counters_read_fn(const struct dm_counters_counts *counts, void *arg);

/* Read station's counts. Returns 0 (done called later, once) or -1 at once
 * when Redis is down (done never called). */
int dm_counters_read(struct dm_daemon *d, const char *station, dm_counters_read_fn *done, void *arg);

enum dm_counters_gate {
	DM_COUNTERS_GATE_OK = 0,    /* counted in Redis: release it if the order fails */
	DM_COUNTERS_GATE_FULL,      /* a counter is full: refuse without asking PostgreSQL */
	DM_COUNTERS_GATE_SKIPPED,   /* Redis down or rebuilding: PostgreSQL alone decides */
	DM_COUNTERS_GATE_UNKNOWN,   /* no answer (timeout, link lost): it may have counted, so
				  * treat it as counted (release it unless placed); an
				  * undercount is harmless, PostgreSQL decides */
};

/* Gate completion: which counter was full (index into counters) when FULL. */
typedef void dm_counters_gate_fn(enum dm_counters_gate result, size_t full_index, void *arg);

/* Check-and-increment every counter atomically (all or none). Always calls
 * done exactly once (at once when Redis is down). counters is copied. */
void dm_counters_gate(struct dm_daemon *d, const char *station,
		   const struct wh_capacity_counter *counters, size_t n, dm_counters_gate_fn *done,
		   void *arg);

/* Give back what a gate counted (the order failed, or was cancelled). Fire and forget. */
void dm_counters_release(struct dm_daemon *d, const char *station,
		      const struct wh_capacity_counter *counters, size_t n);

/* Start the rebuild/reconcile timer (call once, after Redis and PostgreSQL exist). */
int dm_counters_start(struct dm_daemon *d);

/* Stop the timer and free the module's state. */
void dm_counters_stop(struct dm_daemon *d);

#endif
