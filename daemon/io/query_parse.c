/* Query, path and time parsers (see query_parse.h). It owns the accepted
 * spellings and the 422 messages of those values; it does not know which
 * resource asks for them or what a value then means (a station, a plan).
 *
 * Numbers go through strtod/strtoll and times through strptime, so what is
 * accepted is what the C library accepts, narrowed by explicit checks: a
 * whole-string match, finite values, ranges, and for times a read-back that
 * must reproduce the text. */
#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/io/query_parse.h"
#include "warehouse/civil.h"

/* One coordinate; NULL when good, else why not. */
static const char *
dm_query_parse_coord(const char *text, double limit, double *out)
{
	char *end = NULL;
	if (text == NULL || text[0] == '\0')
		return "is required";
	errno = 0;
	double v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v))
		return "must be a decimal number";
	if (fabs(v) > limit)
		return limit == 90 ? "must be within -90..90" : "must be within -180..180";
	*out = v;
	return NULL;
}

int
dm_query_parse_latlon(const char *lat_text, const char *lon_text, double *lat, double *lon,
		      json_t *errors)
{
	const char *names[2] = {"lat", "lon"};
	const char *why[2] = {dm_query_parse_coord(lat_text, 90, lat),
			      dm_query_parse_coord(lon_text, 180, lon)};
	int bad = 0;
	for (int i = 0; i < 2; i++) {
		if (why[i] == NULL)
			continue;
		json_array_append_new(errors,
				      json_pack("{s:s,s:s}", "field", names[i], "message", why[i]));
		bad = -1;
	}
	return bad;
}

/* Parse "ID[:QTY]" into the next line of s; NULL when good, else why not. */
static const char *
dm_query_parse_sku(struct dm_query_parse_skus *s, const char *text)
{
	const char *colon = strrchr(text, ':');
	char *end;
	if (s->n == WH_ALLOC_MAX_LINES)
		return "too many lines (at most 64)";
	size_t len = colon != NULL ? (size_t)(colon - text) : strlen(text);
	if (len == 0 || len >= DM_QUERY_PARSE_SKU_LEN)
		return "must be SKU:QTY with a SKU of 1..63 characters";
	long long qty = 1;
	if (colon != NULL) {
		errno = 0;
		qty = strtoll(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || *end != '\0' || qty < 1 ||
		    qty > DM_QUERY_PARSE_QTY_MAX)
			return "quantity must be an integer 1..100000";
	}
	memcpy(s->skus[s->n], text, len);
	s->skus[s->n][len] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->skus[i], s->skus[s->n]) == 0) {
			s->qty[i] += qty; /* the same SKU twice: one line */
			return NULL;
		}
	}
	s->sku_ptrs[s->n] = s->skus[s->n];
	s->qty[s->n++] = qty;
	return NULL;
}

int
dm_query_parse_skus(struct dm_query_parse_skus *s, const char *const *values, size_t nvalues,
		    json_t *errors)
{
	int bad = 0;
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < nvalues && i <= WH_ALLOC_MAX_LINES; i++) {
		const char *why = dm_query_parse_sku(s, values[i]);
		if (why == NULL)
			continue;
		json_t *e = json_pack("{s:s,s:s}", "field", "sku", "message", why);
		/* The value is echoed only as text: "%E8" decodes to no UTF-8 string
		 * (and json_pack would then drop the whole error). */
		json_object_set_new(e, "value", json_string(values[i]));
		json_array_append_new(errors, e);
		bad = -1;
	}
	if (s->n == 0 && bad == 0) {
		json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "sku", "message",
							"at least one sku=ID:QTY is required"));
		bad = -1;
	}
	return bad;
}

bool
dm_query_parse_wave_key(const char *text, struct wh_capacity_ref *ref)
{
	struct wh_err err;
	struct wh_capacity_ref got;
	char again[WH_CAPACITY_KEY_LEN];
	size_t len = strlen(text);
	if (len >= WH_CAPACITY_KEY_LEN || wh_capacity_key_parse(text, len, &got, &err) != WH_OK ||
	    got.kind != WH_CAPACITY_WAVE || wh_capacity_key(&got, again, sizeof again) != len ||
	    memcmp(again, text, len) != 0)
		return false;
	*ref = got;
	return true;
}

enum dm_query_parse_status
dm_query_parse_rfc3339(const char *text, int64_t *utc_s, int32_t *offset_s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (end == NULL || *end != '\0')
		return DM_QUERY_PARSE_E_SYNTAX;
	/* timegm normalizes tm (and clears tm_gmtoff): read the offset first. */
	long off = tm.tm_gmtoff;
	if (off < -18 * 3600 || off > 18 * 3600)
		return DM_QUERY_PARSE_E_RANGE;
	int64_t utc = (int64_t)timegm(&tm) - off;
	/* strptime accepts 31 February, second 60 and leading blanks, and
	 * timegm rolls them over: only a time that reads back the same is one. */
	char back[WH_CIVIL_RFC3339_LEN];
	wh_civil_format(wh_civil_from_utc(utc, (int32_t)off), (int32_t)off, back, sizeof back);
	if (strcmp(back, text) != 0)
		return DM_QUERY_PARSE_E_RANGE;
	*utc_s = utc;
	*offset_s = (int32_t)off;
	return DM_QUERY_PARSE_OK;
}

bool
dm_query_parse_utc_format(int64_t utc_s, char out[DM_QUERY_PARSE_UTC_LEN])
{
	time_t t = (time_t)utc_s;
	struct tm tm;
	char buf[64];
	/* %Y would write "519" for the year 0519 and "-1" before the year 1. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return false;
	int len = snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (len != (int)sizeof "2026-11-23T01:00:00Z" - 1)
		return false;
	memcpy(out, buf, (size_t)len + 1);
	return true;
}
