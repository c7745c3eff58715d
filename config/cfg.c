/* The configuration parser: INI text in (inih does the lexing), a validated
 * struct cfg out. It owns the conversion and range checks of every key; the
 * schema table owns which keys exist. Never reads files or the environment. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfg.h"
#include "config/services_parse.h"

/* inih's INI_MAX_LINE (200) minus the newline and NUL it stores. */
#define CFG_LINE_MAX 198

static const char *const cfg_level_names[] = {"error", "warning", "info", "debug"};

const char *
cfg_log_level_name(int level)
{
	if (level < 0 || level > CFG_LOG_DEBUG)
		return "?";
	return cfg_level_names[level];
}

static const char *const cfg_clock_names[] = {"system", "fixed", "offset", "driven"};

const char *
cfg_clock_name(int clock)
{
	if (clock < CFG_CLOCK_SYSTEM || clock > CFG_CLOCK_DRIVEN)
		return "?";
	return cfg_clock_names[clock];
}

static const struct cfg_key *
cfg_key_find(const char *section, const char *name)
{
	size_t n;
	const struct cfg_key *keys = cfg_schema(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
cfg_parse_number(const struct cfg_key *k, const char *value, long *out, struct cfg_err *err)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0') {
		snprintf(err->msg, sizeof err->msg, "[%s] %s: '%.64s' is not an integer",
			 k->section, k->name, value);
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(err->msg, sizeof err->msg, "[%s] %s: %ld is out of range %ld..%ld",
			 k->section, k->name, v, k->min, k->max);
		return -1;
	}
	*out = v;
	return 0;
}

/* "HH:MM" (00:00 .. 24:00) into seconds since midnight at *p; advances *p. */
static int
cfg_parse_hhmm(const char **p, int *out)
{
	const char *s = *p;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	*out = h * 3600 + m * 60;
	*p = s + 5;
	return 0;
}

/* Exactly n decimal digits at s into *out. */
static int
cfg_parse_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t
cfg_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339 "YYYY-MM-DDTHH:MM:SS" then "Z" or "+HH:MM"/"-HH:MM" (no
 * fraction, no leap second) into UTC seconds since the epoch. */
static int
cfg_parse_instant(const char *s, int64_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	if (strlen(s) < 20 || cfg_parse_digits(s, 4, &y) != 0 || s[4] != '-' ||
	    cfg_parse_digits(s + 5, 2, &mo) != 0 || s[7] != '-' ||
	    cfg_parse_digits(s + 8, 2, &d) != 0 || s[10] != 'T' ||
	    cfg_parse_digits(s + 11, 2, &h) != 0 || s[13] != ':' ||
	    cfg_parse_digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
	    cfg_parse_digits(s + 17, 2, &sec) != 0)
		return -1;
	if (strcmp(s + 19, "Z") == 0) {
		sign = 0;
	} else if ((s[19] == '+' || s[19] == '-') && strlen(s + 19) == 6 &&
		   cfg_parse_digits(s + 20, 2, &oh) == 0 && s[22] == ':' &&
		   cfg_parse_digits(s + 23, 2, &om) == 0 && oh <= 23 && om <= 59) {
		sign = s[19] == '+' ? 1 : -1;
	} else {
		return -1;
	}
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	*out = cfg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
}

static const char *const cfg_day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static int
cfg_parse_day(const char **p)
{
	for (int d = 0; d < 7; d++) {
		if (strncasecmp(*p, cfg_day_names[d], 3) == 0) {
			*p += 3;
			return d;
		}
	}
	return -1;
}

/* "Mon-Fri", "Sat", "Mon-Fri+Sun": a set of weekdays (bit 0 = Monday). */
static int
cfg_parse_days(const char **p, unsigned *out)
{
	*out = 0;
	for (;;) {
		int a = cfg_parse_day(p), b = a;
		if (a < 0)
			return -1;
		if (**p == '-') {
			(*p)++;
			if ((b = cfg_parse_day(p)) < 0)
				return -1;
		}
		for (int d = a;; d = (d + 1) % 7) {
			*out |= 1u << d;
			if (d == b)
				break;
		}
		if (**p != '+')
			return 0;
		(*p)++;
	}
}

