/* test_error.c: a loader's message with the file named in front, cut to
 * the caller's buffer. */
#include "unit.h"

#include <string.h>

#include "error.h"
#include "status.h"

static void test_error_prefix_names_the_file(void **state)
{
	char err[64];

	(void)state;
	set_error(err, sizeof(err), "line %d: no '=' in it", 3);
	assert_int_equal(error_prefix(err, sizeof(err), "'%s': ", "/etc/env"), GK_ERR);
	assert_string_equal(err, "'/etc/env': line 3: no '=' in it");
}

static void test_error_prefix_cuts_to_the_buffer(void **state)
{
	char err[16];

	(void)state;
	set_error(err, sizeof(err), "%s", "0123456789abcdef");
	error_prefix(err, sizeof(err), "%s: ", "f");
	assert_string_equal(err, "f: 0123456789ab");
	set_error(err, sizeof(err), "%s", "why");
	error_prefix(err, sizeof(err), "%s: ", "a-path-longer-than-the-buffer");
	assert_string_equal(err, "a-path-longer-t");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_prefix_names_the_file),
		cmocka_unit_test(test_error_prefix_cuts_to_the_buffer),
	};

	return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
