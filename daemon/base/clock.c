/* Local time for the promise: the time source (system, fixed or offset) and
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
	dm_clock_src = src;
	dm_clock_fixed_s = fixed_utc_s;
	dm_clock_offset_s = offset_s;
}

void
dm_clock_now(int64_t *utc_s, int32_t *offset_s)
{
	struct tm tm;
	time_t now = time(NULL);
	if (dm_clock_src == DM_CLOCK_FIXED)
		now = (time_t)dm_clock_fixed_s;
	else if (dm_clock_src == DM_CLOCK_OFFSET)
		now += (time_t)dm_clock_offset_s;
	localtime_r(&now, &tm);
	*utc_s = (int64_t)now;
	*offset_s = (int32_t)tm.tm_gmtoff;
}

double
dm_clock_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