/* A comma-separated list of "HH:MM-HH:MM/N[@days]". */
static int
cfg_parse_windows(const struct cfg_key *k, const char *value, struct cfg_windows *out,
		  struct cfg_err *err)
{
	struct cfg_windows ws;
	const char *p = value;
	memset(&ws, 0, sizeof ws);
	while (*p != '\0') {
		struct cfg_window w = {0, 0, 0, 0x7f};
		char *end;
		while (*p == ' ')
			p++;
		if (ws.n == CFG_MAX_WINDOWS)
			goto bad;
		if (cfg_parse_hhmm(&p, &w.start_s) != 0 || *p++ != '-' ||
		    cfg_parse_hhmm(&p, &w.end_s) != 0 || *p++ != '/')
			goto bad;
		long n = strtol(p, &end, 10);
		if (end == p || n < 1 || n > 10000)
			goto bad;
		w.count = (int)n;
		p = end;
		if (*p == '@') {
			p++;
			if (cfg_parse_days(&p, &w.weekdays) != 0)
				goto bad;
		}
		if (w.end_s <= w.start_s) {
			snprintf(err->msg, sizeof err->msg, "[%s] %s: window %d ends before it starts",
				 k->section, k->name, ws.n + 1);
			return -1;
		}
		ws.w[ws.n++] = w;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			goto bad;
	}
	if (ws.n < k->min) {
		snprintf(err->msg, sizeof err->msg, "[%s] %s: at least %ld window(s) needed",
			 k->section, k->name, k->min);
		return -1;
	}
	*out = ws;
	return 0;
bad:
	snprintf(err->msg, sizeof err->msg,
		 "[%s] %s: window %d of '%.64s' is not HH:MM-HH:MM/N[@Mon-Fri] (at most %d)",
		 k->section, k->name, ws.n + 1, value, CFG_MAX_WINDOWS);
	return -1;
}

size_t
cfg_key_size(const struct cfg_key *k)
{
	switch (k->type) {
	case CFG_T_STRING: return CFG_STR_MAX;
	case CFG_T_LONG: return sizeof(long);
	case CFG_T_WINDOWS: return sizeof(struct cfg_windows);
	case CFG_T_INSTANT: return sizeof(int64_t);
	case CFG_T_MONEY: return sizeof(int64_t);
	default: return sizeof(int);
	}
}

