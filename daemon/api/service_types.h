/* The published after-sales price lists ([service.CATEGORY.TYPE] sections of the
 * config): GET /v1/service-types renders them, and a booking stores the same
 * rendering as its appointment's price_list snapshot. */
#ifndef DM_API_SERVICE_TYPES_H
#define DM_API_SERVICE_TYPES_H

#include <jansson.h>

#include "config/cfg.h"

/* The currency of every amount of the API. */
#define DM_SERVICE_TYPES_CURRENCY "CNY"

/* The price list of service type t as one JSON object, the one shape shared by
 * GET /v1/service-types (one entry of service_types) and the appointment's
 * price_list snapshot (docs/api.md, "Service types"):
 *
 *   {"category": "large_appliances", "type": "installation", "duration_minutes": 90,
 *    "currency": "CNY", "base_fee": "120.00", "base_fee_fen": 12000, "free": true,
 *    "extras": [{"code": "pipe_extension", "unit": "m", "price": "15.00",
 *                "price_fen": 1500, "max_qty": 10}, ...]}
 *
 * Money is both decimal text and integer fen; extras are in config order; free =
 * the base fee is waived (extras are still charged). A new reference (the caller
 * decrefs it), or NULL when out of memory. */
json_t *dm_service_price_list_json(const struct cfg_service_type *t);

#endif
