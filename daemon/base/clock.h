/* Wall-clock time in the region's local time zone (promise.timezone), for
 * the promise and capacity counters. The zone is applied process-wide (TZ)
 * at start and reload; only the loop thread reads local time. */
#ifndef DM_CLOCK_H
#define DM_CLOCK_H

#include <stdint.h>

/* True when tz names a zone the system knows (tzdata). */
int dm_clock_zone_valid(const char *tz);

/* Make tz (an IANA name) the process's local zone. Returns 0, or -1 when the
 * system has no such zone (tzdata): the caller refuses the config. */
int dm_clock_set_zone(const char *tz);

/* Now as UTC seconds since the epoch, and the local zone's offset from UTC
 * in seconds at that instant. */
void dm_clock_now(int64_t *utc_s, int32_t *offset_s);

/* Monotonic clock in seconds (CLOCK_MONOTONIC): for durations, deadlines
 * and backoff, never for dates. Safe from any thread. */
double dm_clock_mono_s(void);

#endif
