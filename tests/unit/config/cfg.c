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

/* The after-sales sections of docs/operations.md ("After-sales"), comments included. */
static const char aftersales_conf[] =
	"[services]\n"
	"# appointment windows (local) and visits one engineer takes per window\n"
	"windows = 09:00-13:00/2, 14:00-18:00/3@Mon-Sat\n"
	"horizon_days = 5              ; windows offered\n"
	"change_cutoff_hours = 12\n"
	"late_compensation = 50.05\n"
	"\n"
	"[service.large_appliances.installation]\n"
	"duration_minutes = 90\n"
	"base_fee = 120.00\n"
	"free = true                   ; the base fee is waived\n"
	"extra = pipe_extension, m, 15.00, 10        ; code, unit, price, max quantity\n"
	"extra = work_at_height,visit,0.10,1\n"
	"extra = old_appliance_removal , unit , 0.2 , 1\n"
	"\n"
	"[service.large_appliances.repair]\n"
	"duration_minutes = 60\n"
	"base_fee = 80\n"
	"extra = replacement_part, unit, 300.00, 3\n"
	"\n"
	"[service.large_appliances.cleaning]\n"
	"duration_minutes = 120\n"
	"base_fee = 150.00\n"
	"free = false\n"
	"\n"
	"[returns.large_appliances]\n"
	"defect_window_days = 30\n"
	"quick_refund_max = 0.00\n"
	"\n"
	"[returns]\n"
	"window_days = 10\n"
	"defect_window_days = 20\n"
	"quick_refund_max = 199.99\n"
	"pickup_days_ahead = 4\n"
	"\n"
	"[returns.apparel]\n"
	"window_days = 14\n";

static void
test_aftersales_sections_are_read(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse(aftersales_conf, &err);
	if (cfg == NULL)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_int_equal(cfg->services_windows.n, 2);
	assert_int_equal(cfg->services_windows.w[0].start_s, 9 * 3600);
	assert_int_equal(cfg->services_windows.w[0].end_s, 13 * 3600);
	assert_int_equal(cfg->services_windows.w[0].count, 2);
	assert_int_equal(cfg->services_windows.w[1].count, 3);
	assert_int_equal(cfg->services_windows.w[1].weekdays, 0x3f);
	assert_int_equal(cfg->services_horizon_days, 5);
	assert_int_equal(cfg->services_change_cutoff_h, 12);
	assert_int_equal(cfg->services_late_compensation_fen, 5005);

	assert_int_equal(cfg->n_service_types, 3);
	const struct cfg_service_type *t = &cfg->service_types[0];
	assert_string_equal(t->category, "large_appliances");
	assert_string_equal(t->type, "installation");
	assert_int_equal(t->duration_s, 90 * 60);
	assert_int_equal(t->base_fee_fen, 12000);
	assert_true(t->free);
	assert_int_equal(t->n_extras, 3);
	assert_string_equal(t->extras[0].code, "pipe_extension");
	assert_string_equal(t->extras[0].unit, "m");
	assert_int_equal(t->extras[0].price_fen, 1500);
	assert_int_equal(t->extras[0].max_qty, 10);
	assert_string_equal(t->extras[1].code, "work_at_height");
	assert_string_equal(t->extras[1].unit, "visit");
	assert_string_equal(t->extras[2].code, "old_appliance_removal");
	assert_string_equal(t->extras[2].unit, "unit");
	/* 0.10 + 0.20 is exactly 30 fen: no float on the way. */
	assert_int_equal(t->extras[1].price_fen, 10);
	assert_int_equal(t->extras[2].price_fen, 20);
	assert_int_equal(t->extras[1].price_fen + t->extras[2].price_fen, 30);
	char text[24];
	assert_string_equal(cfg_money_format(t->extras[1].price_fen + t->extras[2].price_fen, text),
			    "0.30");

	t = cfg_service_type_find(cfg, "large_appliances", "repair");
	assert_ptr_equal(t, &cfg->service_types[1]);
	assert_int_equal(t->base_fee_fen, 8000);
	assert_false(t->free);
	assert_int_equal(t->n_extras, 1);
	assert_int_equal(t->extras[0].price_fen, 30000);
	assert_int_equal(t->extras[0].max_qty, 3);
	t = cfg_service_type_find(cfg, "large_appliances", "cleaning");
	assert_non_null(t);
	assert_int_equal(t->duration_s, 7200);
	assert_int_equal(t->n_extras, 0);
	assert_false(t->free);
	assert_null(cfg_service_type_find(cfg, "large_appliances", "painting"));
	assert_null(cfg_service_type_find(cfg, "phones", "installation"));

	/* [returns.C] keys not set come from [returns], even written after it. */
	assert_string_equal(cfg->returns_default.category, "");
	assert_int_equal(cfg->returns_default.window_days, 10);
	assert_int_equal(cfg->returns_default.defect_window_days, 20);
	assert_int_equal(cfg->returns_default.quick_refund_max_fen, 19999);
	assert_int_equal(cfg->returns_pickup_days_ahead, 4);
	assert_int_equal(cfg->n_return_policies, 2);
	const struct cfg_return_policy *p = cfg_return_policy_for(cfg, "large_appliances");
	assert_string_equal(p->category, "large_appliances");
	assert_int_equal(p->window_days, 10);
	assert_int_equal(p->defect_window_days, 30);
	assert_int_equal(p->quick_refund_max_fen, 0);
	p = cfg_return_policy_for(cfg, "apparel");
	assert_int_equal(p->window_days, 14);
	assert_int_equal(p->defect_window_days, 20);
	assert_int_equal(p->quick_refund_max_fen, 19999);
	assert_ptr_equal(cfg_return_policy_for(cfg, "phones"), &cfg->returns_default);
	cfg_free(cfg);
}

