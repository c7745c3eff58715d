/* The list of the API's resource tables, handed to the HTTP server by main.c
 * so that daemon/io never includes daemon/api. Owns nothing else. */
#include "daemon/api/tables.h"

const struct dm_route_table *const dm_api_tables[] = {
	&dm_api_health_table,
	&dm_api_admin_table,
	&dm_api_tokens_table,
	&dm_api_stations_table,
	&dm_api_promise_table,
	&dm_api_orders_table,
	&dm_api_exchanges_table,
	&dm_api_stock_table,
	&dm_api_wave_plans_table,
	&dm_api_shipments_table,
	&dm_api_couriers_table,
	&dm_api_service_days_table,
	&dm_api_engineers_me_table,
	&dm_api_tracking_table,
	&dm_api_feed_table,
	&dm_api_webhooks_table,
	&dm_api_couriers_me_table,
	&dm_api_stops_table,
	&dm_api_visits_table,
	&dm_api_returns_table,
	&dm_api_pickup_points_table,
	&dm_api_service_types_table,
	&dm_api_order_services_table,
	&dm_api_cod_table,
};

const size_t dm_api_ntables = sizeof dm_api_tables / sizeof dm_api_tables[0];
