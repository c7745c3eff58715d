/* Capacity counters: lookup in a caller-supplied snapshot and the stable text
 * keys under which the daemon stores counts. Owns no state: whether a count
 * lives in Redis or PostgreSQL, and the atomic check-and-increment, belong to
 * the daemon. */
#include <stdio.h>

#include "warehouse/capacity.h"
#include "warehouse/civil.h"

static const char wh_capacity_letters[] = {'W', 'S', 'L', 'I'};

uint32_t
wh_capacity_booked(const struct wh_capacity_view *view, const struct wh_capacity_ref *ref)
{
	uint64_t sum = 0;

	if (view == NULL)
		return 0;
	for (size_t i = 0; i < view->n_counts; i++) {
		const struct wh_capacity_ref *r = &view->counts[i].ref;
		if (r->kind == ref->kind && r->day == ref->day && r->start_s == ref->start_s)
			sum += view->counts[i].booked;
	}
	return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
}

uint32_t
wh_capacity_remaining(const struct wh_capacity_counter *c)
{
	return c->booked >= c->capacity ? 0 : c->capacity - c->booked;
}

size_t
wh_capacity_key(const struct wh_capacity_ref *ref, char *buf, size_t len)
{
	int64_t y;
	int m, d, n;

	if ((unsigned)ref->kind >= sizeof wh_capacity_letters) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	wh_civil_ymd_from_days(ref->day, &y, &m, &d);
	n = snprintf(buf, len, "%04lld%02d%02d-%c%02d%02d", (long long)y, m, d,
		     wh_capacity_letters[ref->kind], (int)(ref->start_s / 3600),
		     (int)(ref->start_s / 60 % 60));
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

static int
wh_capacity_digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

enum wh_status
wh_capacity_key_parse(const char *key, size_t len, struct wh_capacity_ref *ref, struct wh_err *err)
{
	int y, m, d, hh, mm, kind = -1;
	int64_t y64, day;
	int ry, rm, rd;

	if (len != 14 || key[8] != '-')
		return wh_err_set(err, WH_E_INVAL, "capacity key: expected YYYYMMDD-KHHMM");
	for (int i = 0; i < (int)sizeof wh_capacity_letters; i++)
		if (key[9] == wh_capacity_letters[i])
			kind = i;
	y = wh_capacity_digits(key, 4);
	m = wh_capacity_digits(key + 4, 2);
	d = wh_capacity_digits(key + 6, 2);
	hh = wh_capacity_digits(key + 10, 2);
	mm = wh_capacity_digits(key + 12, 2);
	if (kind < 0 || y < 0 || m < 1 || m > 12 || d < 1 || d > 31 || hh < 0 || hh > 23 ||
	    mm < 0 || mm > 59)
		return wh_err_set(err, WH_E_INVAL, "capacity key: bad field");
	day = wh_civil_days_from_ymd(y, m, d);
	wh_civil_ymd_from_days(day, &y64, &rm, &rd);
	ry = (int)y64;
	if (ry != y || rm != m || rd != d)
		return wh_err_set(err, WH_E_INVAL, "capacity key: no such date");
	ref->kind = (enum wh_capacity_kind)kind;
	ref->day = day;
	ref->start_s = hh * 3600 + mm * 60;
	ref->end_s = 0;
	return WH_OK;
}
