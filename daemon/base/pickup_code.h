/* Pickup codes (issue 13; docs/api.md "Pickup points"): the customer's
 * random 8-digit code for a parcel held at a pickup point. PostgreSQL never
 * holds a code in plain text: it holds the code's keyed hash (BLAKE2b), by
 * which a collection looks the parcel up, and the code sealed
 * (crypto_secretbox), which only the daemon can open for the order
 * service's tracking view. Both keys are sub-keys (crypto_kdf) of the
 * server's token key ([auth] token_key_file, token_key.h): no new secret. */
#ifndef DM_PICKUP_CODE_H
#define DM_PICKUP_CODE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/base/token.h"

#define DM_PICKUP_CODE_DIGITS 8
#define DM_PICKUP_CODE_HASH_BYTES 32
#define DM_PICKUP_CODE_BOX_BYTES (24 + 16 + DM_PICKUP_CODE_DIGITS) /* nonce, MAC, code */
#define DM_PICKUP_CODE_KEY_ID_BYTES 8

/* Whether code is exactly DM_PICKUP_CODE_DIGITS ASCII digits. */
bool dm_pickup_code_valid(const char *code);

/* The keyed hash of code under key (the token key): the same code gives the
 * same hash, and without the key no hash can be made to test a guess. */
void dm_pickup_code_hash(const unsigned char key[DM_TOKEN_KEY_BYTES], const char *code,
			 unsigned char hash[DM_PICKUP_CODE_HASH_BYTES]);

/* The fingerprint of key stored with each code (pickup_parcels.code_key_id):
 * the same key gives the same id, another key (almost surely) another, and
 * the id tells nothing of the key (a keyed hash of a constant). */
void dm_pickup_code_key_id(const unsigned char key[DM_TOKEN_KEY_BYTES],
			   unsigned char id[DM_PICKUP_CODE_KEY_ID_BYTES]);

/* A new code, uniform over all DM_PICKUP_CODE_DIGITS-digit strings
 * (randombytes_uniform), into code (DM_PICKUP_CODE_DIGITS + 1 bytes), with
 * its hash and its box (sealed under a sub-key of key, a fresh nonce). */
void dm_pickup_code_new(const unsigned char key[DM_TOKEN_KEY_BYTES],
			char code[DM_PICKUP_CODE_DIGITS + 1],
			unsigned char hash[DM_PICKUP_CODE_HASH_BYTES],
			unsigned char box[DM_PICKUP_CODE_BOX_BYTES]);

/* Open a box made by dm_pickup_code_new under the same key into code.
 * Returns 0, or -1 when the box is not one (wrong size, another key,
 * tampered with). */
int dm_pickup_code_open(const unsigned char key[DM_TOKEN_KEY_BYTES], const unsigned char *box,
			size_t len, char code[DM_PICKUP_CODE_DIGITS + 1]);

#endif
