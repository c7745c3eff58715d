/* The after-sales sections named by their data: [service.CATEGORY.TYPE] (duration,
 * base fee, free-by-policy flag and the repeated `extra = code, unit, price, max_qty`
 * lines of its published price list) and [returns.CATEGORY] (the category's return
 * windows and quick-refund limit, completed from [returns]). It owns their names, keys,
 * limits and cross-checks; cfg.c owns the file and the fixed schema keys. */
#include "config/services_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_SP_SERVICE "service."
#define CFG_SP_RETURNS "returns."

/* Keys of a [service.C.T] section, as bits of type_keys. */
enum {
	CFG_SP_DURATION = 1u << 0,
	CFG_SP_BASE_FEE = 1u << 1,
	CFG_SP_FREE = 1u << 2,
};

/* Keys of a [returns.C] section, as bits of policy_keys. */
enum {
	CFG_SP_WINDOW = 1u << 0,
	CFG_SP_DEFECT = 1u << 1,
	CFG_SP_QUICK = 1u << 2,
};

#define CFG_SP_MAX_DURATION_MIN 1440
#define CFG_SP_MAX_QTY 1000
#define CFG_SP_MAX_DAYS 365

bool
cfg_services_parse_owns(const char *section)
{
	return strncmp(section, CFG_SP_SERVICE, strlen(CFG_SP_SERVICE)) == 0 ||
	       strncmp(section, CFG_SP_RETURNS, strlen(CFG_SP_RETURNS)) == 0;
}

/* [a-z0-9_]{1,max}: the first n bytes of s. */
static bool
cfg_services_parse_name_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* The section name of service type i / return policy i, as written. */
static void
cfg_services_parse_type_name(const struct cfg_service_type *t, char *out, size_t size)
{
	snprintf(out, size, CFG_SP_SERVICE "%s.%s", t->category, t->type);
}

static void
cfg_services_parse_policy_name(const struct cfg_return_policy *p, char *out, size_t size)
{
	snprintf(out, size, CFG_SP_RETURNS "%s", p->category);
}

/* Whether the full section name matches what inih passes (cut to its limit). */
static bool
cfg_services_parse_same(const char *full, const char *seen)
{
	size_t n = strlen(full);
	if (n > CFG_SERVICES_PARSE_INI_SECTION)
		n = CFG_SERVICES_PARSE_INI_SECTION;
	return strlen(seen) == n && strncmp(full, seen, n) == 0;
}

/* Refuses a second section whose name equals (or, cut by inih, looks like) an
 * earlier one; names[i] are the earlier names, lines[i] their lines. */
static int
cfg_services_parse_unique(const char *section, int line, const char (*names)[160],
			  const int *lines, int n, struct cfg_err *err)
{
	char cut[CFG_SERVICES_PARSE_INI_SECTION + 1];
	snprintf(cut, sizeof cut, "%s", section);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], section) == 0) {
			err->line = line;
			snprintf(err->msg, sizeof err->msg,
				 "[%.100s]: duplicate section (first at line %d)", section,
				 lines[i]);
			return -1;
		}
		if (cfg_services_parse_same(names[i], cut)) {
			err->line = line;
			snprintf(err->msg, sizeof err->msg,
				 "[%.100s]: the first %d characters of the name are those of the "
				 "section at line %d; names must differ within them",
				 section, CFG_SERVICES_PARSE_INI_SECTION, lines[i]);
			return -1;
		}
	}
	return 0;
}

static int
cfg_services_parse_service_section(struct cfg_services_parse *sp, struct cfg *cfg,
				   const char *section, int line, struct cfg_err *err)
{
	const char *cat = section + strlen(CFG_SP_SERVICE);
	const char *dot = strchr(cat, '.');
	char names[CFG_MAX_SERVICE_TYPES][160];

	err->line = line;
	if (dot == NULL) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s]: expected [service.CATEGORY.TYPE]", section);
		return -1;
	}
	if (!cfg_services_parse_name_ok(cat, (size_t)(dot - cat), CFG_NAME_MAX - 1)) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s]: the category '%.*s' is not [a-z0-9_]{1,%d}", section,
			 (int)(dot - cat < 64 ? dot - cat : 64), cat, CFG_NAME_MAX - 1);
		return -1;
	}
	if (!cfg_services_parse_name_ok(dot + 1, strlen(dot + 1), CFG_NAME_MAX - 1)) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s]: the service type '%.48s' is not [a-z0-9_]{1,%d}", section,
			 dot + 1, CFG_NAME_MAX - 1);
		return -1;
	}
	for (int i = 0; i < cfg->n_service_types; i++)
		cfg_services_parse_type_name(&cfg->service_types[i], names[i], sizeof names[i]);
	if (cfg_services_parse_unique(section, line, (const char (*)[160])names, sp->type_line,
				      cfg->n_service_types, err) != 0)
		return -1;
	if (cfg->n_service_types == CFG_MAX_SERVICE_TYPES) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s]: more than %d [service.CATEGORY.TYPE] sections", section,
			 CFG_MAX_SERVICE_TYPES);
		return -1;
	}
	struct cfg_service_type *t = &cfg->service_types[cfg->n_service_types];
	memset(t, 0, sizeof *t);
	memcpy(t->category, cat, (size_t)(dot - cat));
	memcpy(t->type, dot + 1, strlen(dot + 1) + 1);
	sp->type_keys[cfg->n_service_types] = 0;
	sp->type_line[cfg->n_service_types] = line;
	cfg->n_service_types++;
	err->line = 0;
	return 0;
}

