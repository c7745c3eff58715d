/* The request bodies of returns and exchanges (api/returns.c,
 * api/exchanges.c; docs/api.md "Returns", "Exchanges"), as pure parsers (no
 * I/O, no clock, no config; fuzzed by tests/fuzz/fuzz_returns_body.c). Each
 * problem is one {"field", "message"} entry of an errors array; unknown
 * members are refused. Whether a line was delivered, how much of it is left
 * and whether a pickup wave is offered is decided later (config, SQL). */
#ifndef DM_RETURNS_BODY_H
#define DM_RETURNS_BODY_H

#include <jansson.h>

#define DM_RETURNS_BODY_LINES_MAX 100  /* lines of one return */
#define DM_RETURNS_BODY_QTY_MAX 100000 /* units of one returned line */
#define DM_RETURNS_BODY_TEXT_MAX 500   /* bytes of notes or a reason */
#define DM_RETURNS_BODY_EXCHANGE_LINES_MAX 50
#define DM_RETURNS_BODY_EXCHANGE_QTY_MAX 10000

/* The reason codes of returns and exchanges, NULL-terminated. Static. */
extern const char *const dm_returns_body_reasons[];

/* POST /v1/orders/{id}/returns: {"lines": [{"line", "qty"}] (1..100, each
 * line once), "reason", "notes"?, "pickup_wave"}. Returns a new object, the
 * form return_request() takes: {"lines", "reason", "notes" ("" when absent),
 * "pickup_wave"}, holding the members that passed; complete exactly when no
 * error was appended. */
json_t *dm_returns_body_request(const json_t *body, json_t *errors);

/* POST /v1/returns/{id}/scans: {"event": "arrived_at_station" |
 * "departed_station" | "received_at_warehouse"}. Returns the event
 * (borrowed from body), or NULL after appending errors. */
const char *dm_returns_body_scan(const json_t *body, json_t *errors);

/* POST /v1/returns/{id}/inspection: {"lines": [{"line", "result": "passed" |
 * "failed", "reason"? (required for failed)}]} (1..100, each line once).
 * Returns a new array of the lines that passed as {"line", "result",
 * "reason" ("" when absent)}; every line given is there exactly when no
 * error was appended. */
json_t *dm_returns_body_inspection(const json_t *body, json_t *errors);

/* POST /v1/orders/{id}/exchanges without its pickup_wave (the handler
 * checks it against the config): {"lines": [{"line", "qty" (1..10000),
 * "replacement_sku"? (a SKU or null)}] (1..50, each line once), "reason",
 * "notes"?}. Appends the lines that passed to lines as {"line", "qty",
 * "replacement_sku" (null when absent)} and sets *reason and *notes
 * (borrowed; notes "" when absent). Returns 0, or -1 after appending
 * errors. Members other than lines, reason, notes and pickup_wave are
 * refused. */
int dm_returns_body_exchange(const json_t *body, json_t *lines, const char **reason,
			     const char **notes, json_t *errors);

#endif
