/* libFuzzer harness: the config parser (config/cfg.c, config/services.c,
 * config/services_parse.c: the schema's sections and keys, windows,
 * instants, money, [service.C.T] and [returns.C]). It promises to accept
 * any bytes and either return a config or an error with a terminated,
 * non-empty message and a line, never crash or leak. A config it returns
 * keeps the schema: every number and amount within its row's min..max,
 * booleans 0 or 1, strings terminated within their field, windows at least
 * the row's minimum, at most CFG_MAX_WINDOWS, each ordered within the day.
 * Parsing is deterministic: the same bytes give the same value for every
 * key, so a reload of an unchanged file finds no fixed key changed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_cfg_check_key(const struct cfg *cfg, const struct cfg_key *k)
{
	const char *field = (const char *)cfg + k->offset;
	long v = 0;
	switch (k->type) {
	case CFG_T_INT: {
		int i;
		memcpy(&i, field, sizeof i);
		v = i;
		break;
	}
	case CFG_T_LONG:
		memcpy(&v, field, sizeof v);
		break;
	case CFG_T_MONEY: {
		int64_t fen;
		memcpy(&fen, field, sizeof fen);
		if (fen < k->min || fen > k->max)
			__builtin_trap();
		return;
	}
	case CFG_T_BOOL: {
		int b;
		memcpy(&b, field, sizeof b);
		if (b != 0 && b != 1)
			__builtin_trap();
		return;
	}
	case CFG_T_STRING:
		if (memchr(field, '\0', cfg_key_size(k)) == NULL)
			__builtin_trap();
		return;
	case CFG_T_WINDOWS: {
		const struct cfg_windows *w = (const struct cfg_windows *)(const void *)field;
		if (w->n < k->min || w->n > CFG_MAX_WINDOWS)
			__builtin_trap();
		for (int i = 0; i < w->n; i++)
			if (w->w[i].start_s < 0 || w->w[i].end_s <= w->w[i].start_s ||
			    w->w[i].end_s > 86400 || w->w[i].count < 0)
				__builtin_trap();
		return;
	}
	default:
		return;
	}
	if (v < k->min || v > k->max)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_err err;
	memset(&err, 'x', sizeof err);
	struct cfg *cfg = cfg_parse((const char *)data, size, &err);
	if (cfg == NULL) {
		/* the message must be a terminated string, and say something */
		if (memchr(err.msg, '\0', sizeof err.msg) == NULL || err.msg[0] == '\0' ||
		    err.line < 0)
			__builtin_trap();
		return 0;
	}
	size_t n;
	const struct cfg_key *schema = cfg_schema(&n);
	for (size_t i = 0; i < n; i++)
		fuzz_cfg_check_key(cfg, &schema[i]);
	struct cfg *again = cfg_parse((const char *)data, size, &err);
	if (again == NULL || cfg_first_fixed_change(cfg, again) != NULL)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (memcmp((const char *)cfg + schema[i].offset, (const char *)again + schema[i].offset,
			   cfg_key_size(&schema[i])) != 0)
			__builtin_trap();
	if (cfg_return_policy_for(cfg, "no_such_category") == NULL)
		__builtin_trap();
	cfg_free(again);
	cfg_free(cfg);
	return 0;
}
