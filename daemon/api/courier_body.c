/* Checking the bodies of the couriers resource (see courier_body.h). The
 * limits here are those of 019/021's tables (couriers' id, name and phone
 * checks; shift times that never cross midnight), so a body that passes
 * never fails a constraint; overlapping shifts of one day are refused here
 * because the tables cannot say it. */
#include <stdio.h>
#include <string.h>

#include "daemon/api/courier_body.h"
#include "daemon/api/field_errors.h"
#include "warehouse/civil.h"

#define DM_API_COURIER_BODY_ID_MAX 63
#define DM_API_COURIER_BODY_NAME_MAX 200  /* characters */
#define DM_API_COURIER_BODY_PHONE_MAX 40
#define DM_API_COURIER_BODY_WORD_MAX 32   /* a vehicle or skill name */
#define DM_API_COURIER_BODY_SKILLS_MAX 32
#define DM_API_COURIER_BODY_WEEKLY_MAX 64 /* entries of the weekly pattern */
#define DM_API_COURIER_BODY_DATES_MAX 400 /* dated overrides */
#define DM_API_COURIER_BODY_CAPACITY_MAX 50 /* an engineer's visits a day (026's check) */

static const char *const dm_api_courier_body_days[] = {"mon", "tue", "wed", "thu",
						       "fri", "sat", "sun"};

/* One local shift of a day, minutes since midnight, and the entry it came from. */
struct dm_api_courier_body_span {
	int day;   /* ISO weekday 1..7, or days since the epoch for an override */
	int start; /* 0..1439 */
	int end;   /* start+1..1440; -1 for a day off */
	size_t entry;
};

/* True when s is 1..max bytes, each in set or a letter/digit when alnum. */
static bool
dm_api_courier_body_word(const char *s, size_t max, const char *set, bool upper)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (upper && c >= 'A' && c <= 'Z') || strchr(set, c) != NULL;
		if (!ok)
			return false;
	}
	return true;
}

/* Characters (not bytes) of UTF-8 text, which jansson has checked. */
static size_t
dm_api_courier_body_chars(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static bool
dm_api_courier_body_phone(const char *s)
{
	bool digit = false;
	if (s == NULL || strlen(s) == 0 || strlen(s) > DM_API_COURIER_BODY_PHONE_MAX)
		return false;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (strchr("+-() ", *s) == NULL)
			return false;
	}
	return digit;
}

static bool
dm_api_courier_body_name(const char *s)
{
	if (s == NULL)
		return false;
	size_t n = dm_api_courier_body_chars(s);
	bool blank = strspn(s, " \t\r\n") == strlen(s);
	return n >= 1 && n <= DM_API_COURIER_BODY_NAME_MAX && !blank;
}

static void
dm_api_courier_body_skills(const json_t *v, json_t *out, json_t *errors)
{
	size_t i, j;
	json_t *s;
	if (!json_is_array(v) || json_array_size(v) > DM_API_COURIER_BODY_SKILLS_MAX) {
		dm_field_errors_add(errors, "skills",
				    "must be an array of at most 32 skills");
		return;
	}
	json_array_foreach(v, i, s)
	{
		char field[32];
		snprintf(field, sizeof field, "skills[%zu]", i);
		const char *text = json_string_value(s);
		if (!dm_api_courier_body_word(text, DM_API_COURIER_BODY_WORD_MAX, "_-", false)) {
			dm_field_errors_add(errors, field,
					    "must be 1 to 32 of a-z, 0-9, _ and -");
			return;
		}
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(v, j)), text) == 0) {
				dm_field_errors_add(errors, field, "is given twice");
				return;
			}
	}
	json_object_set(out, "skills", (json_t *)v);
}

/* An engineer's own members: daily_capacity and provider. */
static void
dm_api_courier_body_engineer(const json_t *body, bool create, json_t *out, json_t *errors)
{
	json_t *v = json_object_get(body, "daily_capacity");
	if (v != NULL || create) {
		json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
		if (n < 1 || n > DM_API_COURIER_BODY_CAPACITY_MAX)
			dm_field_errors_add(errors, "daily_capacity",
					    "must be an integer from 1 to 50 (visits a day)");
		else
			json_object_set(out, "daily_capacity", v);
	}
	v = json_object_get(body, "provider");
	if (v == NULL)
		return;
	if (json_is_null(v) && !create)
		json_object_set(out, "provider", v);
	else if (!dm_api_courier_body_name(json_string_value(v)))
		dm_field_errors_add(errors, "provider",
				    "must be a non-blank string of at most 200 characters");
	else
		json_object_set(out, "provider", v);
}