static int
cfg_apply(struct cfg *cfg, const struct cfg_key *k, const char *value, struct cfg_err *err)
{
	char *field = (char *)cfg + k->offset;
	long v;
	switch (k->type) {
	case CFG_T_STRING:
		if (strlen(value) >= CFG_STR_MAX) {
			snprintf(err->msg, sizeof err->msg, "[%s] %s: value longer than %d bytes",
				 k->section, k->name, CFG_STR_MAX - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CFG_T_INT:
		if (cfg_parse_number(k, value, &v, err) != 0)
			return -1;
		*(int *)(void *)field = (int)v;
		return 0;
	case CFG_T_LONG:
		if (cfg_parse_number(k, value, &v, err) != 0)
			return -1;
		*(long *)(void *)field = v;
		return 0;
	case CFG_T_LOG_LEVEL:
		for (int i = 0; i <= CFG_LOG_DEBUG; i++) {
			if (strcasecmp(value, cfg_level_names[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		snprintf(err->msg, sizeof err->msg,
			 "[%s] %s: '%.64s' is not one of error, warning, info, debug", k->section,
			 k->name, value);
		return -1;
	case CFG_T_TIME: {
		const char *p = value;
		int secs;
		if (cfg_parse_hhmm(&p, &secs) != 0 || *p != '\0') {
			snprintf(err->msg, sizeof err->msg, "[%s] %s: '%.64s' is not a time HH:MM",
				 k->section, k->name, value);
			return -1;
		}
		*(int *)(void *)field = secs;
		return 0;
	}
	case CFG_T_WINDOWS:
		return cfg_parse_windows(k, value, (struct cfg_windows *)(void *)field, err);
	case CFG_T_BOOL:
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err->msg, sizeof err->msg, "[%s] %s: '%.64s' is not true or false",
				 k->section, k->name, value);
			return -1;
		}
		*(int *)(void *)field = value[0] == 't';
		return 0;
	case CFG_T_CLOCK:
		for (int i = CFG_CLOCK_SYSTEM; i <= CFG_CLOCK_DRIVEN; i++) {
			if (strcmp(value, cfg_clock_names[i]) == 0) {
				*(int *)(void *)field = i;
				return 0;
			}
		}
		snprintf(err->msg, sizeof err->msg,
			 "[%s] %s: '%.64s' is not one of system, fixed, offset, driven", k->section,
			 k->name, value);
		return -1;
	case CFG_T_INSTANT: {
		int64_t t = CFG_INSTANT_UNSET;
		if (value[0] != '\0' && cfg_parse_instant(value, &t) != 0) {
			snprintf(err->msg, sizeof err->msg,
				 "[%s] %s: '%.64s' is not an RFC 3339 time like "
				 "2026-12-01T10:59:00+08:00",
				 k->section, k->name, value);
			return -1;
		}
		memcpy(field, &t, sizeof t);
		return 0;
	}
	case CFG_T_MONEY: {
		int64_t fen;
		if (cfg_money_parse(value, &fen) != 0) {
			snprintf(err->msg, sizeof err->msg,
				 "[%s] %s: '%.64s' is not an amount like 129.00 (digits, at most "
				 "two decimals)",
				 k->section, k->name, value);
			return -1;
		}
		if (fen < k->min || fen > k->max) {
			char lo[24], hi[24];
			snprintf(err->msg, sizeof err->msg, "[%s] %s: %.64s is out of range %s..%s",
				 k->section, k->name, value, cfg_money_format(k->min, lo),
				 cfg_money_format(k->max, hi));
			return -1;
		}
		memcpy(field, &fen, sizeof fen);
		return 0;
	}
	}
	return -1;
}

int
cfg_set(struct cfg *cfg, const char *section, const char *name, const char *value,
	struct cfg_err *err)
{
	const struct cfg_key *k = cfg_key_find(section, name);
	err->line = 0;
	if (k == NULL) {
		snprintf(err->msg, sizeof err->msg, "unknown key '%.64s' in section [%.64s]", name,
			 section);
		return -1;
	}
	return cfg_apply(cfg, k, value, err);
}

struct cfg *
cfg_new_defaults(void)
{
	struct cfg *cfg = calloc(1, sizeof *cfg);
	size_t n;
	const struct cfg_key *keys = cfg_schema(&n);
	struct cfg_err err;
	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (cfg_apply(cfg, &keys[i], keys[i].default_value, &err) != 0) {
			/* A default outside its own range is a schema bug. */
			free(cfg);
			return NULL;
		}
	}
	return cfg;
}

struct cfg_parse_state {
	struct cfg *cfg;
	struct cfg_err *err;
	bool failed;
	unsigned char seen[128]; /* schema rows already set in this file */
	struct cfg_services_parse services; /* [service.C.T] and [returns.C] sections */
};

/* Finds the section headers as inih will see them (a '[' first on a line that is
 * not a comment and not the indented continuation of a value) and hands each to the
 * after-sales sections' parser, with its line: sections named by their data are
 * created in file order, so a duplicate, a bad name or one too many is refused
 * naming its line, and an empty one still exists. text is NUL-terminated. */
static int
cfg_scan_sections(const char *text, struct cfg_parse_state *st)
{
	const char *p = text;
	bool after_key = false;
	for (int line = 1; *p != '\0'; line++) {
		const char *eol = strchr(p, '\n');
		const char *next = eol != NULL ? eol + 1 : p + strlen(p);
		const char *end = eol != NULL ? eol : next;
		const char *s = p;
		if (line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3;
		while (s < end && isspace((unsigned char)*s))
			s++;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		if (s == end || *s == ';' || *s == '#' || (after_key && s > p)) {
			/* blank, comment or continuation line */
		} else if (*s == '[') {
			const char *close = memchr(s, ']', (size_t)(end - s));
			char name[CFG_LINE_MAX + 1];
			after_key = false;
			if (close != NULL) {
				memcpy(name, s + 1, (size_t)(close - s - 1));
				name[close - s - 1] = '\0';
				if (cfg_services_parse_section(&st->services, st->cfg, name, line,
							       st->err) != 0)
					return -1;
			}
		} else {
			after_key = memchr(s, '=', (size_t)(end - s)) != NULL ||
				    memchr(s, ':', (size_t)(end - s)) != NULL;
		}
		p = next;
	}
	return 0;
}

static int
cfg_parse_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse_state *st = user;
	size_t n;
	const struct cfg_key *keys = cfg_schema(&n);
	if (st->failed)
		return 1;
	if (name == NULL) /* a section header alone */
		return 1;
	if (cfg_services_parse_owns(section)) {
		if (cfg_services_parse_key(&st->services, st->cfg, section, name, value,
					   st->err) != 0) {
			st->failed = true;
			return 0;
		}
		return 1;
	}
	const struct cfg_key *k = cfg_key_find(section, name);
	if (k == NULL) {
		snprintf(st->err->msg, sizeof st->err->msg, "unknown key '%.64s' in section [%.64s]",
			 name, section);
		st->failed = true;
		return 0;
	}
	size_t idx = (size_t)(k - keys);
	if (idx < sizeof st->seen && st->seen[idx]) {
		snprintf(st->err->msg, sizeof st->err->msg, "[%s] %s: set twice", k->section,
			 k->name);
		st->failed = true;
		return 0;
	}
	if (idx < sizeof st->seen)
		st->seen[idx] = 1;
	if (cfg_apply(st->cfg, k, value, st->err) != 0) {
		st->failed = true;
		return 0;
	}
	return 1;
}

struct cfg *
cfg_parse(const char *buf, size_t len, struct cfg_err *err)
{
	struct cfg_parse_state st = {0};
	char *text;
	int rc;

	err->line = 0;
	err->msg[0] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err->msg, sizeof err->msg, "file contains a NUL byte");
		return NULL;
	}
	/* inih reads lines into a fixed buffer and would silently split a longer
	 * one into two: refuse it here, naming the line. */
	int lineno = 1;
	size_t linelen = 0;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			lineno++;
			linelen = 0;
		} else if (++linelen > CFG_LINE_MAX) {
			err->line = lineno;
			snprintf(err->msg, sizeof err->msg, "line longer than %d characters",
				 CFG_LINE_MAX);
			return NULL;
		}
	}
	st.cfg = cfg_new_defaults();
	st.err = err;
	text = malloc(len + 1);
	if (st.cfg == NULL || text == NULL) {
		snprintf(err->msg, sizeof err->msg, "out of memory");
		goto fail;
	}
	memcpy(text, buf, len);
	text[len] = '\0';
	if (cfg_scan_sections(text, &st) != 0)
		goto fail;
	rc = ini_parse_string(text, cfg_parse_handler, &st);
	free(text);
	text = NULL;
	if (rc != 0) {
		err->line = rc > 0 ? rc : 0;
		if (!st.failed)
			snprintf(err->msg, sizeof err->msg, "syntax error (expected 'key = value' or "
							    "'[section]')");
		goto fail;
	}
	if (st.cfg->pg_reconnect_min_ms > st.cfg->pg_reconnect_max_ms ||
	    st.cfg->redis_reconnect_min_ms > st.cfg->redis_reconnect_max_ms) {
		snprintf(err->msg, sizeof err->msg,
			 "reconnect_min_ms must not exceed reconnect_max_ms");
		goto fail;
	}
	if ((st.cfg->testing_clock == CFG_CLOCK_FIXED || st.cfg->testing_clock == CFG_CLOCK_DRIVEN) &&
	    st.cfg->testing_clock_at_s == CFG_INSTANT_UNSET) {
		snprintf(err->msg, sizeof err->msg, "[testing] clock = %s needs clock_at",
			 cfg_clock_name(st.cfg->testing_clock));
		goto fail;
	}
	if (cfg_services_parse_finish(&st.services, st.cfg, err) != 0)
		goto fail;
	return st.cfg;
fail:
	free(text);
	cfg_free(st.cfg);
	return NULL;
}

void
cfg_free(struct cfg *cfg)
{
	free(cfg);
}

const struct cfg_key *
cfg_first_fixed_change(const struct cfg *a, const struct cfg *b)
{
	size_t n;
	const struct cfg_key *keys = cfg_schema(&n);
	for (size_t i = 0; i < n; i++) {
		const struct cfg_key *k = &keys[i];
		const char *fa = (const char *)a + k->offset;
		const char *fb = (const char *)b + k->offset;
		if (k->reloadable)
			continue;
		/* Strings may hold stale bytes after their NUL: compare them as strings. */
		bool same = k->type == CFG_T_STRING ? strcmp(fa, fb) == 0
						    : memcmp(fa, fb, cfg_key_size(k)) == 0;
		if (!same)
			return k;
	}
	return NULL;
}
