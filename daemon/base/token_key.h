/* The server's token key: read from the file named by [auth] token_key_file
 * and derived into the BLAKE2b key that hashes API tokens (base/token.h).
 * Part of the config snapshot (reload.c), so a reload re-reads it. */
#ifndef DM_TOKEN_KEY_H
#define DM_TOKEN_KEY_H

#include <stddef.h>

#include "daemon/base/token.h"

#define DM_TOKEN_KEY_FILE_MAX 4096 /* a key file is at most this many bytes */

/* Read path (DM_TOKEN_KEY_FILE_MIN .. DM_TOKEN_KEY_FILE_MAX bytes) and derive
 * key from it. Returns 0, or -1 with why (cap bytes) naming the problem;
 * the file's contents never appear in why. Blocking: startup, reload and
 * dispatchctl only. */
int dm_token_key_load(const char *path, unsigned char key[DM_TOKEN_KEY_BYTES], char *why,
		      size_t cap);

/* Create path with DM_TOKEN_SECRET_BYTES random bytes, mode 0600, refusing
 * to overwrite an existing file. Returns 0, or -1 with why filled. */
int dm_token_key_create(const char *path, char *why, size_t cap);

#endif