json_t *
dm_api_courier_body_fields(const json_t *body, bool create, bool engineer, json_t *errors)
{
	static const char *const known[2][2][9] = {
	    {{"name", "phone", "vehicle", "skills", "active", NULL},
	     {"id", "name", "phone", "vehicle", "skills", NULL}},
	    {{"name", "phone", "vehicle", "skills", "active", "provider", "daily_capacity", NULL},
	     {"id", "name", "phone", "vehicle", "skills", "provider", "daily_capacity", NULL}}};
	size_t before = json_array_size(errors);
	json_t *out = json_object(), *v;
	dm_field_errors_unknown(body, "", known[engineer][create], errors);
	if (engineer)
		dm_api_courier_body_engineer(body, create, out, errors);
	if (create) {
		v = json_object_get(body, "id");
		if (!dm_api_courier_body_word(json_string_value(v), DM_API_COURIER_BODY_ID_MAX,
					      "_.:/-", true))
			dm_field_errors_add(errors, "id",
					    "must be 1 to 63 of A-Z, a-z, 0-9, _ . : / -");
		else
			json_object_set(out, "id", v);
	}
	if ((v = json_object_get(body, "name")) != NULL || create) {
		if (!dm_api_courier_body_name(json_string_value(v)))
			dm_field_errors_add(errors, "name",
					    "must be a non-blank string of at most 200 "
					    "characters");
		else
			json_object_set(out, "name", v);
	}
	if ((v = json_object_get(body, "phone")) != NULL || create) {
		if (!dm_api_courier_body_phone(json_string_value(v)))
			dm_field_errors_add(errors, "phone",
					    "must be 1 to 40 of digits, +, -, ( ) and "
					    "spaces");
		else
			json_object_set(out, "phone", v);
	}
	if ((v = json_object_get(body, "vehicle")) == NULL && create && engineer)
		json_object_set_new(out, "vehicle", json_string("van"));
	else if (v != NULL || create) {
		if (!dm_api_courier_body_word(json_string_value(v), DM_API_COURIER_BODY_WORD_MAX,
					      "_", false) ||
		    strpbrk(json_string_value(v), "0123456789") != NULL)
			dm_field_errors_add(errors, "vehicle",
					    "must name a vehicle profile (e_bike, tricycle, "
					    "van, ...)");
		else
			json_object_set(out, "vehicle", v);
	}
	if ((v = json_object_get(body, "skills")) != NULL)
		dm_api_courier_body_skills(v, out, errors);
	if (!create && (v = json_object_get(body, "active")) != NULL) {
		if (!json_is_boolean(v))
			dm_field_errors_add(errors, "active", "must be true or false");
		else
			json_object_set(out, "active", v);
	}
	if (json_array_size(errors) > before) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* "HH:MM" into minutes since midnight: 00:00..23:59, or up to 24:00 for an
 * end. -1 when it is not one. */
static int
dm_api_courier_body_hhmm(const json_t *v, bool end)
{
	const char *s = json_string_value(v);
	if (s == NULL || strlen(s) != 5 || s[2] != ':')
		return -1;
	for (int i = 0; i < 5; i++)
		if (i != 2 && (s[i] < '0' || s[i] > '9'))
			return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (!end || m != 0)))
		return -1;
	return h * 60 + m;
}

/* The start and end members of entry (field names prefixed) into span, and
 * the normalised "start"/"end" into out. False after adding errors. */
static bool
dm_api_courier_body_times(const json_t *entry, const char *prefix,
			  struct dm_api_courier_body_span *span, json_t *out, json_t *errors)
{
	char field[64];
	const json_t *s = json_object_get(entry, "start"), *e = json_object_get(entry, "end");
	span->start = dm_api_courier_body_hhmm(s, false);
	span->end = dm_api_courier_body_hhmm(e, true);
	if (span->start < 0) {
		snprintf(field, sizeof field, "%sstart", prefix);
		dm_field_errors_add(errors, field,
				    "must be a local time HH:MM (00:00-23:59)");
	}
	if (span->end < 0) {
		snprintf(field, sizeof field, "%send", prefix);
		dm_field_errors_add(errors, field,
				    "must be a local time HH:MM (00:01-24:00)");
	} else if (span->start >= 0 && span->end <= span->start) {
		snprintf(field, sizeof field, "%send", prefix);
		dm_field_errors_add(errors, field,
				    "must be after start (a shift ends by 24:00; split a "
				    "night shift at midnight)");
	}
	if (span->start < 0 || span->end <= span->start)
		return false;
	json_object_set(out, "start", (json_t *)s);
	json_object_set(out, "end", (json_t *)e);
	return true;
}

