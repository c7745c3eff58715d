/* Whole-file reading for the daemon and dispatchctl (config, migrations,
 * GeoJSON): one bounded, checked implementation. Never used on the loop's
 * hot path: only at startup, on reload, and in the CLI. */
#ifndef DM_FILE_H
#define DM_FILE_H

#include <stddef.h>

/* Read path whole into a malloc'd, NUL-terminated buffer (the caller frees
 * it); *len gets the byte count (without the NUL). Files over max_bytes are
 * refused. On failure returns NULL with why (naming the path) in err. */
char *dm_file_read(const char *path, size_t max_bytes, size_t *len, char *err, size_t err_cap);

#endif
