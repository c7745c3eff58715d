/* The REST API: each daemon/api/<resource>.c exports one route table, and
 * dm_api_tables lists them all for the HTTP server. */
#ifndef DM_API_TABLES_H
#define DM_API_TABLES_H

#include <stddef.h>

#include "daemon/io/http.h"

/* /healthz, /readyz, /metrics (health.c) */
extern const struct dm_route_table dm_api_health_table;

/* /v1/admin/migrations, /v1/admin/log-level (admin.c) */
extern const struct dm_route_table dm_api_admin_table;

/* /v1/admin/tokens, /v1/admin/tokens/{id}, /v1/admin/tokens/whoami (tokens.c) */
extern const struct dm_route_table dm_api_tokens_table;

/* /v1/locate, /v1/stations, /v1/stations/{id} (stations.c) */
extern const struct dm_route_table dm_api_stations_table;

/* /v1/orders, /v1/orders/{id}, /v1/orders/{id}/cancel (orders.c) */
extern const struct dm_route_table dm_api_orders_table;

/* /v1/orders/{id}/exchanges (exchanges.c) */
extern const struct dm_route_table dm_api_exchanges_table;

/* /v1/warehouses/{id}/stock[/{sku}] (stock.c) */
extern const struct dm_route_table dm_api_stock_table;

/* /v1/promise (promise.c) */
extern const struct dm_route_table dm_api_promise_table;

/* /v1/stations/{id}/waves/{key}/plan and .../routes (wave_plans.c) */
extern const struct dm_route_table dm_api_wave_plans_table;

/* /v1/shipments/{order}/{seq}/events, /v1/shipments/events (shipments.c) */
extern const struct dm_route_table dm_api_shipments_table;

/* /v1/stations/{id}/couriers[/{courier}[/shifts|/duty]] and the same under
 * .../engineers (couriers.c) */
extern const struct dm_route_table dm_api_couriers_table;

/* /v1/stations/{id}/service-days/{date}/plan|routes (service_days.c, issue 12) */
extern const struct dm_route_table dm_api_service_days_table;

/* /v1/engineers/me/route (engineers_me.c, issue 12) */
extern const struct dm_route_table dm_api_engineers_me_table;

/* /v1/orders/{id}/tracking, /v1/track/{code} (tracking.c) */
extern const struct dm_route_table dm_api_tracking_table;

/* /v1/stations/{id}/feed (feed.c) */
extern const struct dm_route_table dm_api_feed_table;

/* /v1/webhooks, /v1/webhooks/{id}, /v1/admin/webhook-deliveries[/{id}/retry]
 * (webhooks.c) */
extern const struct dm_route_table dm_api_webhooks_table;

/* /v1/couriers/me/route, .../route/start, .../locations (couriers_me.c) */
extern const struct dm_route_table dm_api_couriers_me_table;

/* /v1/stops/{id}/events (stops.c) */
extern const struct dm_route_table dm_api_stops_table;
extern const struct dm_route_table dm_api_visits_table;

/* /v1/orders/{id}/returns, /v1/returns/{id}[/scans|/inspection] (returns.c) */
extern const struct dm_route_table dm_api_returns_table;

/* /v1/pickup-points[/{id}[/arrivals|/collections]] (pickup_points.c, issue 13) */
extern const struct dm_route_table dm_api_pickup_points_table;

/* /v1/service-types (service_types.c) */
extern const struct dm_route_table dm_api_service_types_table;

/* /v1/orders/{id}/service-slots, /v1/orders/{id}/services[/{appointment}]
 * (order_services.c) */
extern const struct dm_route_table dm_api_order_services_table;

/* /v1/stations/{id}/couriers/{cid}/settlements[/{sid}/resolution],
 * /v1/admin/cod-discrepancies (cod.c, issue 13) */
extern const struct dm_route_table dm_api_cod_table;

/* Every resource of the API, in matching order: adding one is one line in
 * tables.c. Static; dm_api_ntables entries. */
extern const struct dm_route_table *const dm_api_tables[];
extern const size_t dm_api_ntables;

#endif
