/* Stock arithmetic: the single definition of "enough stock" used by the
 * allocation policy. Owns no state. */
#include "warehouse/stock.h"

bool
wh_stock_covers(int64_t available, int64_t qty)
{
	return qty > 0 && available >= qty;
}
