/* The error record shared by rt_geo and rt_vrp (routing/common/err.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "routing/common/err.h"

static void
test_err_set(void **state)
{
	(void)state;
	struct rt_err err = {0};
	assert_int_equal(rt_err_set(&err, RT_E_PARSE, "line %d: %s", 3, "bad"), RT_E_PARSE);
	assert_int_equal(err.code, RT_E_PARSE);
	assert_string_equal(err.msg, "line 3: bad");
	assert_int_equal(rt_err_set(NULL, RT_E_NOMEM, "%s", "ignored"), RT_E_NOMEM);
}

static void
test_err_truncates(void **state)
{
	(void)state;
	struct rt_err err;
	char big[600];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(rt_err_set(&err, RT_E_INVAL, "%s", big), RT_E_INVAL);
	assert_int_equal(strlen(err.msg), sizeof err.msg - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_set),
		cmocka_unit_test(test_err_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
