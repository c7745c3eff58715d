/* Unit tests of config/cfg.c: defaults, every error kind naming its line and
 * key, fixed-key detection, and that docs/operations.md documents every key
 * of the schema table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg.h"

static struct cfg *
parse(const char *text, struct cfg_err *err)
{
	return cfg_parse(text, strlen(text), err);
}

static void
test_empty_file_gives_defaults(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse("", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->listen_port, 8080);
	assert_int_equal(cfg->pg_pool_size, 4);
	assert_int_equal(cfg->max_body_bytes, 1048576);
	assert_string_equal(cfg->listen_address, "127.0.0.1");
	assert_int_equal(cfg->log_level, CFG_LOG_INFO);
	cfg_free(cfg);
}

static void
test_values_are_read(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse("; comment\n[server]\nlisten_port = 9000\n[log]\nlevel = DEBUG\n"
				"[postgres]\ndsn = host=db port=5433 dbname=x\n",
				&err);
	assert_non_null(cfg);
	assert_int_equal(cfg->listen_port, 9000);
	assert_int_equal(cfg->log_level, CFG_LOG_DEBUG);
	assert_string_equal(cfg->pg_dsn, "host=db port=5433 dbname=x");
	cfg_free(cfg);
}

struct bad_case {
	const char *text;
	int line;
	const char *needle;
};

static void
test_errors_name_line_and_key(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{"[server]\nlisten_port = 1\nbogus = 2\n", 3, "bogus"},
		{"[nosuch]\nkey = 1\n", 2, "[nosuch]"},
		{"[server]\nlisten_port = 70000\n", 2, "out of range"},
		{"[server]\nlisten_port = 80x\n", 2, "not an integer"},
		{"[server]\nlisten_port =\n", 2, "not an integer"},
		{"[log]\nlevel = chatty\n", 2, "level"},
		{"[server]\nlisten_port = 1\nlisten_port = 2\n", 3, "set twice"},
		{"[server]\nno equals sign here\n", 2, "syntax"},
		{"[postgres]\nreconnect_min_ms = 9000\nreconnect_max_ms = 100\n", 0, "reconnect_min_ms"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cfg_err err;
		struct cfg *cfg = parse(cases[i].text, &err);
		if (cfg != NULL)
			fail_msg("case %zu parsed but should not: %s", i, cases[i].text);
		if (err.line != cases[i].line || strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("case %zu: got line %d '%s', want line %d containing '%s'", i,
				 err.line, err.msg, cases[i].line, cases[i].needle);
	}
}

static void
test_times_and_windows(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse("[promise]\nsame_day_cutoff = 10:30\nslot_last_end = 24:00\n"
				"waves = 08:00-12:00/5@Mon-Fri, 12:00-16:00/3@Sat+Sun,16:00-20:00/2\n",
				&err);
	if (cfg == NULL)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_int_equal(cfg->promise_same_day_cutoff_s, 10 * 3600 + 30 * 60);
	assert_int_equal(cfg->promise_slot_last_end_s, 86400);
	assert_int_equal(cfg->promise_waves.n, 3);
	assert_int_equal(cfg->promise_waves.w[0].start_s, 8 * 3600);
	assert_int_equal(cfg->promise_waves.w[0].end_s, 12 * 3600);
	assert_int_equal(cfg->promise_waves.w[0].count, 5);
	assert_int_equal(cfg->promise_waves.w[0].weekdays, 0x1f);
	assert_int_equal(cfg->promise_waves.w[1].weekdays, 0x60);
	assert_int_equal(cfg->promise_waves.w[2].weekdays, 0x7f);
	/* Defaults are the sample region's. */
	assert_int_equal(cfg->promise_large_windows.n, 2);
	assert_string_equal(cfg->promise_timezone, "Asia/Shanghai");
	cfg_free(cfg);

	static const struct bad_case bad[] = {
		{"[promise]\nsame_day_cutoff = 11\n", 2, "HH:MM"},
		{"[promise]\nsame_day_cutoff = 24:30\n", 2, "HH:MM"},
		{"[promise]\nwaves = 09:00-13:00\n", 2, "window 1"},
		{"[promise]\nwaves = 13:00-09:00/4\n", 2, "ends before it starts"},
		{"[promise]\nwaves = 09:00-13:00/4@Funday\n", 2, "window 1"},
		{"[promise]\nwaves = 09:00-10:00/1,10:00-11:00/0\n", 2, "window 2"},
		{"[promise]\nwaves =\n", 2, "at least 1"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg = parse(bad[i].text, &err);
		if (cfg != NULL)
			fail_msg("case %zu parsed: %s", i, bad[i].text);
		if (err.line != bad[i].line || strstr(err.msg, bad[i].needle) == NULL)
			fail_msg("case %zu: got line %d '%s'", i, err.line, err.msg);
	}
}

static void
test_nul_byte_is_refused(void **state)
{
	(void)state;
	struct cfg_err err;
	static const char text[] = "[server]\nlisten_port = 1\0\n";
	assert_null(cfg_parse(text, sizeof text - 1, &err));
	assert_non_null(strstr(err.msg, "NUL"));
}

static void
test_long_string_is_refused(void **state)
{
	(void)state;
	struct cfg_err err;
	char *text = malloc(CFG_STR_MAX + 64);
	assert_non_null(text);
	int n = snprintf(text, 64, "[postgres]\ndsn = ");
	memset(text + n, 'a', CFG_STR_MAX);
	text[n + CFG_STR_MAX] = '\n';
	text[n + CFG_STR_MAX + 1] = '\0';
	assert_null(parse(text, &err));
	assert_non_null(strstr(err.msg, "longer than"));
	free(text);
}