static int
cfg_services_parse_returns_section(struct cfg_services_parse *sp, struct cfg *cfg,
				   const char *section, int line, struct cfg_err *err)
{
	const char *cat = section + strlen(CFG_SP_RETURNS);
	char names[CFG_MAX_RETURN_POLICIES][160];

	err->line = line;
	if (!cfg_services_parse_name_ok(cat, strlen(cat), CFG_NAME_MAX - 1)) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s]: the category '%.48s' is not [a-z0-9_]{1,%d}", section, cat,
			 CFG_NAME_MAX - 1);
		return -1;
	}
	for (int i = 0; i < cfg->n_return_policies; i++)
		cfg_services_parse_policy_name(&cfg->return_policies[i], names[i],
					       sizeof names[i]);
	if (cfg_services_parse_unique(section, line, (const char (*)[160])names,
				      sp->policy_line, cfg->n_return_policies, err) != 0)
		return -1;
	if (cfg->n_return_policies == CFG_MAX_RETURN_POLICIES) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s]: more than %d [returns.CATEGORY] sections", section,
			 CFG_MAX_RETURN_POLICIES);
		return -1;
	}
	struct cfg_return_policy *p = &cfg->return_policies[cfg->n_return_policies];
	memset(p, 0, sizeof *p);
	memcpy(p->category, cat, strlen(cat) + 1);
	sp->policy_keys[cfg->n_return_policies] = 0;
	sp->policy_line[cfg->n_return_policies] = line;
	cfg->n_return_policies++;
	err->line = 0;
	return 0;
}

int
cfg_services_parse_section(struct cfg_services_parse *sp, struct cfg *cfg, const char *section,
			   int line, struct cfg_err *err)
{
	if (strcmp(section, "returns") == 0 && sp->returns_line == 0)
		sp->returns_line = line;
	if (strncmp(section, CFG_SP_SERVICE, strlen(CFG_SP_SERVICE)) == 0)
		return cfg_services_parse_service_section(sp, cfg, section, line, err);
	if (strncmp(section, CFG_SP_RETURNS, strlen(CFG_SP_RETURNS)) == 0)
		return cfg_services_parse_returns_section(sp, cfg, section, line, err);
	return 0;
}

/* An integer lo..hi. */
static int
cfg_services_parse_int(const char *section, const char *name, const char *value, long lo,
		       long hi, int *out, struct cfg_err *err)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0') {
		snprintf(err->msg, sizeof err->msg, "[%.100s] %s: '%.48s' is not an integer",
			 section, name, value);
		return -1;
	}
	if (v < lo || v > hi) {
		snprintf(err->msg, sizeof err->msg, "[%.100s] %s: %ld is out of range %ld..%ld",
			 section, name, v, lo, hi);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
cfg_services_parse_money(const char *section, const char *name, const char *value,
			 int64_t *out, struct cfg_err *err)
{
	if (cfg_money_parse(value, out) != 0) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] %s: '%.48s' is not an amount like 129.00 (digits, at most two "
			 "decimals)",
			 section, name, value);
		return -1;
	}
	return 0;
}

/* Trim spaces and tabs at both ends of s in place. */
static char *
cfg_services_parse_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* "code, unit, price, max_qty" appended to t's extras. */
static int
cfg_services_parse_extra(struct cfg_service_type *t, const char *section, const char *value,
			 struct cfg_err *err)
{
	char buf[256], *field[4];
	int n = 0;
	struct cfg_service_extra x;