static void
test_aftersales_defaults(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse("", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->services_windows.n, 2);
	assert_int_equal(cfg->services_windows.w[0].start_s, 9 * 3600);
	assert_int_equal(cfg->services_windows.w[0].count, 2);
	assert_int_equal(cfg->services_windows.w[1].start_s, 14 * 3600);
	assert_int_equal(cfg->services_windows.w[1].end_s, 18 * 3600);
	assert_int_equal(cfg->services_horizon_days, 7);
	assert_int_equal(cfg->services_change_cutoff_h, 24);
	assert_int_equal(cfg->services_late_compensation_fen, 5000);
	assert_int_equal(cfg->n_service_types, 0);
	assert_int_equal(cfg->returns_default.window_days, 7);
	assert_int_equal(cfg->returns_default.defect_window_days, 15);
	assert_int_equal(cfg->returns_default.quick_refund_max_fen, 20000);
	assert_int_equal(cfg->returns_pickup_days_ahead, 3);
	assert_int_equal(cfg->n_return_policies, 0);
	assert_ptr_equal(cfg_return_policy_for(cfg, "large_appliances"), &cfg->returns_default);
	cfg_free(cfg);
}

#define SVC "[service.large_appliances.installation]\nduration_minutes = 90\nbase_fee = 120.00\n"

