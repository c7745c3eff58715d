/* The checks of the service bookings' queries and bodies, and [services]
 * windows as JSON (api/booking_body.h). Pure: no I/O, no clock. */
#include "daemon/api/booking_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/field_errors.h"
#include "daemon/io/query_parse.h"

bool
dm_booking_body_time(const char *text, char out[DM_BOOKING_BODY_TIME_LEN])
{
	int64_t utc_s;
	int32_t offset_s;
	char buf[32];
	size_t n = text != NULL ? strlen(text) : 0;
	if (n < 20 || n > 25)
		return false;
	/* "Z" is "+00:00" to the parser. */
	if (n == 20 && text[19] == 'Z') {
		memcpy(buf, text, 19);
		memcpy(buf + 19, "+00:00", 7);
	} else {
		memcpy(buf, text, n + 1);
	}
	if (dm_query_parse_rfc3339(buf, &utc_s, &offset_s) != DM_QUERY_PARSE_OK)
		return false;
	/* Four digits of year (found by tests/fuzz/fuzz_booking_body.c: %Y wrote
	 * "519-01-10T..." for 0519). */
	return dm_query_parse_utc_format(utc_s, out);
}

/* A service type name: [a-z0-9_]{1,63}. */
static bool
dm_booking_body_type_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n >= CFG_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static void
dm_booking_body_type(const char *type, struct dm_booking_body *out, json_t *errors)
{
	if (!dm_booking_body_type_ok(type))
		dm_field_errors_add(errors, "type",
				    "must be a service type name such as \"installation\" "
				    "(GET /v1/service-types)");
	else
		snprintf(out->type, sizeof out->type, "%s", type);
}

int
dm_booking_body_slots_query(const char *type, const char *line, const char *with_delivery,
			    struct dm_booking_body *out, json_t *errors)
{
	size_t before = json_array_size(errors);
	memset(out, 0, sizeof *out);
	dm_booking_body_type(type, out, errors);
	char *end = NULL;
	long n = line != NULL && line[0] >= '1' && line[0] <= '9' ? strtol(line, &end, 10) : 0;
	if (end == NULL || *end != '\0' || n < 1 || n > 32767)
		dm_field_errors_add(errors, "line", "must be an order line number (1, 2, ...)");
	else
		out->line = (int)n;
	if (with_delivery == NULL || strcmp(with_delivery, "false") == 0)
		out->with_delivery = false;
	else if (strcmp(with_delivery, "true") == 0)
		out->with_delivery = true;
	else
		dm_field_errors_add(errors, "with_delivery", "must be true or false");
	return json_array_size(errors) > before ? -1 : 0;
}

static void
dm_booking_body_window(const json_t *body, struct dm_booking_body *out, json_t *errors)
{
	const char *ws = json_string_value(json_object_get(body, "window_start"));
	if (!dm_booking_body_time(ws, out->window_start))
		dm_field_errors_add(errors, "window_start",
				    "must be the window_start of an offered slot, an RFC 3339 "
				    "time with its offset (e.g. 2030-01-09T09:00:00+08:00)");
	const json_t *wd = json_object_get(body, "with_delivery");
	if (wd != NULL && !json_is_boolean(wd))
		dm_field_errors_add(errors, "with_delivery", "must be true or false");
	out->with_delivery = json_is_true(wd);
	out->with_delivery_given = wd != NULL;
}

int
dm_booking_body_booking(const json_t *body, struct dm_booking_body *out, json_t *errors)
{
	static const char *const known[] = {"type", "line", "window_start", "with_delivery", NULL};
	size_t before = json_array_size(errors);
	memset(out, 0, sizeof *out);
	dm_field_errors_unknown(body, "", known, errors);
	dm_booking_body_type(json_string_value(json_object_get(body, "type")), out, errors);
	const json_t *line = json_object_get(body, "line");
	if (!json_is_integer(line) || json_integer_value(line) < 1 ||
	    json_integer_value(line) > 32767)
		dm_field_errors_add(errors, "line", "must be an order line number (1, 2, ...)");
	else
		out->line = (int)json_integer_value(line);
	dm_booking_body_window(body, out, errors);
	return json_array_size(errors) > before ? -1 : 0;
}

int
dm_booking_body_reschedule(const json_t *body, struct dm_booking_body *out, json_t *errors)
{
	static const char *const known[] = {"window_start", "with_delivery", NULL};
	size_t before = json_array_size(errors);
	memset(out, 0, sizeof *out);
	dm_field_errors_unknown(body, "", known, errors);
	dm_booking_body_window(body, out, errors);
	return json_array_size(errors) > before ? -1 : 0;
}

int
dm_booking_body_cancel(const json_t *body, const char **reason, json_t *errors)
{
	static const char *const known[] = {"reason", NULL};
	size_t before = json_array_size(errors);
	dm_field_errors_unknown(body, "", known, errors);
	const json_t *v = json_object_get(body, "reason");
	*reason = "";
	if (v != NULL && (!json_is_string(v) ||
			  strlen(json_string_value(v)) > DM_BOOKING_BODY_REASON_MAX))
		dm_field_errors_add(errors, "reason", "must be a string of at most 200 bytes");
	else if (v != NULL)
		*reason = json_string_value(v);
	return json_array_size(errors) > before ? -1 : 0;
}

json_t *
dm_booking_body_request(const struct dm_booking_body *b)
{
	return json_pack("{s:s,s:i,s:s,s:b}", "type", b->type, "line", b->line, "window_start",
			 b->window_start, "with_delivery", b->with_delivery);
}

json_t *
dm_booking_body_windows(const struct cfg_windows *w)
{
	json_t *out = json_array();
	for (int i = 0; out != NULL && i < w->n; i++)
		json_array_append_new(out, json_pack("{s:i,s:i,s:i,s:i}", "start_s",
						     w->w[i].start_s, "end_s", w->w[i].end_s,
						     "count", w->w[i].count, "weekdays",
						     (int)w->w[i].weekdays));
	return out;
}
