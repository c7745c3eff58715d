/* Local time for the promise: the time source (system, fixed, offset or
 * driven by the simulated day's generator) and
 * the process TZ set from the config, read with localtime_r (tm_gmtoff gives
 * the offset at each instant, so zones with daylight saving are right at
 * every moment of the day they are asked). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/base/clock.h"

/* The time source: process-wide like TZ, written at start and reload. */
static enum dm_clock_source dm_clock_src = DM_CLOCK_SYSTEM;
static int64_t dm_clock_fixed_s;
static int64_t dm_clock_offset_s;
static int64_t dm_clock_driven_ms;   /* the instant of DM_CLOCK_DRIVEN */
static int64_t dm_clock_driven_at_s; /* the start it was configured with */

int
dm_clock_zone_valid(const char *tz)
{
	char path[300];
	/* glibc silently falls back to UTC for an unknown zone: check tzdata. */
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	return tz[0] != '\0' && tz[0] != '/' && strstr(tz, "..") == NULL && access(path, R_OK) == 0;
}

int
dm_clock_set_zone(const char *tz)
{
	if (!dm_clock_zone_valid(tz))
		return -1;
	setenv("TZ", tz, 1);
	tzset();
	return 0;
}

void
dm_clock_set_source(enum dm_clock_source src, int64_t fixed_utc_s, int64_t offset_s)
{
	if (src == DM_CLOCK_DRIVEN &&
	    (dm_clock_src != DM_CLOCK_DRIVEN || dm_clock_driven_at_s != fixed_utc_s)) {
		dm_clock_driven_ms = fixed_utc_s * 1000;
		dm_clock_driven_at_s = fixed_utc_s;
	}
	dm_clock_src = src;
	dm_clock_fixed_s = fixed_utc_s;
	dm_clock_offset_s = offset_s;
}

enum dm_clock_source
dm_clock_source(void)
{
	return dm_clock_src;
}

int
dm_clock_drive(int64_t utc_ms)
{
	if (dm_clock_src != DM_CLOCK_DRIVEN)
		return -1;
	dm_clock_driven_ms = utc_ms;
	return 0;
}

/* The source's now in UTC milliseconds, from one reading of the real clock. */
static int64_t
dm_clock_source_ms(void)
{
	struct timespec ts;
	if (dm_clock_src == DM_CLOCK_FIXED)
		return dm_clock_fixed_s * 1000;
	if (dm_clock_src == DM_CLOCK_DRIVEN)
		return dm_clock_driven_ms;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return dm_clock_src == DM_CLOCK_OFFSET ? ms + dm_clock_offset_s * 1000 : ms;
}

/* The zone's offset from UTC at UTC second utc_s. */
static int32_t
dm_clock_offset_at(int64_t utc_s)
{
	struct tm tm;
	time_t t = (time_t)utc_s;
	localtime_r(&t, &tm);
	return (int32_t)tm.tm_gmtoff;
}

/* Seconds of a UTC millisecond count, rounded down (before 1970 too). */
static int64_t
dm_clock_floor_s(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

void
dm_clock_now_ms(int64_t *utc_ms, int32_t *offset_s)
{
	*utc_ms = dm_clock_source_ms();
	*offset_s = dm_clock_offset_at(dm_clock_floor_s(*utc_ms));
}

void
dm_clock_now(int64_t *utc_s, int32_t *offset_s)
{
	int64_t ms;
	dm_clock_now_ms(&ms, offset_s);
	*utc_s = dm_clock_floor_s(ms);
}

double
dm_clock_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