	memset(&x, 0, sizeof x);
	if (strlen(value) >= sizeof buf)
		goto syntax;
	memcpy(buf, value, strlen(value) + 1);
	for (char *p = buf;; p++) {
		char *comma = strchr(p, ',');
		if (n == 4)
			goto syntax;
		field[n++] = p;
		if (comma == NULL)
			break;
		*comma = '\0';
		p = comma;
	}
	if (n != 4)
		goto syntax;
	for (int i = 0; i < 4; i++)
		field[i] = cfg_services_parse_trim(field[i]);
	if (!cfg_services_parse_name_ok(field[0], strlen(field[0]), CFG_NAME_MAX - 1)) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] extra: the code '%.48s' is not [a-z0-9_]{1,%d}", section,
			 field[0], CFG_NAME_MAX - 1);
		return -1;
	}
	memcpy(x.code, field[0], strlen(field[0]) + 1);
	for (int i = 0; i < t->n_extras; i++) {
		if (strcmp(t->extras[i].code, x.code) == 0) {
			snprintf(err->msg, sizeof err->msg,
				 "[%.100s] extra: the code '%.63s' is listed twice", section,
				 x.code);
			return -1;
		}
	}
	if (t->n_extras == CFG_MAX_SERVICE_EXTRAS) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] extra: more than %d extras in one service type", section,
			 CFG_MAX_SERVICE_EXTRAS);
		return -1;
	}
	if (!cfg_services_parse_name_ok(field[1], strlen(field[1]), CFG_UNIT_MAX - 1)) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] extra: the unit '%.48s' of '%.40s' is not [a-z0-9_]{1,%d}",
			 section, field[1], x.code, CFG_UNIT_MAX - 1);
		return -1;
	}
	memcpy(x.unit, field[1], strlen(field[1]) + 1);
	if (cfg_money_parse(field[2], &x.price_fen) != 0) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] extra: the price '%.48s' of '%.40s' is not an amount like 15.00",
			 section, field[2], x.code);
		return -1;
	}
	char *end;
	errno = 0;
	long q = strtol(field[3], &end, 10);
	if (errno != 0 || end == field[3] || *end != '\0' || q < 1 || q > CFG_SP_MAX_QTY) {
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] extra: the max_qty '%.48s' of '%.40s' is not an integer 1..%d",
			 section, field[3], x.code, CFG_SP_MAX_QTY);
		return -1;
	}
	x.max_qty = (int)q;
	t->extras[t->n_extras++] = x;
	return 0;
syntax:
	snprintf(err->msg, sizeof err->msg,
		 "[%.100s] extra: '%.48s' is not 'code, unit, price, max_qty'", section, value);
	return -1;
}

/* Refuses a key set twice in one section; else marks it set. */
static int
cfg_services_parse_once(unsigned *seen, unsigned bit, const char *section, const char *name,
			struct cfg_err *err)
{
	if (*seen & bit) {
		snprintf(err->msg, sizeof err->msg, "[%.100s] %s: set twice", section, name);
		return -1;
	}
	*seen |= bit;
	return 0;
}

static int
cfg_services_parse_type_key(struct cfg_services_parse *sp, struct cfg *cfg, int i,
			    const char *name, const char *value, struct cfg_err *err)
{
	struct cfg_service_type *t = &cfg->service_types[i];
	char section[160];
	int minutes;

	cfg_services_parse_type_name(t, section, sizeof section);
	if (strcmp(name, "extra") == 0)
		return cfg_services_parse_extra(t, section, value, err);
	if (strcmp(name, "duration_minutes") == 0) {
		if (cfg_services_parse_once(&sp->type_keys[i], CFG_SP_DURATION, section, name,
					    err) != 0 ||
		    cfg_services_parse_int(section, name, value, 1, CFG_SP_MAX_DURATION_MIN,
					   &minutes, err) != 0)
			return -1;
		t->duration_s = minutes * 60;
		return 0;
	}
	if (strcmp(name, "base_fee") == 0)
		return cfg_services_parse_once(&sp->type_keys[i], CFG_SP_BASE_FEE, section, name,
					       err) != 0
			       ? -1
			       : cfg_services_parse_money(section, name, value, &t->base_fee_fen,
							  err);
	if (strcmp(name, "free") == 0) {
		if (cfg_services_parse_once(&sp->type_keys[i], CFG_SP_FREE, section, name, err) !=
		    0)
			return -1;
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err->msg, sizeof err->msg,
				 "[%.100s] free: '%.48s' is not true or false", section, value);
			return -1;
		}
		t->free = strcmp(value, "true") == 0;
		return 0;
	}
	snprintf(err->msg, sizeof err->msg,
		 "unknown key '%.48s' in section [%.100s] (duration_minutes, base_fee, free, "
		 "extra)",
		 name, section);
	return -1;
}

