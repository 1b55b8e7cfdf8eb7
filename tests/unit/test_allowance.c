/* test_allowance.c: the arithmetic of the monthly allowances on the
 * system-wide keys: when a month ends (UTC, across December and February),
 * the Retry-After of a refused call, and used/remaining/spent at the edge. */
#include "unit.h"

#include <stdlib.h>

#include "allowance.h"
#include "clock.h"
#include "status.h"

static time_t at(const char *iso)
{
	time_t t;

	if (clock_parse_iso(iso, &t) != GK_OK)
		fail_msg("bad test time %s", iso);
	return t;
}

static void next_month_is(const char *now, const char *want)
{
	char got[CLOCK_ISO_LEN + 1];

	clock_format_iso(allowance_next_month(at(now)), got);
	if (strcmp(got, want) != 0)
		fail_msg("after %s: %s, expected %s", now, got, want);
}

/* The first second of the next UTC month, whatever the local time zone;
 * December rolls over into January of the next year. */
static void test_next_month(void **state)
{
	(void)state;
	setenv("TZ", "XXX-10", 1); /* ten hours ahead of UTC: local time would be wrong */
	tzset();
	next_month_is("2026-11-28T22:41:02Z", "2026-12-01T00:00:00Z");
	next_month_is("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
	next_month_is("2026-11-30T23:59:59Z", "2026-12-01T00:00:00Z");
	next_month_is("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z");
	next_month_is("2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z");
	next_month_is("2027-01-31T12:00:00Z", "2027-02-01T00:00:00Z");
	next_month_is("2028-02-29T23:59:59Z", "2028-03-01T00:00:00Z");
	next_month_is("1970-01-01T00:00:00Z", "1970-02-01T00:00:00Z");
}

/* Seconds to the next month: 1 in the last second of December, a whole
 * month at its first. */
static void test_retry_after(void **state)
{
	(void)state;
	assert_true(allowance_retry_after(at("2026-12-31T23:59:59Z")) == 1);
	assert_true(allowance_retry_after(at("2026-12-31T23:00:00Z")) == 3600);
	assert_true(allowance_retry_after(at("2026-12-01T00:00:00Z")) == 31LL * 86400);
	assert_true(allowance_retry_after(at("2027-02-01T00:00:00Z")) == 28LL * 86400);
	assert_true(allowance_retry_after(at("2026-11-28T22:41:02Z")) ==
		    at("2026-12-01T00:00:00Z") - at("2026-11-28T22:41:02Z"));
}

/* Reached exactly is spent; one below is not; over is spent with nothing
 * remaining; no allowance is never spent. */
static void test_used_and_remaining(void **state)
{
	time_t now = at("2026-12-15T10:00:00Z");
	struct allowance a;

	(void)state;
	allowance_compute(1000, 999, now, &a);
	assert_true(a.allowance == 1000 && a.used == 999 && a.remaining == 1 && !a.spent);
	assert_true(a.resets_at == at("2027-01-01T00:00:00Z"));
	allowance_compute(1000, 1000, now, &a);
	assert_true(a.remaining == 0 && a.spent);
	allowance_compute(1000, 1013, now, &a);
	assert_true(a.used == 1013 && a.remaining == 0 && a.spent);
	allowance_compute(1000, 0, now, &a);
	assert_true(a.remaining == 1000 && !a.spent);
	allowance_compute(0, 5000, now, &a);
	assert_true(a.allowance == 0 && !a.spent && a.remaining == 0 && a.resets_at == 0);
	allowance_compute(REGISTRY_ALLOWANCE_MAX, 9223372036854775807LL, now, &a);
	assert_true(a.spent && a.remaining == 0);
}

/* Without an allowance nothing is read from Redis: a store that was never
 * connected (and cannot connect) still answers. */
static void test_no_allowance_asks_nothing(void **state)
{
	struct provider providers[] = { { .id = "openai" }, { .id = "anthropic" } };
	struct registry reg = { .providers = providers, .count = 2 };
	struct redis_target target;
	struct keystore ks;
	struct allowance a[2];

	(void)state;
	memset(&target, 0, sizeof(target));
	keystore_init(&ks, &target, "gk", 10);
	assert_int_equal(allowance_get(&ks, "alice", &providers[0], at("2026-12-15T10:00:00Z"), &a[0]),
			 GK_OK);
	assert_true(a[0].allowance == 0 && !a[0].spent);
	assert_int_equal(allowance_get_all(&ks, "alice", &reg, at("2026-12-15T10:00:00Z"), a), GK_OK);
	assert_true(a[1].allowance == 0 && !a[1].spent);
	assert_null(ks.ctx);
	keystore_release(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_month),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_used_and_remaining),
		cmocka_unit_test(test_no_allowance_asks_nothing),
	};

	return cmocka_run_group_tests_name("allowance", tests, NULL, NULL);
}
