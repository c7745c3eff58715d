/* Status codes and the error record shared by every wh_core module. Writing
 * an error never allocates (hiredis errstr style). */
#ifndef WH_ERR_H
#define WH_ERR_H

#define WH_MUST_CHECK __attribute__((warn_unused_result))

/* Result of a core call: 0 is success. The daemon maps these to HTTP in one table. */
enum wh_status {
	WH_OK = 0,
	WH_E_INVAL,	  /* a caller-supplied argument or config is inconsistent (422/500) */
	WH_E_LIMIT,	  /* input exceeds a documented bound (too many lines, warehouses) */
	WH_E_NO_STOCK,	  /* allocation: some line cannot be filled (409) */
	WH_E_NO_CAPACITY, /* promise: no wave/window with capacity within the horizon */
	WH_E_SLOT_FULL,	  /* a chosen slot exists but has no capacity left (409) */
	WH_E_SLOT_INVALID /* a chosen slot is not offered for this order (chain, config) */
};

/* Error detail: the status and a human readable message (NUL terminated). */
struct wh_err {
	enum wh_status code;
	char msg[256];
};

/* Record `code` and a printf-style message in `err` (NULL is allowed); returns `code`. */
enum wh_status wh_err_set(struct wh_err *err, enum wh_status code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Static name of a status ("ok", "no_stock", ...), for logs and problem+json; never NULL. */
const char *wh_err_name(enum wh_status code);

#endif
