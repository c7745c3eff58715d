/* The routing error record (rt_common). Owns formatting into a fixed buffer; callers own
 * the record itself. */
#include <stdarg.h>
#include <stdio.h>

#include "routing/common/err.h"

enum rt_status
rt_err_set(struct rt_err *err, enum rt_status code, const char *fmt, ...)
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
