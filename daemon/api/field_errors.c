/* The `errors` entries of validation-failed answers (field_errors.h). */
#include <string.h>

#include "daemon/api/field_errors.h"

void
dm_field_errors_add(json_t *errors, const char *field, const char *message)
{
	json_array_append_new(errors, json_pack("{s:s,s:s}", "field", field, "message", message));
}

void
dm_field_errors_unknown(const json_t *obj, const char *prefix, const char *const *known,
			json_t *errors)
{
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)obj, name, v)
	{
		size_t i = 0;
		(void)v;
		while (known[i] != NULL && strcmp(known[i], name) != 0)
			i++;
		if (known[i] != NULL)
			continue;
		json_t *field = json_sprintf("%s%s", prefix, name);
		json_array_append_new(errors, json_pack("{s:o,s:s}", "field", field, "message",
							"is not a known member"));
	}
}

bool
dm_field_errors_idempotency_key(json_t *errors, const char *key, bool required)
{
	if (key == NULL && !required)
		return true;
	size_t n = key != NULL ? strlen(key) : 0;
	bool ok = n > 0 && n <= DM_FIELD_ERRORS_KEY_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = key[i] >= 0x21 && key[i] <= 0x7e;
	if (ok)
		return true;
	dm_field_errors_add(errors, "Idempotency-Key",
			    required ? "the header is required (1 to 255 visible ASCII characters)"
				     : "must be 1 to 255 visible ASCII characters");
	return false;
}
