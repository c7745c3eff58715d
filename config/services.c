/* After-sales configuration: the lookups of service types and return
 * policies, and exact money amounts (decimal text <-> integer fen). The
 * [service.*] and [returns.*] sections themselves are parsed in services_parse.c. */
#include "config/cfg.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const struct cfg_service_type *
cfg_service_type_find(const struct cfg *cfg, const char *category, const char *type)
{
	for (int i = 0; i < cfg->n_service_types; i++) {
		const struct cfg_service_type *t = &cfg->service_types[i];
		if (strcmp(t->category, category) == 0 && strcmp(t->type, type) == 0)
			return t;
	}
	return NULL;
}

const struct cfg_return_policy *
cfg_return_policy_for(const struct cfg *cfg, const char *category)
{
	for (int i = 0; i < cfg->n_return_policies; i++)
		if (strcmp(cfg->return_policies[i].category, category) == 0)
			return &cfg->return_policies[i];
	return &cfg->returns_default;
}

int
cfg_money_parse(const char *s, int64_t *fen)
{
	int64_t units = 0;
	int digits = 0, decimals = 0;

	if (s == NULL)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > 12)
			return -1;
		units = units * 10 + (*s - '0');
	}
	if (digits == 0)
		return -1;
	units *= 100;
	if (*s == '.') {
		s++;
		int64_t scale = 10;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (++decimals > 2)
				return -1;
			units += (*s - '0') * scale;
			scale /= 10;
		}
		if (decimals == 0)
			return -1;
	}
	if (*s != '\0')
		return -1;
	*fen = units;
	return 0;
}

char *
cfg_money_format(int64_t fen, char *out)
{
	snprintf(out, 24, "%s%" PRId64 ".%02d", fen < 0 ? "-" : "", (fen < 0 ? -fen : fen) / 100,
		 (int)((fen < 0 ? -fen : fen) % 100));
	return out;
}
