/* test_dumpable.c: the process is made non-dumpable unless
 * GOFANNON_ALLOW_CORE_DUMPS=1; any other value than 0 or 1 is refused and
 * still leaves it non-dumpable. */
#include "unit.h"

#include <sys/prctl.h>

#include "dumpable.h"
#include "status.h"

static int dumpable(void)
{
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

/* Starts each case from a dumpable process, as after execve(). */
static int restrict_with(const char *value, char *err, size_t errlen)
{
	assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
	assert_int_equal(dumpable(), 1);
	if (value)
		assert_int_equal(setenv("GOFANNON_ALLOW_CORE_DUMPS", value, 1), 0);
	else
		assert_int_equal(unsetenv("GOFANNON_ALLOW_CORE_DUMPS"), 0);
	err[0] = '\0';
	return dumpable_restrict(err, errlen);
}

static void test_default_and_zero_make_the_process_non_dumpable(void **state)
{
	const char *values[] = { NULL, "", "0" };
	char err[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		assert_int_equal(restrict_with(values[i], err, sizeof(err)), GK_OK);
		assert_int_equal(dumpable(), 0);
		assert_int_equal(dumpable_allowed(), 0);
		assert_string_equal(err, "");
	}
}

static void test_one_leaves_it_dumpable(void **state)
{
	char err[128];

	(void)state;
	assert_int_equal(restrict_with("1", err, sizeof(err)), GK_OK);
	assert_int_equal(dumpable(), 1);
	assert_int_equal(dumpable_allowed(), 1);
}

static void test_other_values_are_refused_and_still_protect(void **state)
{
	const char *values[] = { "yes", "true", "2", " 1", "1 ", "01", "on" };
	char err[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		assert_int_equal(restrict_with(values[i], err, sizeof(err)), GK_ERR);
		assert_int_equal(dumpable(), 0);
		assert_int_equal(dumpable_allowed(), -1);
		assert_non_null(strstr(err, "GOFANNON_ALLOW_CORE_DUMPS"));
	}
	unsetenv("GOFANNON_ALLOW_CORE_DUMPS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_and_zero_make_the_process_non_dumpable),
		cmocka_unit_test(test_one_leaves_it_dumpable),
		cmocka_unit_test(test_other_values_are_refused_and_still_protect),
	};

	return cmocka_run_group_tests_name("dumpable", tests, NULL, NULL);
}
