/* Whole-file reading: grow a buffer until EOF, refuse files over a bound,
 * and say which file failed and why. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/file.h"

char *
dm_file_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t err_cap)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL) {
		snprintf(err, err_cap, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			if (cap > max_bytes) {
				snprintf(err, err_cap, "%s is larger than %zu bytes", path, max_bytes);
				goto fail;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > max_bytes + 1)
				cap = max_bytes + 1;
			char *bigger = realloc(buf, cap + 1);
			if (bigger == NULL) {
				snprintf(err, err_cap, "out of memory reading %s", path);
				goto fail;
			}
			buf = bigger;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, err_cap, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (n > max_bytes) {
		snprintf(err, err_cap, "%s is larger than %zu bytes", path, max_bytes);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}
