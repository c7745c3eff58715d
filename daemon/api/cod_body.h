/* The request bodies of the cash-on-delivery hand-over (api/cod.c;
 * docs/api.md "Cash on delivery"), as pure parsers (no I/O; fuzzed by
 * tests/fuzz/fuzz_cod_body.c): a settlement, a resolution and a correction.
 * Amounts are decimal strings ("12.30"), integer fen inside; a JSON number
 * is refused. Unknown members are refused; each problem is one
 * {"field", "message"} entry of an errors array. */
#ifndef DM_COD_BODY_H
#define DM_COD_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define DM_COD_BODY_TEXT_MAX 500 /* characters of notes or a reason */
#define DM_COD_BODY_MAX_FEN INT64_C(100000000000) /* 1,000,000,000.00 CNY either way */

/* True for "YYYY-MM-DD", a real date of the years 2000..2999. */
bool dm_cod_body_day(const char *s);

/* POST .../settlements: {"day", "handed": "0.00".."1000000000.00",
 * "notes"?}. Returns its normal form {"day", "handed_fen", "notes"?} (a new
 * object: what cod_settle() stores to tell a replay from a mismatch), or
 * NULL after appending errors. */
json_t *dm_cod_body_settlement(const json_t *body, json_t *errors);

/* POST .../resolution: {"reason"} (1 to 500 characters, not only spaces,
 * no control characters but tabs and line breaks). Returns the reason
 * (borrowed from body), or NULL after appending errors. */
const char *dm_cod_body_resolution(const json_t *body, json_t *errors);

/* True for a settlement id's shape ("set_" and 16 lower-case hex digits). */
bool dm_cod_body_settlement_id(const char *s);

/* POST .../cod-corrections: {"day", "amount": a non-zero signed decimal
 * string, "reason", "order"? (an order id or null), "settlement"? (a
 * settlement id or null)}. Returns its normal form {"day", "amount_fen",
 * "reason", "order"?, "settlement"?} (a new object), or NULL after appending
 * errors. */
json_t *dm_cod_body_correction(const json_t *body, json_t *errors);

#endif
