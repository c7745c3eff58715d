/* libFuzzer harness: the config parser promises to accept any bytes and
 * either return a config or an error naming a line, never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_err err;
	struct cfg *cfg = cfg_parse((const char *)data, size, &err);
	if (cfg == NULL && memchr(err.msg, '\0', sizeof err.msg) == NULL)
		__builtin_trap(); /* the message must be a terminated string */
	cfg_free(cfg);
	return 0;
}