/* Report each span overlapping an earlier one of the same day (or a day
 * off with anything else on its date). what names the array ("weekly"). */
static void
dm_api_courier_body_overlaps(const struct dm_api_courier_body_span *spans, size_t n,
			     const char *what, bool weekday, json_t *errors)
{
	for (size_t j = 1; j < n; j++)
		for (size_t i = 0; i < j; i++) {
			const struct dm_api_courier_body_span *a = &spans[i], *b = &spans[j];
			if (a->day != b->day || a->entry == b->entry)
				continue;
			bool off = a->end < 0 || b->end < 0;
			if (!off && !(a->start < b->end && b->start < a->end))
				continue;
			char field[48], msg[96];
			snprintf(field, sizeof field, "%s[%zu]", what, b->entry);
			if (off)
				snprintf(msg, sizeof msg, "%s[%zu] makes that date a day off", what,
					 a->end < 0 ? a->entry : b->entry);
			else if (weekday)
				snprintf(msg, sizeof msg, "overlaps %s[%zu] on %s", what, a->entry,
					 dm_api_courier_body_days[b->day - 1]);
			else
				snprintf(msg, sizeof msg, "overlaps %s[%zu] on the same date", what,
					 a->entry);
			dm_field_errors_add(errors, field, msg);
			return;
		}
}

static void
dm_api_courier_body_weekly(const json_t *in, json_t *out, json_t *errors)
{
	static const char *const known[] = {"days", "start", "end", NULL};
	struct dm_api_courier_body_span spans[DM_API_COURIER_BODY_WEEKLY_MAX * 7];
	size_t n = 0, i, before = json_array_size(errors);
	json_t *entry;
	if (!json_is_array(in) || json_array_size(in) > DM_API_COURIER_BODY_WEEKLY_MAX) {
		dm_field_errors_add(errors, "weekly",
				    "must be an array of at most 64 {days, start, end}");
		return;
	}
	json_array_foreach(in, i, entry)
	{
		char prefix[40], field[64];
		struct dm_api_courier_body_span span = {.entry = i};
		bool seen[8] = {false};
		snprintf(prefix, sizeof prefix, "weekly[%zu].", i);
		if (!json_is_object(entry)) {
			snprintf(field, sizeof field, "weekly[%zu]", i);
			dm_field_errors_add(errors, field, "must be an object");
			continue;
		}
		dm_field_errors_unknown(entry, prefix, known, errors);
		json_t *norm = json_object();
		bool times = dm_api_courier_body_times(entry, prefix, &span, norm, errors);
		const json_t *days = json_object_get(entry, "days");
		size_t k;
		json_t *day;
		snprintf(field, sizeof field, "weekly[%zu].days", i);
		if (!json_is_array(days) || json_array_size(days) == 0 ||
		    json_array_size(days) > 7) {
			dm_field_errors_add(errors, field,
					    "must be an array of mon, tue, wed, thu, "
					    "fri, sat, sun");
			json_decref(norm);
			continue;
		}
		json_array_foreach(days, k, day)
		{
			const char *name = json_string_value(day);
			int d = 0;
			while (d < 7 &&
			       (name == NULL || strcmp(name, dm_api_courier_body_days[d]) != 0))
				d++;
			if (d == 7 || seen[d + 1]) {
				dm_field_errors_add(
			      errors, field,
			      d == 7 ? "must name days as mon, tue, wed, thu, fri, sat, sun"
				     : "names a day twice");
				break;
			}
			seen[d + 1] = true;
			if (!times)
				continue;
			span.day = d + 1;
			spans[n++] = span;
			json_array_append_new(out, json_pack("{s:i,s:O,s:O}", "dow", d + 1, "start",
							     json_object_get(norm, "start"), "end",
							     json_object_get(norm, "end")));
		}
		json_decref(norm);
	}
	if (json_array_size(errors) == before)
		dm_api_courier_body_overlaps(spans, n, "weekly", true, errors);
}

