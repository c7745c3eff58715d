/* Unit tests of daemon/base/token.c: role names and prefixes, durations,
 * token text and its shape check, the Bearer header, ids, the keyed hash and
 * scope lists. No database, no daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/token.h"

static void
test_roles_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *name, *prefix;
		enum dm_token_scope_kind scope;
	} rows[] = {
		{"admin", "dsp_admin_", DM_TOKEN_SCOPE_NONE},
		{"order_service", "dsp_ordr_", DM_TOKEN_SCOPE_NONE},
		{"warehouse", "dsp_whse_", DM_TOKEN_SCOPE_MANY},
		{"station", "dsp_stn_", DM_TOKEN_SCOPE_MANY},
		{"courier", "dsp_cour_", DM_TOKEN_SCOPE_ONE},
		{"engineer", "dsp_engr_", DM_TOKEN_SCOPE_ONE},
		{"pickup_point", "dsp_pkp_", DM_TOKEN_SCOPE_ONE},
	};
	assert_int_equal(sizeof rows / sizeof rows[0], DM_TOKEN_ROLE_COUNT);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		enum dm_token_role role;
		assert_int_equal(dm_token_role_parse(rows[i].name, &role), DM_TOKEN_OK);
		assert_string_equal(dm_token_role_name(role), rows[i].name);
		assert_string_equal(dm_token_role_prefix(role), rows[i].prefix);
		assert_int_equal(dm_token_role_scope(role), rows[i].scope);
	}
	static const char *bad[] = {"", "Admin", "admin ", "orders", "public", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum dm_token_role role = DM_TOKEN_ADMIN;
		assert_int_equal(dm_token_role_parse(bad[i], &role), DM_TOKEN_E_ROLE);
	}
	assert_null(dm_token_role_name(DM_TOKEN_ROLE_COUNT));
	assert_null(dm_token_role_prefix((enum dm_token_role)-1));
}

static void
test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int64_t s; /* 0: refused */
	} rows[] = {
		{"30d", 30 * 86400}, {"12h", 12 * 3600}, {"90m", 5400}, {"3600s", 3600},
		{"2w", 14 * 86400}, {"1s", 1}, {"3650d", 3650LL * 86400},
		{"0d", 0}, {"", 0}, {"d", 0}, {"30", 0}, {"30 d", 0}, {"30dd", 0}, {"-1d", 0},
		{"30y", 0}, {"3661d", 0}, {"99999999999999999999s", 0}, {"1.5h", 0}, {" 1h", 0},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int64_t s = -1;
		enum dm_token_status st = dm_token_duration_parse(rows[i].text, &s);
		if (rows[i].s == 0) {
			if (st != DM_TOKEN_E_DURATION)
				fail_msg("'%s' should be refused", rows[i].text);
			assert_int_equal(s, -1);
		} else {
			if (st != DM_TOKEN_OK || s != rows[i].s)
				fail_msg("'%s': status %d, %lld s", rows[i].text, st, (long long)s);
		}
	}
	int64_t s;
	assert_int_equal(dm_token_duration_parse(NULL, &s), DM_TOKEN_E_DURATION);
}

static void
test_format_is_prefix_and_urlsafe_base64(void **state)
{
	(void)state;
	unsigned char secret[DM_TOKEN_SECRET_BYTES];
	char tok[DM_TOKEN_MAX];
	memset(secret, 0xff, sizeof secret); /* all ones: '_' in the URL-safe alphabet */
	assert_int_equal(dm_token_format(DM_TOKEN_COURIER, secret, tok), DM_TOKEN_OK);
	assert_string_equal(tok, "dsp_cour_" "__________________________________________8");
	for (size_t i = 0; i < sizeof secret; i++)
		secret[i] = (unsigned char)(0xfb + i % 2); /* 0xfb 0xfc: '+'/'/' in standard base64 */
	assert_int_equal(dm_token_format(DM_TOKEN_ADMIN, secret, tok), DM_TOKEN_OK);
	assert_int_equal(strlen(tok), strlen("dsp_admin_") + DM_TOKEN_SECRET_CHARS);
	assert_null(strpbrk(tok, "+/="));
	enum dm_token_role role = DM_TOKEN_COURIER;
	assert_int_equal(dm_token_parse(tok, &role), DM_TOKEN_OK);
	assert_int_equal(role, DM_TOKEN_ADMIN);
	assert_int_equal(dm_token_format(DM_TOKEN_ROLE_COUNT, secret, tok), DM_TOKEN_E_ROLE);
}

