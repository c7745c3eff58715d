/* libFuzzer harness: the request text parsers, each of which promises to
 * take any bytes and either fill its output or refuse, never crash, read out
 * of bounds or leak: the path matcher against the real route patterns, the
 * segment decoder, lat/lon, the repeated sku= list, wave keys and RFC 3339
 * times. The input is used whole as each one's text (up to a NUL), and split
 * at '&' for lat/lon and the sku list. Accepted values must read back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/io/query_parse.h"
#include "daemon/io/route_match.h"
#include "warehouse/civil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_query_patterns[] = {
	"/v1/promise",
	"/v1/orders/{id}",
	"/v1/orders/{id}/cancel",
	"/v1/stations/{id}/waves/{key}/plan",
	"/v1/warehouses/{id}/stock/{sku}",
	"/{a}/{b}/{c}/{d}",
};

static void
fuzz_query_route(const char *text, const uint8_t *data, size_t size)
{
	char params[DM_ROUTE_MATCH_MAX_PARAMS][DM_ROUTE_MATCH_PARAM_LEN];
	char out[DM_ROUTE_MATCH_PARAM_LEN];
	int n;
	for (size_t i = 0; i < sizeof fuzz_query_patterns / sizeof fuzz_query_patterns[0]; i++) {
		if (!dm_route_match(fuzz_query_patterns[i], text, params, &n))
			continue;
		if (n < 0 || n > DM_ROUTE_MATCH_MAX_PARAMS)
			__builtin_trap();
		for (int k = 0; k < n; k++) {
			size_t len = strnlen(params[k], sizeof params[k]);
			if (len == 0 || len == sizeof params[k])
				__builtin_trap();
		}
		/* Without escapes a parameter is its raw segment. */
		if (strchr(text, '%') == NULL && n > 0 &&
		    strstr(text, params[n - 1]) == NULL)
			__builtin_trap();
	}
	int len = dm_route_match_decode((const char *)data, size, out, sizeof out);
	if (len >= 0 && ((size_t)len != strlen(out) || (size_t)len > size))
		__builtin_trap();
}

static void
fuzz_query_values(char *text, size_t size)
{
	const char *values[WH_ALLOC_MAX_LINES + 8];
	size_t n = 0;
	char *copy = malloc(size + 1), *save = NULL;
	if (copy == NULL)
		return;
	memcpy(copy, text, size + 1);
	for (char *v = strtok_r(copy, "&", &save); v != NULL && n < sizeof values / sizeof *values;
	     v = strtok_r(NULL, "&", &save))
		values[n++] = v;
	json_t *errors = json_array();
	double lat = 0, lon = 0;
	if (dm_query_parse_latlon(n > 0 ? values[0] : NULL, n > 1 ? values[1] : NULL, &lat, &lon,
				  errors) == 0 &&
	    (json_array_size(errors) != 0 || !(lat >= -90 && lat <= 90) ||
	     !(lon >= -180 && lon <= 180)))
		__builtin_trap();
	struct dm_query_parse_skus s;
	size_t before = json_array_size(errors);
	int rc = dm_query_parse_skus(&s, values, n, errors);
	if ((rc == 0) != (json_array_size(errors) == before) || s.n > WH_ALLOC_MAX_LINES)
		__builtin_trap();
	for (size_t i = 0; i < s.n; i++)
		if (s.skus[i][0] == '\0' || s.sku_ptrs[i] != s.skus[i] || s.qty[i] < 1)
			__builtin_trap();
	json_decref(errors);
	free(copy);
}

static void
fuzz_query_times(const char *text)
{
	struct wh_capacity_ref ref;
	char back[WH_CIVIL_RFC3339_LEN];
	if (dm_query_parse_wave_key(text, &ref)) {
		if (ref.kind != WH_CAPACITY_WAVE ||
		    wh_capacity_key(&ref, back, sizeof back) != strlen(text) || strcmp(back, text) != 0)
			__builtin_trap();
	}
	int64_t utc_s;
	int32_t offset_s;
	if (dm_query_parse_rfc3339(text, &utc_s, &offset_s) == DM_QUERY_PARSE_OK) {
		wh_civil_format(wh_civil_from_utc(utc_s, offset_s), offset_s, back, sizeof back);
		if (strcmp(back, text) != 0)
			__builtin_trap();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0; /* a request line is far shorter; longer adds nothing */
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_query_route(text, data, size);
	fuzz_query_values(text, strlen(text));
	fuzz_query_times(text);
	free(text);
	return 0;
}
