/* Wall-clock time in the region's local time zone (promise.timezone), for
 * the promise and capacity counters, from the configured time source: the
 * system clock, or for tests ([testing] clock) a clock stopped at an instant,
 * offset from the real time, or driven by the simulated day's generator. The zone (TZ) and the source are applied
 * process-wide at start and reload; only the loop thread reads local time. */
#ifndef DM_CLOCK_H
#define DM_CLOCK_H

#include <stdint.h>

/* True when tz names a zone the system knows (tzdata). */
int dm_clock_zone_valid(const char *tz);

/* Make tz (an IANA name) the process's local zone. Returns 0, or -1 when the
 * system has no such zone (tzdata): the caller refuses the config. */
int dm_clock_set_zone(const char *tz);

/* Where dm_clock_now's time comes from. */
enum dm_clock_source {
	DM_CLOCK_SYSTEM = 0, /* the real time (the default) */
	DM_CLOCK_FIXED,	     /* always the instant given */
	DM_CLOCK_OFFSET,     /* the real time plus an offset */
	DM_CLOCK_DRIVEN,     /* stands still where dm_clock_drive last put it */
};

/* Make src the time source: fixed_utc_s is the instant of DM_CLOCK_FIXED
 * and the start of DM_CLOCK_DRIVEN, offset_s the shift of DM_CLOCK_OFFSET
 * (each ignored otherwise). A driven clock that stays driven with the same
 * start keeps its instant (a reload does not rewind the simulated day).
 * Loop thread only, like dm_clock_now. */
void dm_clock_set_source(enum dm_clock_source src, int64_t fixed_utc_s, int64_t offset_s);

/* The current time source. */
enum dm_clock_source dm_clock_source(void);

/* Move a driven clock to utc_ms (any direction: the driver decides).
 * Returns 0, or -1 when the source is not DM_CLOCK_DRIVEN (nothing moves). */
int dm_clock_drive(int64_t utc_ms);

/* Now, from the time source, as UTC seconds since the epoch, and the local
 * zone's offset from UTC in seconds at that instant. */
void dm_clock_now(int64_t *utc_s, int32_t *offset_s);

/* As dm_clock_now, in milliseconds (for an instant stamped on a record, such
 * as an order's arrival). */
void dm_clock_now_ms(int64_t *utc_ms, int32_t *offset_s);

/* Monotonic clock in seconds (CLOCK_MONOTONIC): for durations, deadlines
 * and backoff, never for dates. Safe from any thread. */
double dm_clock_mono_s(void);

#endif
