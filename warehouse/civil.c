/* Civil calendar arithmetic for the local timeline used by the promise and
 * slot modules. Owns date <-> day-number conversion (Howard Hinnant's
 * days_from_civil / civil_from_days, public domain algorithms) and RFC 3339
 * formatting. It does not know about time zones: offsets come from the caller. */
#include <stdio.h>

#include "warehouse/civil.h"

static int64_t
wh_civil_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t
wh_civil_days_from_ymd(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = wh_civil_floor_div(y, 400);
	int64_t yoe = y - era * 400;					/* [0, 399] */
	int64_t mp = (m + 9) % 12;					/* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + d - 1;			/* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;		/* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void
wh_civil_ymd_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t z = days + 719468;
	int64_t era = wh_civil_floor_div(z, 146097);
	int64_t doe = z - era * 146097;					  /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		  /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;				  /* [0, 11] */
	int mm = (int)(mp < 10 ? mp + 3 : mp - 9);

	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = mm;
	*y = yoe + era * 400 + (mm <= 2);
}

int
wh_civil_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (ISO 3 with Monday = 0). */
	int64_t w = (days + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

int64_t
wh_civil_at(int64_t day, int64_t sec_of_day)
{
	return day * WH_CIVIL_DAY_S + sec_of_day;
}

int64_t
wh_civil_day(int64_t local_s)
{
	return wh_civil_floor_div(local_s, WH_CIVIL_DAY_S);
}

int32_t
wh_civil_sec_of_day(int64_t local_s)
{
	return (int32_t)(local_s - wh_civil_day(local_s) * WH_CIVIL_DAY_S);
}

int64_t
wh_civil_from_utc(int64_t utc_s, int32_t utc_offset_s)
{
	return utc_s + utc_offset_s;
}

int64_t
wh_civil_to_utc(int64_t local_s, int32_t utc_offset_s)
{
	return local_s - utc_offset_s;
}

size_t
wh_civil_format(int64_t local_s, int32_t utc_offset_s, char *buf, size_t len)
{
	int64_t y;
	int m, d;
	int32_t sod = wh_civil_sec_of_day(local_s);
	int32_t off = utc_offset_s < 0 ? -utc_offset_s : utc_offset_s;
	int n;

	wh_civil_ymd_from_days(wh_civil_day(local_s), &y, &m, &d);
	/* The promise endpoint formats dozens of these per request: write the
	 * common case (years 0..9999, 25 bytes) digit by digit. */
	if (y >= 0 && y <= 9999 && len >= 26) {
		int v[] = {(int)(y / 100), (int)(y % 100), m, d, (int)(sod / 3600),
			   (int)(sod / 60 % 60), (int)(sod % 60), (int)(off / 3600), (int)(off / 60 % 60)};
		/* what precedes each pair of digits; 's' is the offset's sign */
		static const char before[] = {0, 0, '-', '-', 'T', ':', ':', 's', ':'};
		char *o = buf;
		for (int i = 0; i < 9; i++) {
			if (before[i] == 's')
				*o++ = utc_offset_s < 0 ? '-' : '+';
			else if (before[i] != 0)
				*o++ = before[i];
			*o++ = (char)('0' + v[i] / 10);
			*o++ = (char)('0' + v[i] % 10);
		}
		*o = '\0';
		return (size_t)(o - buf);
	}
	n = snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d,
		     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
		     utc_offset_s < 0 ? '-' : '+', (int)(off / 3600), (int)(off / 60 % 60));
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}