static void
test_generate_gives_distinct_parsable_tokens(void **state)
{
	(void)state;
	char a[DM_TOKEN_MAX], b[DM_TOKEN_MAX];
	for (int r = 0; r < DM_TOKEN_ROLE_COUNT; r++) {
		enum dm_token_role role = DM_TOKEN_ROLE_COUNT;
		assert_int_equal(dm_token_generate((enum dm_token_role)r, a), DM_TOKEN_OK);
		assert_int_equal(dm_token_generate((enum dm_token_role)r, b), DM_TOKEN_OK);
		assert_string_not_equal(a, b);
		assert_int_equal(dm_token_parse(a, &role), DM_TOKEN_OK);
		assert_int_equal(role, r);
		assert_true(strncmp(a, dm_token_role_prefix((enum dm_token_role)r),
				    strlen(dm_token_role_prefix((enum dm_token_role)r))) == 0);
	}
}

static void
test_parse_refuses_wrong_shapes(void **state)
{
	(void)state;
	char good[DM_TOKEN_MAX], bad[DM_TOKEN_MAX + 8];
	assert_int_equal(dm_token_generate(DM_TOKEN_STATION, good), DM_TOKEN_OK);
	assert_int_equal(dm_token_parse(good, NULL), DM_TOKEN_OK);
	snprintf(bad, sizeof bad, "%sA", good); /* one character too many */
	assert_int_equal(dm_token_parse(bad, NULL), DM_TOKEN_E_FORMAT);
	snprintf(bad, sizeof bad, "%.*s", (int)strlen(good) - 1, good); /* one too few */
	assert_int_equal(dm_token_parse(bad, NULL), DM_TOKEN_E_FORMAT);
	snprintf(bad, sizeof bad, "%s", good);
	bad[strlen(bad) - 3] = '+'; /* standard, not URL-safe, base64 */
	assert_int_equal(dm_token_parse(bad, NULL), DM_TOKEN_E_FORMAT);
	snprintf(bad, sizeof bad, "dsp_xyz_%s", good + strlen("dsp_stn_")); /* unknown prefix */
	assert_int_equal(dm_token_parse(bad, NULL), DM_TOKEN_E_FORMAT);
	assert_int_equal(dm_token_parse("", NULL), DM_TOKEN_E_FORMAT);
	assert_int_equal(dm_token_parse("dsp_admin_", NULL), DM_TOKEN_E_FORMAT);
	assert_int_equal(dm_token_parse(NULL, NULL), DM_TOKEN_E_FORMAT);
}

