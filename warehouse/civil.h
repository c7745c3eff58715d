/* Pure civil-time arithmetic (proleptic Gregorian calendar). wh_core works on a
 * "local timeline": int64 seconds since 1970-01-01T00:00 *local civil time* of
 * the region. The caller converts the real clock (UTC) into it with the region's
 * tz and passes the UTC offset along, so results convert back to UTC exactly for
 * fixed-offset zones (Asia/Shanghai). No tz database, no libc time functions. */
#ifndef WH_CIVIL_H
#define WH_CIVIL_H

#include <stddef.h>
#include <stdint.h>

#define WH_CIVIL_DAY_S 86400
/* Buffer size for wh_civil_format ("-YYYYYY-MM-DDTHH:MM:SS+HH:MM" plus NUL, rounded up). */
#define WH_CIVIL_RFC3339_LEN 40

/* Days since 1970-01-01 of civil date y-m-d (m 1..12, d 1..31); exact for any int year. */
int64_t wh_civil_days_from_ymd(int64_t y, int m, int d);

/* Inverse of wh_civil_days_from_ymd: civil date of `days` since 1970-01-01. */
void wh_civil_ymd_from_days(int64_t days, int64_t *y, int *m, int *d);

/* ISO weekday of `days` since 1970-01-01: 0 = Monday ... 6 = Sunday. */
int wh_civil_weekday(int64_t days);

/* Local seconds for local day `day` (days since epoch) at `sec_of_day` (may exceed a day). */
int64_t wh_civil_at(int64_t day, int64_t sec_of_day);

/* Local day (days since epoch, floor) containing local second `local_s`. */
int64_t wh_civil_day(int64_t local_s);

/* Seconds since local midnight (0..86399) of local second `local_s`. */
int32_t wh_civil_sec_of_day(int64_t local_s);

/* Local seconds of the UTC instant `utc_s` (Unix time) in a zone at `utc_offset_s`. */
int64_t wh_civil_from_utc(int64_t utc_s, int32_t utc_offset_s);

/* Unix time (UTC) of local second `local_s` in a zone at `utc_offset_s`. */
int64_t wh_civil_to_utc(int64_t local_s, int32_t utc_offset_s);

/* Writes `local_s` as RFC 3339 with the offset ("2024-01-31T23:00:00+08:00") into
 * buf[len]; returns the length written, or 0 (buf emptied when len > 0) if it does not fit. */
size_t wh_civil_format(int64_t local_s, int32_t utc_offset_s, char *buf, size_t len);

#endif
