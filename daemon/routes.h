/* The route tables exported by the h_<resource>.c files. */
#ifndef DM_ROUTES_H
#define DM_ROUTES_H

#include "daemon/http.h"

/* /healthz, /readyz, /metrics */
extern const struct dm_route_table dm_h_health_table;

/* /v1/admin/migrations, /v1/admin/log-level */
extern const struct dm_route_table dm_h_admin_table;

/* /v1/locate, /v1/stations, /v1/stations/{id} */
extern const struct dm_route_table dm_h_geo_table;

/* /v1/orders, /v1/orders/{id}, /v1/orders/{id}/cancel (h_orders.c);
 * /v1/warehouses/{id}/stock[/{sku}] (h_stock.c) */
extern const struct dm_route_table dm_h_orders_table, dm_h_stock_table;

/* /v1/promise */
extern const struct dm_route_table dm_h_promise_table;

/* /v1/stations/{id}/waves/{key}/plan, /v1/stations/{id}/waves/{key}/routes */
extern const struct dm_route_table dm_h_routes_table;

#endif
