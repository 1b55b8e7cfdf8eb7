/* test_usage.c: the pure parts of the usage counters: the UTC month a
 * request is counted in (it names the hash), what one request adds to
 * which counter, and the JSON the counters are read back as. */
#include "unit.h"

#include <string.h>

#include "arena.h"
#include "jsonw.h"

#include "status.h"
#include "usage.h"

static void month_is(time_t t, const char *want)
{
	char month[USAGE_MONTH_LEN + 1];

	memset(month, 'x', sizeof(month));
	usage_month(t, month);
	assert_string_equal(month, want);
}

/* UTC, not local time; zero-padded; the last second of a month still in it. */
static void test_month_of_a_time(void **state)
{
	(void)state;
	/* a local time ten hours ahead of UTC (a POSIX TZ string, no tzdata
	 * needed): a month taken in local time would be wrong below */
	setenv("TZ", "XXX-10", 1);
	tzset();
	month_is(0, "1970-01");
	month_is(1796083199, "2026-11"); /* 2026-11-30T23:59:59Z */
	month_is(1796083200, "2026-12"); /* 2026-12-01T00:00:00Z */
	month_is(1798761599, "2026-12"); /* 2026-12-31T23:59:59Z */
	month_is(1798761600, "2027-01"); /* 2027-01-01T00:00:00Z */
}

/* One request, and each token count on its own counter, not swapped. */
static void test_amounts_of_one_request(void **state)
{
	struct chat_usage u = { .input_tokens = 30, .output_tokens = 12 };
	long long a[KEYSTORE_COUNTERS] = { -1, -1, -1 };

	(void)state;
	usage_amounts(&u, a);
	assert_int_equal(a[KEYSTORE_REQUESTS], 1);
	assert_int_equal(a[KEYSTORE_INPUT_TOKENS], 30);
	assert_int_equal(a[KEYSTORE_OUTPUT_TOKENS], 12);
}

/* Every provider of the registry, in its order, each counter under its
 * own name, zeros included. */
static void test_json_of_the_counters(void **state)
{
	struct provider providers[] = { { .id = "openai" }, { .id = "anthropic" }, { .id = "gemini" } };
	struct registry reg = { .providers = providers, .count = ARRAY_SIZE(providers) };
	struct keystore_usage counts[3] = {
		{ { 3, 30, 12 }, { { 1, 10, 2 }, { 2, 20, 10 } } },
		{ { 0, 0, 0 }, { { 0, 0, 0 }, { 0, 0, 0 } } },
		{ { 1, 5, 9000000000LL }, { { 0, 0, 0 }, { 1, 5, 9000000000LL } } },
	};
	struct arena arena;
	struct jsonw w;
	const char *text;
	size_t len;

	(void)state;
	arena_init(&arena, 4096);
	jsonw_init(&w, &arena, 4096);
	usage_month_json(&w, "2026-11", &reg, counts);
	text = jsonw_finish(&w, &len);
	assert_non_null(text);
	assert_string_equal(
		text,
		"{\"month\":\"2026-11\",\"providers\":{"
		"\"openai\":{\"requests\":3,\"inputTokens\":30,\"outputTokens\":12,\"bySource\":{"
		"\"user\":{\"requests\":1,\"inputTokens\":10,\"outputTokens\":2},"
		"\"system\":{\"requests\":2,\"inputTokens\":20,\"outputTokens\":10}}},"
		"\"anthropic\":{\"requests\":0,\"inputTokens\":0,\"outputTokens\":0,\"bySource\":{"
		"\"user\":{\"requests\":0,\"inputTokens\":0,\"outputTokens\":0},"
		"\"system\":{\"requests\":0,\"inputTokens\":0,\"outputTokens\":0}}},"
		"\"gemini\":{\"requests\":1,\"inputTokens\":5,\"outputTokens\":9000000000,\"bySource\":{"
		"\"user\":{\"requests\":0,\"inputTokens\":0,\"outputTokens\":0},"
		"\"system\":{\"requests\":1,\"inputTokens\":5,\"outputTokens\":9000000000}}}}}");
	assert_int_equal(len, strlen(text));
	arena_release(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_month_of_a_time),
		cmocka_unit_test(test_amounts_of_one_request),
		cmocka_unit_test(test_json_of_the_counters),
	};

	return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