static void
test_bearer_header(void **state)
{
	(void)state;
	assert_string_equal(dm_token_bearer("Bearer abc"), "abc");
	assert_string_equal(dm_token_bearer("bearer   abc"), "abc");
	assert_string_equal(dm_token_bearer("BEARER abc def"), "abc def");
	assert_null(dm_token_bearer("Bearer"));
	assert_null(dm_token_bearer("Bearer "));
	assert_null(dm_token_bearer("Bearerabc"));
	assert_null(dm_token_bearer("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
	assert_null(dm_token_bearer(""));
	assert_null(dm_token_bearer(NULL));
}

static void
test_ids(void **state)
{
	(void)state;
	char a[DM_TOKEN_ID_MAX], b[DM_TOKEN_ID_MAX];
	dm_token_id_generate(a);
	dm_token_id_generate(b);
	assert_int_equal(strlen(a), 20);
	assert_true(strncmp(a, "tok_", 4) == 0);
	assert_string_not_equal(a, b);
	assert_true(dm_token_id_valid(a));
	assert_true(dm_token_id_valid("tok_0123456789abcdef"));
	assert_false(dm_token_id_valid("tok_0123456789ABCDEF"));
	assert_false(dm_token_id_valid("tok_0123456789abcde"));
	assert_false(dm_token_id_valid("tok_0123456789abcdef0"));
	assert_false(dm_token_id_valid("tik_0123456789abcdef"));
	assert_false(dm_token_id_valid("tok_0123456789abcde'"));
	assert_false(dm_token_id_valid(NULL));
}

static void
test_keyed_hash(void **state)
{
	(void)state;
	unsigned char file[40], key1[DM_TOKEN_KEY_BYTES], key2[DM_TOKEN_KEY_BYTES];
	unsigned char h1[DM_TOKEN_HASH_BYTES], h2[DM_TOKEN_HASH_BYTES], h3[DM_TOKEN_HASH_BYTES];
	memset(file, 'k', sizeof file);
	assert_int_equal(dm_token_key_derive(file, 31, key1), DM_TOKEN_E_KEY);
	assert_int_equal(dm_token_key_derive(NULL, 40, key1), DM_TOKEN_E_KEY);
	assert_int_equal(dm_token_key_derive(file, sizeof file, key1), DM_TOKEN_OK);
	file[39] = 'K';
	assert_int_equal(dm_token_key_derive(file, sizeof file, key2), DM_TOKEN_OK);
	assert_memory_not_equal(key1, key2, sizeof key1);

	const char *tok = "dsp_admin_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	dm_token_hash(key1, tok, h1);
	dm_token_hash(key1, tok, h2);
	assert_true(dm_token_hash_equal(h1, h2));
	dm_token_hash(key2, tok, h3); /* another key: another hash */
	assert_false(dm_token_hash_equal(h1, h3));
	dm_token_hash(key1, "dsp_admin_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", h3);
	assert_false(dm_token_hash_equal(h1, h3));
	/* The stored form is not the token: no 8 bytes of it appear in the hash. */
	assert_null(memmem(h1, sizeof h1, tok + 10, 8));

	char hex[2 * DM_TOKEN_HASH_BYTES + 1];
	dm_token_hash_hex(h1, hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
	assert_int_equal(dm_token_hash_unhex(hex, h3), 0);
	assert_memory_equal(h1, h3, sizeof h1);
	hex[63] = '\0';
	assert_int_equal(dm_token_hash_unhex(hex, h3), -1);
	hex[63] = 'g';
	assert_int_equal(dm_token_hash_unhex(hex, h3), -1);
	assert_int_equal(dm_token_hash_unhex(NULL, h3), -1);
}

static void
test_scope_parse_and_membership(void **state)
{
	(void)state;
	struct dm_token_scope s;
	assert_int_equal(dm_token_scope_parse("WH-SH-01,WH-BJ-02,st:7", ',', &s), DM_TOKEN_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "WH-SH-01");
	assert_string_equal(s.ids[2], "st:7");
	assert_true(dm_token_scope_has(&s, "WH-BJ-02"));
	assert_false(dm_token_scope_has(&s, "WH-BJ-0"));
	assert_false(dm_token_scope_has(&s, "WH-BJ-02,"));
	assert_false(dm_token_scope_has(&s, NULL));
	dm_token_scope_fini(&s);
	assert_int_equal(s.n, 0);
	assert_false(dm_token_scope_has(&s, "WH-SH-01"));

	assert_int_equal(dm_token_scope_parse("", ',', &s), DM_TOKEN_OK);
	assert_int_equal(s.n, 0);
	dm_token_scope_fini(&s);
	assert_int_equal(dm_token_scope_parse("c-042", ',', &s), DM_TOKEN_OK);
	assert_int_equal(s.n, 1);
	assert_true(dm_token_scope_has(&s, "c-042"));
	dm_token_scope_fini(&s);

	static const char *bad[] = {"a,,b", ",a", "a,", "a b", "a;b", "w'1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (dm_token_scope_parse(bad[i], ',', &s) != DM_TOKEN_E_SCOPE)
			fail_msg("scope '%s' should be refused", bad[i]);
		dm_token_scope_fini(&s);
	}
	char many[DM_TOKEN_SCOPE_MAX * 3 + 8] = "";
	for (int i = 0; i <= DM_TOKEN_SCOPE_MAX; i++)
		strcat(many, i ? ",w" : "w");
	assert_int_equal(dm_token_scope_parse(many, ',', &s), DM_TOKEN_E_SCOPE);
	dm_token_scope_fini(&s);
	char long_id[DM_TOKEN_SCOPE_ID_MAX + 1];
	memset(long_id, 'x', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_false(dm_token_scope_id_valid(long_id));
	long_id[DM_TOKEN_SCOPE_ID_MAX - 1] = '\0';
	assert_true(dm_token_scope_id_valid(long_id));
	dm_token_scope_fini(NULL);
}

static void
test_scope_pg_array(void **state)
{
	(void)state;
	char out[DM_TOKEN_SCOPE_ARRAY_MAX];
	const char *ids[] = {"WH-1", "NULL", "a:b/c"};
	assert_int_equal(dm_token_scope_pg_array(ids, 3, out, sizeof out), 0);
	assert_string_equal(out, "{\"WH-1\",\"NULL\",\"a:b/c\"}");
	assert_int_equal(dm_token_scope_pg_array(ids, 0, out, sizeof out), 0);
	assert_string_equal(out, "{}");
	const char *bad[] = {"ok", "x\",\"y"};
	assert_int_equal(dm_token_scope_pg_array(bad, 2, out, sizeof out), -1);
	assert_int_equal(dm_token_scope_pg_array(ids, 3, out, 12), -1); /* too short */
	/* The largest scope fits the documented size. */
	static char big[DM_TOKEN_SCOPE_MAX][DM_TOKEN_SCOPE_ID_MAX];
	const char *bigp[DM_TOKEN_SCOPE_MAX];
	for (int i = 0; i < DM_TOKEN_SCOPE_MAX; i++) {
		memset(big[i], 'w', DM_TOKEN_SCOPE_ID_MAX - 1);
		bigp[i] = big[i];
	}
	assert_int_equal(dm_token_scope_pg_array(bigp, DM_TOKEN_SCOPE_MAX, out, sizeof out), 0);
}

static void
test_scope_counts_per_role(void **state)
{
	(void)state;
	assert_int_equal(dm_token_scope_check(DM_TOKEN_ADMIN, 0), DM_TOKEN_OK);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_ADMIN, 1), DM_TOKEN_E_SCOPE);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_ORDER_SERVICE, 1), DM_TOKEN_E_SCOPE);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_WAREHOUSE, 0), DM_TOKEN_E_SCOPE);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_WAREHOUSE, 3), DM_TOKEN_OK);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_STATION, 1), DM_TOKEN_OK);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_STATION, DM_TOKEN_SCOPE_MAX + 1),
			 DM_TOKEN_E_SCOPE);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_COURIER, 1), DM_TOKEN_OK);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_COURIER, 2), DM_TOKEN_E_SCOPE);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_ENGINEER, 0), DM_TOKEN_E_SCOPE);
	assert_int_equal(dm_token_scope_check(DM_TOKEN_ROLE_COUNT, 0), DM_TOKEN_E_ROLE);
}

static int
setup(void **state)
{
	(void)state;
	return dm_token_init() == DM_TOKEN_OK ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_round_trip),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_format_is_prefix_and_urlsafe_base64),
		cmocka_unit_test(test_generate_gives_distinct_parsable_tokens),
		cmocka_unit_test(test_parse_refuses_wrong_shapes),
		cmocka_unit_test(test_bearer_header),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_keyed_hash),
		cmocka_unit_test(test_scope_parse_and_membership),
		cmocka_unit_test(test_scope_pg_array),
		cmocka_unit_test(test_scope_counts_per_role),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
