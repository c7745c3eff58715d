/* The wh_core error record. Owns formatting into a fixed buffer and the
 * status names; callers own the record itself. */
#include <stdarg.h>
#include <stdio.h>

#include "warehouse/err.h"

enum wh_status
wh_err_set(struct wh_err *err, enum wh_status code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

const char *
wh_err_name(enum wh_status code)
{
	switch (code) {
	case WH_OK:
		return "ok";
	case WH_E_INVAL:
		return "invalid";
	case WH_E_LIMIT:
		return "limit";
	case WH_E_NO_STOCK:
		return "no_stock";
	case WH_E_NO_CAPACITY:
		return "no_capacity";
	case WH_E_SLOT_FULL:
		return "slot_full";
	case WH_E_SLOT_INVALID:
		return "slot_invalid";
	}
	return "unknown";
}
