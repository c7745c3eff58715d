/* Parsers for the text a request carries outside its JSON body: query
 * parameters (lat/lon, repeated sku=ID:QTY), wave keys in paths and RFC 3339
 * times. Pure: no libevent, no clock; each accepts any NUL-terminated bytes
 * and either fills its output or says why not. Errors for a 422 are added to
 * a jansson array as {"field","message"} (and "value" for sku), the shape
 * every resource answers. */
#ifndef DM_QUERY_PARSE_H
#define DM_QUERY_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "warehouse/alloc.h"
#include "warehouse/capacity.h"

#define DM_QUERY_PARSE_SKU_LEN 64 /* a SKU's bytes, NUL included (as DM_INTAKE_ID_MAX) */
#define DM_QUERY_PARSE_QTY_MAX 100000 /* units per line */

enum dm_query_parse_status {
	DM_QUERY_PARSE_OK = 0,
	DM_QUERY_PARSE_E_SYNTAX, /* not of the expected form */
	DM_QUERY_PARSE_E_RANGE,  /* of the form, but no such value (31 February, offset +25:00) */
};

/* The lines of GET /v1/promise: one per distinct SKU, in first-seen order. */
struct dm_query_parse_skus {
	size_t n;
	char skus[WH_ALLOC_MAX_LINES][DM_QUERY_PARSE_SKU_LEN];
	const char *sku_ptrs[WH_ALLOC_MAX_LINES]; /* skus[i], for calls taking a list */
	int64_t qty[WH_ALLOC_MAX_LINES];          /* units; a repeated SKU's quantities add up */
};

/* The text values of the lat and lon parameters (NULL when absent) into
 * *lat and *lon, WGS84 degrees. Returns 0, or -1 after adding one
 * {"field","message"} per missing, non-number ("must be a decimal number")
 * or out-of-range parameter to errors, lat first. */
int dm_query_parse_latlon(const char *lat_text, const char *lon_text, double *lat, double *lon,
			  json_t *errors);

/* Fill s (overwritten) from the values of a repeated sku=ID:QTY parameter,
 * in request order; ":QTY" is optional (1) and the SKU is everything before
 * the last ':' (1..63 bytes). At most WH_ALLOC_MAX_LINES + 1 values are
 * read: the one past the limit is reported "too many lines". A SKU given
 * twice is one line with the quantities added. Each bad value adds
 * {"field":"sku","value","message"} to errors ("value" only when it is
 * UTF-8 text); no value at all adds
 * "at least one sku=ID:QTY is required". values and their strings are
 * borrowed. Returns 0, or -1 when it added an error. */
int dm_query_parse_skus(struct dm_query_parse_skus *s, const char *const *values, size_t nvalues,
			json_t *errors);

/* A wave's capacity counter key in its canonical form ("20261123-W0900")
 * into ref. Returns false for anything else: another kind of key, a
 * non-canonical spelling, too long. */
bool dm_query_parse_wave_key(const char *text, struct wh_capacity_ref *ref);

/* An RFC 3339 time with a numeric offset, exactly as wh_civil_format writes
 * it ("2026-11-23T09:00:00+08:00"), into UTC seconds since the epoch and the
 * offset in seconds. DM_QUERY_PARSE_E_SYNTAX when it does not read as
 * such a time, DM_QUERY_PARSE_E_RANGE when it reads but names no instant
 * or not canonically (31 February, second 60, leading blanks, |offset| >
 * 18 h). Outputs are untouched unless OK. */
enum dm_query_parse_status dm_query_parse_rfc3339(const char *text, int64_t *utc_s,
						  int32_t *offset_s);

/* Bytes of a UTC time in the daemon's normal form and its NUL. */
#define DM_QUERY_PARSE_UTC_LEN 24

/* utc_s (Unix seconds) as "YYYY-MM-DDTHH:MM:SSZ", always four digits of
 * year, the normal form the API stores and compares times in. False (out
 * untouched) outside years 1..9999. */
bool dm_query_parse_utc_format(int64_t utc_s, char out[DM_QUERY_PARSE_UTC_LEN]);

#endif