static void
test_aftersales_errors_name_key_and_line(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		/* [services] and [returns] keys */
		{"[services]\nlate_compensation = 50.005\n", 2,
		 "[services] late_compensation: '50.005' is not an amount"},
		{"[services]\nlate_compensation = -1.00\n", 2, "[services] late_compensation"},
		{"[services]\nlate_compensation = 50.00 CNY\n", 2, "[services] late_compensation"},
		{"[services]\nlate_compensation = 1000001.00\n", 2,
		 "out of range 0.00..1000000.00"},
		{"[services]\nwindows = 09:00-13:00\n", 2, "[services] windows: window 1"},
		{"[services]\nhorizon_days = 0\n", 2, "[services] horizon_days: 0 is out of range"},
		{"[services]\nchange_cutoff_hours = x\n", 2, "[services] change_cutoff_hours"},
		{"[services]\nfree = true\n", 2, "unknown key 'free' in section [services]"},
		{"[returns]\nquick_refund_max = 1e3\n", 2, "[returns] quick_refund_max"},
		{"[returns]\nwindow_days = 20\n", 1,
		 "[returns] defect_window_days: 15 is shorter than window_days 20"},
		{"[server]\n\n[returns]\ndefect_window_days = 3\n", 3,
		 "[returns] defect_window_days: 3 is shorter than window_days 7"},
		{"[returns]\npickup_days_ahead = 32\n", 2, "[returns] pickup_days_ahead"},
		/* [service.C.T] */
		{SVC "extra = pipe_extension, m, 15.00\n", 4,
		 "[service.large_appliances.installation] extra: 'pipe_extension, m, 15.00' is not "
		 "'code, unit, price, max_qty'"},
		{SVC "extra = a, m, 1.00, 1, 2\n", 4, "installation] extra: "},
		{SVC "extra = Pipe, m, 15.00, 1\n", 4, "installation] extra: the code 'Pipe'"},
		{SVC "extra = , m, 15.00, 1\n", 4, "installation] extra: the code ''"},
		{SVC "extra = pipe, m, 15.001, 1\n", 4, "installation] extra: the price '15.001'"},
		{SVC "extra = pipe, m, 15.00, 0\n", 4, "installation] extra: the max_qty '0'"},
		{SVC "extra = pipe, m, 15.00, 1x\n", 4, "installation] extra: the max_qty '1x'"},
		{SVC "extra = pipe, metre long, 15.00, 1\n", 4, "extra: the unit 'metre long'"},
		{SVC "extra = pipe, m, 15.00, 1\nextra = pipe, m, 16.00, 2\n", 5,
		 "installation] extra: the code 'pipe' is listed twice"},
		{SVC "duration_minutes = 60\n", 4, "installation] duration_minutes: set twice"},
		{"[service.a.b]\nduration_minutes = 0\nbase_fee = 1\n", 2,
		 "[service.a.b] duration_minutes: 0 is out of range 1..1440"},
		{"[service.a.b]\nduration_minutes = 10\nbase_fee = 1.234\n", 3,
		 "[service.a.b] base_fee: '1.234' is not an amount"},
		{"[service.a.b]\nduration_minutes = 10\nbase_fee = 1\nfree = yes\n", 4,
		 "[service.a.b] free: 'yes' is not true or false"},
		{"[service.a.b]\nduration_minutes = 10\nbase_fee = 1\nprice = 3\n", 4,
		 "unknown key 'price' in section [service.a.b]"},
		{"\n[service.a.b]\nbase_fee = 1\n", 2,
		 "[service.a.b] duration_minutes: missing"},
		{"[service.a.b]\nduration_minutes = 5\n", 1, "[service.a.b] base_fee: missing"},
		{"[service.a.b]\n", 1, "[service.a.b] duration_minutes: missing"},
		{"[service.a.b]\nduration_minutes = 5\nbase_fee = 1\n[x]\n[service.a.b]\n", 5,
		 "[service.a.b]: duplicate section (first at line 1)"},
		{"[service.a]\n", 1, "[service.a]: expected [service.CATEGORY.TYPE]"},
		{"[service.A.b]\n", 1, "the category 'A' is not [a-z0-9_]{1,63}"},
		{"[service..b]\n", 1, "the category '' is not"},
		{"[service.a.b.c]\n", 1, "the service type 'b.c' is not"},
		{"[service.a.]\n", 1, "the service type '' is not"},
		{"[service.a."
		 "b123456789012345678901234567890123456789012345678901234567890123]\n", 1,
		 "the service type 'b1234"},
		{"[service.categoryname_long.type_one_that_is_long_xxxx_1]\nduration_minutes = 5\n"
		 "base_fee = 1\n[service.categoryname_long.type_one_that_is_long_xxxx_2]\n", 4,
		 "names must differ within them"},
		/* [returns.C] */
		{"[returns.large_appliances]\nwindow_days = 40\n", 1,
		 "[returns.large_appliances] defect_window_days: 15 is shorter than "
		 "window_days 40"},
		{"[returns.large_appliances]\nwindow_days = 400\n", 2,
		 "[returns.large_appliances] window_days: 400 is out of range 0..365"},
		{"[returns.large_appliances]\nquick_refund_max = 0.001\n", 2,
		 "[returns.large_appliances] quick_refund_max: '0.001'"},
		{"[returns.large_appliances]\npickup_days_ahead = 3\n", 2,
		 "unknown key 'pickup_days_ahead' in section [returns.large_appliances]"},
		{"[returns.a]\nwindow_days = 1\nwindow_days = 2\n", 3,
		 "[returns.a] window_days: set twice"},
		{"[returns.a]\n\n[returns.a]\n", 3,
		 "[returns.a]: duplicate section (first at line 1)"},
		{"[returns.Big]\n", 1, "[returns.Big]: the category 'Big' is not"},
		{"[returns.]\n", 1, "the category '' is not"},
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

/* A buffer of n [service.c.tNN] or [returns.cNN] sections. */
static char *
many_sections(int n, bool service)
{
	size_t size = (size_t)n * 80 + 1;
	char *text = malloc(size), *p = text;
	for (int i = 0; i < n; i++) {
		if (service)
			p += sprintf(p, "[service.c.t%d]\nduration_minutes = 5\nbase_fee = 1\n", i);
		else
			p += sprintf(p, "[returns.c%d]\nwindow_days = 1\n", i);
	}
	*p = '\0';
	assert_true((size_t)(p - text) < size);
	return text;
}

static void
test_aftersales_limits(void **state)
{
	(void)state;
	struct cfg_err err;
	char *text = many_sections(CFG_MAX_SERVICE_TYPES, true);
	struct cfg *cfg = parse(text, &err);
	if (cfg == NULL)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_int_equal(cfg->n_service_types, CFG_MAX_SERVICE_TYPES);
	cfg_free(cfg);
	free(text);
	text = many_sections(CFG_MAX_SERVICE_TYPES + 1, true);
	assert_null(parse(text, &err));
	assert_int_equal(err.line, CFG_MAX_SERVICE_TYPES * 3 + 1);
	assert_non_null(strstr(err.msg, "more than 32 [service.CATEGORY.TYPE] sections"));
	free(text);

	text = many_sections(CFG_MAX_RETURN_POLICIES, false);
	cfg = parse(text, &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_return_policies, CFG_MAX_RETURN_POLICIES);
	cfg_free(cfg);
	free(text);
	text = many_sections(CFG_MAX_RETURN_POLICIES + 1, false);
	assert_null(parse(text, &err));
	assert_int_equal(err.line, CFG_MAX_RETURN_POLICIES * 2 + 1);
	assert_non_null(strstr(err.msg, "more than 16 [returns.CATEGORY] sections"));
	free(text);

	char buf[2048] = SVC;
	for (int i = 0; i < CFG_MAX_SERVICE_EXTRAS; i++)
		sprintf(buf + strlen(buf), "extra = e%d, unit, 1.00, 1\n", i);
	cfg = parse(buf, &err);
	if (cfg == NULL)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_int_equal(cfg->service_types[0].n_extras, CFG_MAX_SERVICE_EXTRAS);
	cfg_free(cfg);
	strcat(buf, "extra = one_more, unit, 1.00, 1\n");
	assert_null(parse(buf, &err));
	assert_int_equal(err.line, 4 + CFG_MAX_SERVICE_EXTRAS);
	assert_non_null(strstr(err.msg, "installation] extra: more than 12 extras"));

	/* Names of 63 characters are whole, though inih keeps 49 of a section's name. */
	const char *longcat = "c23456789012345678901234567890123456789012345678901234567890123";
	snprintf(buf, sizeof buf,
		 "[service.%s.t1]\nduration_minutes = 5\nbase_fee = 1\n"
		 "[service.%s.t2]\nduration_minutes = 6\nbase_fee = 2\n[returns.%s]\n"
		 "window_days = 3\n",
		 longcat, longcat, longcat);
	cfg = parse(buf, &err);
	assert_null(cfg);
	assert_int_equal(err.line, 4);
	snprintf(buf, sizeof buf,
		 "[service.%s.t1]\nduration_minutes = 5\nbase_fee = 1\n[returns.%s]\n"
		 "window_days = 3\n",
		 longcat, longcat);
	cfg = parse(buf, &err);
	if (cfg == NULL)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_non_null(cfg_service_type_find(cfg, longcat, "t1"));
	assert_int_equal(cfg_service_type_find(cfg, longcat, "t1")->duration_s, 300);
	assert_int_equal(cfg_return_policy_for(cfg, longcat)->window_days, 3);
	cfg_free(cfg);
}

/* Price lists and return policies change on reload: no after-sales key is fixed. */
static void
test_aftersales_reloadable(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *a = parse("", &err);
	struct cfg *b = parse(aftersales_conf, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(cfg_first_fixed_change(a, b));
	cfg_free(a);
	cfg_free(b);
}

/* [pickup] (issue 13 part C2): defaults, values, and a boolean that is only
 * true or false. */
static void
test_pickup_section(void **state)
{
	(void)state;
	struct cfg_err err;
	struct cfg *cfg = parse("", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->pickup_hold_days, 3);
	assert_int_equal(cfg->pickup_return_to_warehouse, 1);
	assert_int_equal(cfg->pickup_expiry_interval_ms, 60000);
	cfg_free(cfg);
	cfg = parse("[pickup]\nhold_days = 5\nreturn_to_warehouse = false\n"
		    "expiry_interval_ms = 0\n",
		    &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->pickup_hold_days, 5);
	assert_int_equal(cfg->pickup_return_to_warehouse, 0);
	assert_int_equal(cfg->pickup_expiry_interval_ms, 0);
	cfg_free(cfg);
	static const struct bad_case cases[] = {
		{"[pickup]\nreturn_to_warehouse = yes\n", 2, "not true or false"},
		{"[pickup]\nreturn_to_warehouse = TRUE\n", 2, "not true or false"},
		{"[pickup]\nreturn_to_warehouse =\n", 2, "not true or false"},
		{"[pickup]\nhold_days = 0\n", 2, "out of range"},
		{"[pickup]\nhold_days = 61\n", 2, "out of range"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct cfg *bad = parse(cases[i].text, &err);
		if (bad != NULL)
			fail_msg("case %zu parsed but should not: %s", i, cases[i].text);
		if (err.line != cases[i].line || strstr(err.msg, cases[i].needle) == NULL)
			fail_msg("case %zu: got line %d '%s', want line %d containing '%s'", i,
				 err.line, err.msg, cases[i].line, cases[i].needle);
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

	cfg = parse("[testing]\nclock = driven\nclock_at = 2026-12-01T10:59:00+08:00\n", &err);
	assert_non_null(cfg);
	assert_int_equal(cfg->testing_clock, CFG_CLOCK_DRIVEN);
	assert_string_equal(cfg_clock_name(cfg->testing_clock), "driven");
	assert_true(cfg->testing_clock_at_s == 1796093940);
	cfg_free(cfg);

	static const char *const bad[] = {
		"[testing]\nclock = fake\n",
		"[testing]\nclock = fixed\n", /* needs clock_at */
		"[testing]\nclock = driven\n", /* needs clock_at */
		"[testing]\nclock = scaled\n",
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
		cmocka_unit_test(test_aftersales_sections_are_read),
		cmocka_unit_test(test_aftersales_defaults),
		cmocka_unit_test(test_aftersales_errors_name_key_and_line),
		cmocka_unit_test(test_aftersales_limits),
		cmocka_unit_test(test_aftersales_reloadable),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_long_string_is_refused),
		cmocka_unit_test(test_fixed_key_changes_are_found),
		cmocka_unit_test(test_set_applies_one_key),
		cmocka_unit_test(test_test_clock),
		cmocka_unit_test(test_pickup_section),
		cmocka_unit_test(test_example_config_parses),
		cmocka_unit_test(test_every_key_is_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
