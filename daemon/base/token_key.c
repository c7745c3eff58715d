/* The token key file (see token_key.h): reading it with the checked file
 * reader, deriving the hash key, wiping the raw bytes, and creating a new
 * file for `dispatchctl tokens init-key`. The key itself lives in the
 * config snapshot (reload.c) or in dispatchctl's stack. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/base/file.h"
#include "daemon/base/token_key.h"

int
dm_token_key_load(const char *path, unsigned char key[DM_TOKEN_KEY_BYTES], char *why, size_t cap)
{
	size_t len = 0;
	char *buf = dm_file_read(path, DM_TOKEN_KEY_FILE_MAX, &len, why, cap);
	if (buf == NULL)
		return -1;
	enum dm_token_status st = dm_token_key_derive((const unsigned char *)buf, len, key);
	sodium_memzero(buf, len);
	free(buf);
	if (st == DM_TOKEN_E_KEY) {
		snprintf(why, cap, "%s holds %zu bytes; a token key file needs at least %d random "
				   "bytes (dispatchctl tokens init-key FILE)",
			 path, len, DM_TOKEN_KEY_FILE_MIN);
		return -1;
	}
	if (st != DM_TOKEN_OK) {
		snprintf(why, cap, "cannot derive the token key from %s", path);
		return -1;
	}
	return 0;
}

int
dm_token_key_create(const char *path, char *why, size_t cap)
{
	unsigned char raw[DM_TOKEN_SECRET_BYTES];
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, cap, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(raw, sizeof raw);
	ssize_t n = write(fd, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	if (n != (ssize_t)sizeof raw || fsync(fd) != 0) {
		snprintf(why, cap, "cannot write %s: %s", path, n < 0 ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0) {
		snprintf(why, cap, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}
