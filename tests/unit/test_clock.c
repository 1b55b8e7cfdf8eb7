/* test_clock.c: UTC times written and read in the one form the service
 * stores, and the test clock of a build with test hooks. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "status.h"

static void test_clock_iso_round_trip(void **state)
{
	char out[CLOCK_ISO_LEN + 1];
	time_t t;

	(void)state;
	clock_format_iso(1767225599, out);
	assert_string_equal(out, "2025-12-31T23:59:59Z");
	assert_int_equal(clock_parse_iso(out, &t), GK_OK);
	assert_int_equal((long long)t, 1767225599LL);
	assert_int_equal(clock_parse_iso("2028-02-29T00:00:00Z", &t), GK_OK);
}

static void test_clock_parse_refuses_other_forms(void **state)
{
	static const char *const bad[] = {
		"2026-02-30T00:00:00Z", /* normalised to March by timegm */
		"2026-13-01T00:00:00Z",
		"2026-11-28T24:00:00Z",
		"2026-11-28 22:41:02Z",
		"2026-11-28T22:41:02",
		"2026-11-28T22:41:02+00:00",
		"2026-11-28T22:41:0xZ",
		"",
		"1767225600",
	};
	time_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(clock_parse_iso(bad[i], &t), GK_ERR);
}

static void test_clock_test_now(void **state)
{
	char path[] = "/tmp/gk-clock-XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	setenv("GOFANNON_TEST_NOW", "2025-12-31T23:59:59Z", 1);
	if (!clock_test_hooks()) {
		/* a release build never reads it */
		assert_true(clock_now() > 1767225599);
		unsetenv("GOFANNON_TEST_NOW");
		return;
	}
	assert_int_equal((long long)clock_now(), 1767225599LL);
	assert_int_equal(clock_now_ms(), 1767225599000LL);
	setenv("GOFANNON_TEST_NOW", "1767225600", 1);
	assert_int_equal((long long)clock_now(), 1767225600LL);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("2027-01-15T00:00:00Z\n", f);
	fclose(f);
	setenv("GOFANNON_TEST_NOW", path, 1);
	assert_int_equal((long long)clock_now(), 1799971200LL);
	unlink(path);
	/* an unreadable file is the real clock */
	assert_true(clock_now() - time(NULL) <= 5 && time(NULL) - clock_now() <= 5);
	unsetenv("GOFANNON_TEST_NOW");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_iso_round_trip),
		cmocka_unit_test(test_clock_parse_refuses_other_forms),
		cmocka_unit_test(test_clock_test_now),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
