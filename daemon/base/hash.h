/* String hashing for the daemon's in-memory tables (stock hints, rate
 * limits): FNV-1a, fast on short keys. Not for anything an attacker must not
 * predict or collide on purpose beyond a longer chain. */
#ifndef DM_HASH_H
#define DM_HASH_H

#include <stdint.h>

/* FNV-1a of the NUL-terminated s, its offset basis XORed with salt (0: plain
 * FNV-1a) so that one table can keep several kinds of key apart. */
uint64_t dm_hash_str(const char *s, uint64_t salt);

#endif
