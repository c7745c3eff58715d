/* Unit tests of daemon/base/pickup_code.c: codes are 8 digits and spread
 * over the whole range, the keyed hash depends on the key and the code, a
 * box opens to its code under its key only, and a tampered or short box
 * is refused. No database, no daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/base/pickup_code.h"

static const unsigned char key_a[DM_TOKEN_KEY_BYTES] = {1, 2, 3};
static const unsigned char key_b[DM_TOKEN_KEY_BYTES] = {1, 2, 4};

static void
test_codes_are_eight_digits_over_the_range(void **state)
{
	(void)state;
	char code[DM_PICKUP_CODE_DIGITS + 1];
	unsigned char hash[DM_PICKUP_CODE_HASH_BYTES], box[DM_PICKUP_CODE_BOX_BYTES];
	int first[10] = {0};
	for (int i = 0; i < 2000; i++) {
		dm_pickup_code_new(key_a, code, hash, box);
		assert_true(dm_pickup_code_valid(code));
		first[code[0] - '0']++;
	}
	for (int d = 0; d < 10; d++) /* 200 expected each: far from 0 or 2000 */
		assert_in_range(first[d], 100, 320);
	static const char *bad[] = {"1234567", "123456789", "1234567a", "", " 1234567", NULL};
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_false(dm_pickup_code_valid(bad[i]));
	assert_false(dm_pickup_code_valid(NULL));
	assert_true(dm_pickup_code_valid("00000000"));
}

static void
test_hash_is_keyed(void **state)
{
	(void)state;
	unsigned char a1[DM_PICKUP_CODE_HASH_BYTES], a2[DM_PICKUP_CODE_HASH_BYTES];
	unsigned char b[DM_PICKUP_CODE_HASH_BYTES], other[DM_PICKUP_CODE_HASH_BYTES];
	dm_pickup_code_hash(key_a, "04291735", a1);
	dm_pickup_code_hash(key_a, "04291735", a2);
	dm_pickup_code_hash(key_b, "04291735", b);
	dm_pickup_code_hash(key_a, "04291736", other);
	assert_memory_equal(a1, a2, sizeof a1);
	assert_memory_not_equal(a1, b, sizeof a1);
	assert_memory_not_equal(a1, other, sizeof a1);
}

static void
test_key_id_names_the_key(void **state)
{
	(void)state;
	unsigned char a1[DM_PICKUP_CODE_KEY_ID_BYTES], a2[DM_PICKUP_CODE_KEY_ID_BYTES];
	unsigned char b[DM_PICKUP_CODE_KEY_ID_BYTES];
	dm_pickup_code_key_id(key_a, a1);
	dm_pickup_code_key_id(key_a, a2);
	dm_pickup_code_key_id(key_b, b);
	assert_memory_equal(a1, a2, sizeof a1);
	assert_memory_not_equal(a1, b, sizeof a1);
	assert_memory_not_equal(a1, key_a, sizeof a1); /* not the key's own bytes */
}

static void
test_box_opens_under_its_key_only(void **state)
{
	(void)state;
	char code[DM_PICKUP_CODE_DIGITS + 1], back[DM_PICKUP_CODE_DIGITS + 1];
	unsigned char hash[DM_PICKUP_CODE_HASH_BYTES], again[DM_PICKUP_CODE_HASH_BYTES];
	unsigned char box[DM_PICKUP_CODE_BOX_BYTES];
	dm_pickup_code_new(key_a, code, hash, box);
	dm_pickup_code_hash(key_a, code, again);
	assert_memory_equal(hash, again, sizeof hash); /* the box's code is the hash's */
	assert_int_equal(dm_pickup_code_open(key_a, box, sizeof box, back), 0);
	assert_string_equal(back, code);
	assert_int_equal(dm_pickup_code_open(key_b, box, sizeof box, back), -1);
	assert_int_equal(dm_pickup_code_open(key_a, box, sizeof box - 1, back), -1);
	assert_int_equal(dm_pickup_code_open(key_a, NULL, sizeof box, back), -1);
	box[sizeof box - 1] ^= 1;
	assert_int_equal(dm_pickup_code_open(key_a, box, sizeof box, back), -1);
	assert_string_equal(back, ""); /* nothing half-opened is left */
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
		cmocka_unit_test(test_codes_are_eight_digits_over_the_range),
		cmocka_unit_test(test_hash_is_keyed),
		cmocka_unit_test(test_key_id_names_the_key),
		cmocka_unit_test(test_box_opens_under_its_key_only),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