static void
test_fixed_key_changes_are_found(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *a = parse("[server]\nlisten_port = 1000\n", &err);
	struct cfg *b = parse("[server]\nlisten_port = 1000\nmax_body_bytes = 4096\n", &err);
	struct cfg *c = parse("[server]\nlisten_port = 1001\n", &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_null(cfg_first_fixed_change(a, b)); /* max_body_bytes is reloadable */
	const struct cfg_key *k = cfg_first_fixed_change(a, c);
	assert_non_null(k);
	assert_string_equal(k->name, "listen_port");
	cfg_free(a);
	cfg_free(b);
	cfg_free(c);
}

static void
test_set_applies_one_key(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = cfg_new_defaults();
	assert_non_null(cfg);
	assert_int_equal(cfg_set(cfg, "redis", "password", "s3cret", &err), 0);
	assert_string_equal(cfg->redis_password, "s3cret");
	assert_int_equal(cfg_set(cfg, "redis", "nope", "1", &err), -1);
	assert_non_null(strstr(err.msg, "nope"));
	cfg_free(cfg);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)len + 1);
	if (buf != NULL && fread(buf, 1, (size_t)len, f) == (size_t)len)
		buf[len] = '\0';
	fclose(f);
	return buf;
}

static void
test_test_clock(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse("", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->testing_clock, CFG_CLOCK_SYSTEM);
	assert_true(cfg->testing_clock_at_s == CFG_INSTANT_UNSET);
	assert_int_equal(cfg->testing_clock_offset_s, 0);
	cfg_free(cfg);

	/* 2026-12-01T10:59:00+08:00 = 2026-12-01T02:59:00Z = 1796093940 */
	cfg = parse("[testing]\nclock = fixed\nclock_at = 2026-12-01T10:59:00+08:00\n", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->testing_clock, CFG_CLOCK_FIXED);
	assert_true(cfg->testing_clock_at_s == 1796093940);
	cfg_free(cfg);
	cfg = parse("[testing]\nclock_at = 2026-12-01T02:59:00Z\n", &err);
	assert_true(cfg->testing_clock_at_s == 1796093940);
	cfg_free(cfg);
	cfg = parse("[testing]\nclock_at = 2026-11-30T21:29:00-05:30\n", &err);
	assert_true(cfg->testing_clock_at_s == 1796093940);
	cfg_free(cfg);
	cfg = parse("[testing]\nclock_at = 1970-01-01T00:00:00Z\n", &err);
	assert_true(cfg->testing_clock_at_s == 0);
	cfg_free(cfg);
	cfg = parse("[testing]\nclock_at = 2024-02-29T00:00:00Z\n", &err);
	assert_true(cfg->testing_clock_at_s == 1709164800);
	cfg_free(cfg);

	cfg = parse("[testing]\nclock = offset\nclock_offset_s = -3600\n", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->testing_clock, CFG_CLOCK_OFFSET);
	assert_int_equal(cfg->testing_clock_offset_s, -3600);
	cfg_free(cfg);

	static const char *const bad[] = {
		"[testing]\nclock = fake\n",
		"[testing]\nclock = fixed\n", /* needs clock_at */
		"[testing]\nclock_at = 2026-12-01 10:59:00+08:00\n",
		"[testing]\nclock_at = 2026-12-01T10:59:00\n",
		"[testing]\nclock_at = 2026-12-01T10:59:00+0800\n",
		"[testing]\nclock_at = 2026-12-01T10:59:00.5Z\n",
		"[testing]\nclock_at = 2026-02-29T10:59:00Z\n",
		"[testing]\nclock_at = 2026-12-01T24:00:00Z\n",
		"[testing]\nclock_at = 2026-12-01T10:59:00+24:00\n",
		"[testing]\nclock_at = tomorrow\n",
		"[testing]\nclock_offset_s = 99999999999\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg = parse(bad[i], &err);
		if (cfg != NULL)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(err.msg, "[testing]"));
	}

	/* All three keys are reloadable: a test moves time with SIGHUP. */
	struct cfg *a = parse("", &err);
	struct cfg *b = parse("[testing]\nclock = fixed\nclock_at = 2026-12-01T10:59:00+08:00\n"
			      "clock_offset_s = 5\n",
			      &err);
	assert_null(cfg_first_fixed_change(a, b));
	cfg_free(a);
	cfg_free(b);
}

static void
test_example_config_parses(void **state)
{
	(void)state;
	struct cfg_err err;
	char *text = slurp(DISPATCH_SOURCE_DIR "/config/dispatchd.conf");
	assert_non_null(text);
	struct cfg *cfg = parse(text, &err);
	if (cfg == NULL)
		fail_msg("example config: line %d: %s", err.line, err.msg);
	cfg_free(cfg);
	free(text);
}

static void
test_every_key_is_documented(void **state)
{
	(void)state;
	char *doc = slurp(DISPATCH_SOURCE_DIR "/docs/operations.md");
	assert_non_null(doc);
	size_t n;
	const struct cfg_key *keys = cfg_schema(&n);
	for (size_t i = 0; i < n; i++) {
		/* The reference table has one row per key: | `section.key` | ... */
		char needle[160];
		snprintf(needle, sizeof needle, "| `%s.%s` |", keys[i].section, keys[i].name);
		if (strstr(doc, needle) == NULL)
			fail_msg("docs/operations.md does not document %s", needle);
	}
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_gives_defaults),
		cmocka_unit_test(test_values_are_read),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_times_and_windows),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_long_string_is_refused),
		cmocka_unit_test(test_fixed_key_changes_are_found),
		cmocka_unit_test(test_set_applies_one_key),
		cmocka_unit_test(test_test_clock),
		cmocka_unit_test(test_example_config_parses),
		cmocka_unit_test(test_every_key_is_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
