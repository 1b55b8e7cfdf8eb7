/* test_num.c: the checked number parser takes plain decimal digits in range
 * and nothing else. */
#include "unit.h"

#include "num.h"
#include "status.h"

struct num_case {
	const char *text;
	long long min, max;
	int rc;
	long long want;
};

static const struct num_case num_cases[] = {
	{ "0", 0, 10, GK_OK, 0 },
	{ "10", 0, 10, GK_OK, 10 },
	{ "007", 0, 10, GK_OK, 7 },
	{ "11", 0, 10, GK_ERR, 0 },
	{ "1", 2, 10, GK_ERR, 0 },
	{ "65535", 1, 65535, GK_OK, 65535 },
	{ "65536", 1, 65535, GK_ERR, 0 },
	{ "9223372036854775807", 0, LLONG_MAX, GK_OK, LLONG_MAX },
	{ "9223372036854775808", 0, LLONG_MAX, GK_ERR, 0 },
	{ "18446744073709551616", 0, LLONG_MAX, GK_ERR, 0 }, /* 2^64: would wrap to 0 */
	{ "99999999999999999999999", 0, LLONG_MAX, GK_ERR, 0 },
	{ "-5", -10, 10, GK_OK, -5 },
	{ "-9223372036854775808", LLONG_MIN, 0, GK_OK, LLONG_MIN },
	{ "-9223372036854775809", LLONG_MIN, 0, GK_ERR, 0 },
	{ "-0", -1, 1, GK_OK, 0 },
	{ "-1", 0, 10, GK_ERR, 0 }, /* no sign where none may be */
	{ "-", -10, 10, GK_ERR, 0 },
	{ "", 0, 10, GK_ERR, 0 },
	{ "+1", 0, 10, GK_ERR, 0 },
	{ " 1", 0, 10, GK_ERR, 0 },
	{ "1 ", 0, 10, GK_ERR, 0 },
	{ "1\n", 0, 10, GK_ERR, 0 },
	{ "0x1", 0, 10, GK_ERR, 0 },
	{ "1e1", 0, 100, GK_ERR, 0 },
	{ "1.0", 0, 10, GK_ERR, 0 },
	{ "\xd9\xa1", 0, 10, GK_ERR, 0 }, /* ARABIC-INDIC DIGIT ONE */
};

static void test_num_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(num_cases); i++) {
		const struct num_case *c = &num_cases[i];
		long long out = 777;
		char err[128] = "";
		int rc = num_parse(c->text, c->min, c->max, &out, err, sizeof(err));

		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d", i, c->text, rc, c->rc);
		if (rc == GK_OK && out != c->want)
			fail_msg("case %zu '%s': %lld, want %lld", i, c->text, out, c->want);
		if (rc != GK_OK && out != 777)
			fail_msg("case %zu '%s': out changed on failure", i, c->text);
		if (rc != GK_OK && !strstr(err, "whole number"))
			fail_msg("case %zu '%s': err '%s'", i, c->text, err);
	}
}

/* The message names the range the caller asked for, and NULL text or a
 * NULL err buffer are fine. */
static void test_num_message(void **state)
{
	char err[128];
	long long out;

	(void)state;
	assert_int_equal(num_parse("70000", 1, 65535, &out, err, sizeof(err)), GK_ERR);
	assert_string_equal(err, "must be a whole number from 1 to 65535");
	assert_int_equal(num_parse(NULL, 0, 1, &out, err, sizeof(err)), GK_ERR);
	assert_int_equal(num_parse("x", 0, 1, &out, NULL, 0), GK_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num_table),
		cmocka_unit_test(test_num_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
