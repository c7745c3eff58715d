/* Stock arithmetic: the single definition of "enough stock" used by the
 * allocation policy, and lookups in a caller-supplied stock snapshot. Owns no
 * state; the daemon owns the snapshot and the transactional reservation. */
#include <string.h>

#include "warehouse/stock.h"

bool
wh_stock_covers(int64_t available, int64_t qty)
{
	return qty > 0 && available >= qty;
}

int64_t
wh_stock_available(const struct wh_stock_level *levels, size_t n, const char *sku)
{
	for (size_t i = 0; i < n; i++)
		if (levels[i].sku != NULL && strcmp(levels[i].sku, sku) == 0)
			return levels[i].available > 0 ? levels[i].available : 0;
	return 0;
}
