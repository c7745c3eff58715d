/* Stock arithmetic shared by allocation and reservation logic. */
#ifndef WH_STOCK_H
#define WH_STOCK_H

#include <stdbool.h>
#include <stdint.h>

/* True when `available` units can cover a request of `qty` units (qty > 0). */
bool wh_stock_covers(int64_t available, int64_t qty);

#endif