bool
dm_api_courier_body_date(const char *s, int *days)
{
	int y, m, d, used = 0;
	if (s == NULL || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 ||
	    used != 10 || s[4] != '-' || s[7] != '-' || y < 2000 || y > 2999 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int64_t n = wh_civil_days_from_ymd(y, m, d), yy;
	int mm, dd;
	wh_civil_ymd_from_days(n, &yy, &mm, &dd);
	if (yy != y || mm != m || dd != d)
		return false; /* 31 April */
	*days = (int)n;
	return true;
}

static void
dm_api_courier_body_dates(const json_t *in, json_t *out, json_t *errors)
{
	static const char *const known[] = {"date", "start", "end", "off", NULL};
	struct dm_api_courier_body_span spans[DM_API_COURIER_BODY_DATES_MAX];
	size_t n = 0, i, before = json_array_size(errors);
	json_t *entry;
	if (!json_is_array(in) || json_array_size(in) > DM_API_COURIER_BODY_DATES_MAX) {
		dm_field_errors_add(errors, "overrides",
				    "must be an array of at most 400 {date, start, end} or "
				    "{date, off: true}");
		return;
	}
	json_array_foreach(in, i, entry)
	{
		char prefix[40], field[64];
		struct dm_api_courier_body_span span = {.entry = i};
		snprintf(prefix, sizeof prefix, "overrides[%zu].", i);
		if (!json_is_object(entry)) {
			snprintf(field, sizeof field, "overrides[%zu]", i);
			dm_field_errors_add(errors, field, "must be an object");
			continue;
		}
		dm_field_errors_unknown(entry, prefix, known, errors);
		const json_t *date = json_object_get(entry, "date");
		const json_t *off = json_object_get(entry, "off");
		bool date_ok = dm_api_courier_body_date(json_string_value(date), &span.day);
		if (!date_ok) {
			snprintf(field, sizeof field, "overrides[%zu].date", i);
			dm_field_errors_add(errors, field, "must be a date YYYY-MM-DD");
		}
		json_t *norm = json_pack("{s:O}", "date", date != NULL ? date : json_null());
		if (off != NULL) {
			snprintf(field, sizeof field, "overrides[%zu].off", i);
			if (!json_is_true(off))
				dm_field_errors_add(errors, field,
						    "must be true (or leave it out and give "
						    "start and end)");
			else if (json_object_get(entry, "start") != NULL ||
				 json_object_get(entry, "end") != NULL)
				dm_field_errors_add(errors, field,
						    "a day off has no start or end");
			else if (date_ok) {
				span.end = -1;
				spans[n++] = span;
				json_array_append(out, norm);
			}
		} else if (dm_api_courier_body_times(entry, prefix, &span, norm, errors) &&
			   date_ok) {
			spans[n++] = span;
			json_array_append(out, norm);
		}
		json_decref(norm);
	}
	if (json_array_size(errors) == before)
		dm_api_courier_body_overlaps(spans, n, "overrides", false, errors);
}

int
dm_api_courier_body_shifts(const json_t *body, json_t **weekly, json_t **dates, json_t *errors)
{
	static const char *const known[] = {"weekly", "overrides", NULL};
	size_t before = json_array_size(errors);
	const json_t *v;
	*weekly = json_array();
	*dates = json_array();
	dm_field_errors_unknown(body, "", known, errors);
	if ((v = json_object_get(body, "weekly")) != NULL)
		dm_api_courier_body_weekly(v, *weekly, errors);
	if ((v = json_object_get(body, "overrides")) != NULL)
		dm_api_courier_body_dates(v, *dates, errors);
	if (json_array_size(errors) == before)
		return 0;
	json_decref(*weekly);
	json_decref(*dates);
	*weekly = *dates = NULL;
	return -1;
}

int
dm_api_courier_body_duty(const json_t *body, bool *on_shift, const char **reason, json_t *errors)
{
	static const char *const known[] = {"on_shift", "reason", NULL};
	size_t before = json_array_size(errors);
	const json_t *v = json_object_get(body, "on_shift");
	dm_field_errors_unknown(body, "", known, errors);
	if (!json_is_boolean(v))
		dm_field_errors_add(errors, "on_shift", "is required: true or false");
	else
		*on_shift = json_is_true(v);
	*reason = "";
	v = json_object_get(body, "reason");
	if (v != NULL &&
	    (!json_is_string(v) || strlen(json_string_value(v)) > DM_API_COURIER_BODY_REASON_MAX))
		dm_field_errors_add(errors, "reason",
				    "must be a string of at most 200 bytes");
	else if (v != NULL)
		*reason = json_string_value(v);
	return json_array_size(errors) == before ? 0 : -1;
}
