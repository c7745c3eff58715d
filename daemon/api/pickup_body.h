/* The request bodies of the pickup points (api/pickup_points.c; docs/api.md
 * "Pickup points"), as pure parsers (no I/O; fuzzed by
 * tests/fuzz/fuzz_pickup_body.c): a point's create or change body, a
 * parcel's arrival and its collection. Ids follow base/token.c's scope id
 * rule, so this file is in library dm_access. Unknown members are refused;
 * each problem is one {"field", "message"} entry of an errors array. */
#ifndef DM_PICKUP_BODY_H
#define DM_PICKUP_BODY_H

#include <jansson.h>
#include <stdbool.h>

#define DM_PICKUP_BODY_NAME_MAX 200
#define DM_PICKUP_BODY_ADDRESS_MAX 500
#define DM_PICKUP_BODY_HOURS_MAX 200
#define DM_PICKUP_BODY_CAPACITY_MAX 100000

/* The compartment sizes of a locker, NULL-terminated: S, M, L. Static. */
extern const char *const dm_pickup_body_sizes[];

/* POST /v1/pickup-points (create: id, station, name, lon, lat required;
 * kind point (default, with a capacity) or locker (with compartments
 * {"S","M","L"} whose sum is its capacity)) or PATCH (!create: any of them
 * but id). Returns the normal form pickup_point_save() takes (a new object:
 * the members given, a locker's compartments with all three sizes and its
 * capacity), or NULL after appending errors. */
json_t *dm_pickup_body_point(const json_t *body, bool create, json_t *errors);

/* POST .../arrivals: {"order", "size"?: S|M|L}. Returns the order id and
 * sets *size (NULL when absent), both borrowed from body; or NULL after
 * appending errors. */
const char *dm_pickup_body_arrival(const json_t *body, const char **size, json_t *errors);

/* POST .../collections: {"code": 8 digits}. Returns the code (borrowed), or
 * NULL after appending errors. */
const char *dm_pickup_body_collection(const json_t *body, json_t *errors);

#endif
