/* Stock arithmetic and stock snapshots shared by allocation and reservation logic. */
#ifndef WH_STOCK_H
#define WH_STOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Available units of one SKU in one warehouse, as read by the caller (a snapshot). */
struct wh_stock_level {
	const char *sku;   /* borrowed, NUL terminated */
	int64_t available; /* on hand minus reserved, units; <= 0 means none */
};

/* True when `available` units can cover a request of `qty` units (qty > 0). */
bool wh_stock_covers(int64_t available, int64_t qty);

/* Available units of `sku` in levels[n] (first match), 0 when absent; levels may be NULL
 * when n == 0. */
int64_t wh_stock_available(const struct wh_stock_level *levels, size_t n, const char *sku);

#endif
