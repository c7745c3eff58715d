/* Status codes and the error record shared by the routing libraries (rt_geo, rt_vrp). Writing
 * an error never allocates (hiredis errstr style). */
#ifndef RT_ERR_H
#define RT_ERR_H

#define RT_MUST_CHECK __attribute__((warn_unused_result))

/* Result of a core call: 0 is success. */
enum rt_status {
	RT_OK = 0,
	RT_E_INVAL,	 /* a caller-supplied argument or model is inconsistent */
	RT_E_NOMEM,	 /* allocation failed */
	RT_E_PARSE,	 /* malformed input bytes */
	RT_E_GEOS,	 /* a GEOS call failed; msg carries its message */
	RT_E_INFEASIBLE, /* the input cannot be honoured (e.g. an infeasible fixed prefix) */
};

/* Error detail: the status and a human readable message (NUL terminated). */
struct rt_err {
	enum rt_status code;
	char msg[256];
};

/* Record `code` and a printf-style message in `err` (NULL is allowed); returns `code`. */
enum rt_status rt_err_set(struct rt_err *err, enum rt_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