static int
cfg_services_parse_policy_key(struct cfg_services_parse *sp, struct cfg *cfg, int i,
			      const char *name, const char *value, struct cfg_err *err)
{
	struct cfg_return_policy *p = &cfg->return_policies[i];
	char section[160];

	cfg_services_parse_policy_name(p, section, sizeof section);
	if (strcmp(name, "window_days") == 0)
		return cfg_services_parse_once(&sp->policy_keys[i], CFG_SP_WINDOW, section, name,
					       err) != 0
			       ? -1
			       : cfg_services_parse_int(section, name, value, 0, CFG_SP_MAX_DAYS,
							&p->window_days, err);
	if (strcmp(name, "defect_window_days") == 0)
		return cfg_services_parse_once(&sp->policy_keys[i], CFG_SP_DEFECT, section, name,
					       err) != 0
			       ? -1
			       : cfg_services_parse_int(section, name, value, 0, CFG_SP_MAX_DAYS,
							&p->defect_window_days, err);
	if (strcmp(name, "quick_refund_max") == 0)
		return cfg_services_parse_once(&sp->policy_keys[i], CFG_SP_QUICK, section, name,
					       err) != 0
			       ? -1
			       : cfg_services_parse_money(section, name, value,
							  &p->quick_refund_max_fen, err);
	snprintf(err->msg, sizeof err->msg,
		 "unknown key '%.48s' in section [%.100s] (window_days, defect_window_days, "
		 "quick_refund_max)",
		 name, section);
	return -1;
}

int
cfg_services_parse_key(struct cfg_services_parse *sp, struct cfg *cfg, const char *section,
		       const char *name, const char *value, struct cfg_err *err)
{
	char full[160];
	for (int i = 0; i < cfg->n_service_types; i++) {
		cfg_services_parse_type_name(&cfg->service_types[i], full, sizeof full);
		if (cfg_services_parse_same(full, section))
			return cfg_services_parse_type_key(sp, cfg, i, name, value, err);
	}
	for (int i = 0; i < cfg->n_return_policies; i++) {
		cfg_services_parse_policy_name(&cfg->return_policies[i], full, sizeof full);
		if (cfg_services_parse_same(full, section))
			return cfg_services_parse_policy_key(sp, cfg, i, name, value, err);
	}
	/* Every header was registered before inih ran: only a scan/inih mismatch lands here. */
	snprintf(err->msg, sizeof err->msg, "[%.100s]: section not recognised", section);
	return -1;
}

int
cfg_services_parse_finish(struct cfg_services_parse *sp, struct cfg *cfg, struct cfg_err *err)
{
	char section[160];
	const struct cfg_return_policy *d = &cfg->returns_default;

	if (d->defect_window_days < d->window_days) {
		err->line = sp->returns_line;
		snprintf(err->msg, sizeof err->msg,
			 "[returns] defect_window_days: %d is shorter than window_days %d",
			 d->defect_window_days, d->window_days);
		return -1;
	}
	for (int i = 0; i < cfg->n_service_types; i++) {
		const char *missing = (sp->type_keys[i] & CFG_SP_DURATION) == 0 ? "duration_minutes"
				      : (sp->type_keys[i] & CFG_SP_BASE_FEE) == 0 ? "base_fee"
										  : NULL;
		if (missing == NULL)
			continue;
		cfg_services_parse_type_name(&cfg->service_types[i], section, sizeof section);
		err->line = sp->type_line[i];
		snprintf(err->msg, sizeof err->msg,
			 "[%.100s] %s: missing (a service type needs duration_minutes and "
			 "base_fee)",
			 section, missing);
		return -1;
	}
	for (int i = 0; i < cfg->n_return_policies; i++) {
		struct cfg_return_policy *p = &cfg->return_policies[i];
		if ((sp->policy_keys[i] & CFG_SP_WINDOW) == 0)
			p->window_days = d->window_days;
		if ((sp->policy_keys[i] & CFG_SP_DEFECT) == 0)
			p->defect_window_days = d->defect_window_days;
		if ((sp->policy_keys[i] & CFG_SP_QUICK) == 0)
			p->quick_refund_max_fen = d->quick_refund_max_fen;
		if (p->defect_window_days < p->window_days) {
			cfg_services_parse_policy_name(p, section, sizeof section);
			err->line = sp->policy_line[i];
			snprintf(err->msg, sizeof err->msg,
				 "[%.100s] defect_window_days: %d is shorter than window_days %d",
				 section, p->defect_window_days, p->window_days);
			return -1;
		}
	}
	return 0;
}
