/* test_activity.c: the activity page's query (limit and cursor) and the
 * small decisions about an entry: which actions change a key, whose key
 * a source names, which client address is kept. */
#include "unit.h"

#include "activity.h"
#include "status.h"

static int page_of(const char *query, struct activity_page *page, char *why)
{
	why[0] = '\0';
	return activity_parse_page(query, page, why, 96);
}

static void test_page_defaults_and_values(void **state)
{
	struct activity_page page;
	char why[96];

	(void)state;
	assert_int_equal(page_of(NULL, &page, why), GK_OK);
	assert_int_equal(page.limit, ACTIVITY_PAGE_DEFAULT);
	assert_string_equal(page.cursor, "");
	assert_int_equal(page_of("", &page, why), GK_OK);
	assert_int_equal(page_of("limit=1", &page, why), GK_OK);
	assert_int_equal(page.limit, 1);
	assert_int_equal(page_of("limit=100&cursor=1795906458596-0", &page, why), GK_OK);
	assert_int_equal(page.limit, 100);
	assert_string_equal(page.cursor, "1795906458596-0");
	assert_int_equal(
		page_of("cursor=18446744073709551615-18446744073709551615&other=x&limit=7", &page, why),
		GK_OK);
	assert_int_equal(page.limit, 7);
	assert_string_equal(page.cursor, "18446744073709551615-18446744073709551615");
	/* the longest cursor and its NUL fit in the page (the NUL once went
	 * one byte past the array) */
	assert_true(strlen(page.cursor) < sizeof(page.cursor));
	/* parameters it does not know are left alone */
	assert_int_equal(page_of("_=123&limits=0", &page, why), GK_OK);
	assert_int_equal(page.limit, ACTIVITY_PAGE_DEFAULT);
}

static void test_page_refused(void **state)
{
	static const char *const limits[] = { "limit=0",  "limit=101", "limit=-1", "limit=",
					      "limit",	  "limit=1x",  "limit=+5", "limit=99999999999",
					      "limit=%31" };
	static const char *const cursors[] = { "cursor=",      "cursor",
					       "cursor=abc",   "cursor=12",
					       "cursor=12-",   "cursor=-3",
					       "cursor=1-2-3", "cursor=18446744073709551616-0",
					       "cursor=1%2D0", "cursor=1-0%00" };
	struct activity_page page;
	char why[96];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++) {
		assert_int_equal(page_of(limits[i], &page, why), GK_ERR);
		assert_string_equal(why, "limit must be a whole number from 1 to 100");
	}
	for (size_t i = 0; i < ARRAY_SIZE(cursors); i++) {
		assert_int_equal(page_of(cursors[i], &page, why), GK_ERR);
		assert_string_equal(why, "cursor must be the cursor of a previous page");
	}
}

static void test_entry_decisions(void **state)
{
	static const char *const changes[] = { "added", "replaced", "removed", "expired", "revoked" };
	char long_addr[ACTIVITY_CLIENT_MAX + 2];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(changes); i++)
		assert_true(activity_changes_key(changes[i]));
	assert_false(activity_changes_key("verified"));
	assert_false(activity_changes_key("rejected"));
	assert_string_equal(activity_source("env"), "system");
	assert_string_equal(activity_source("user"), "user");
	assert_string_equal(activity_source("candidate"), "user");
	assert_string_equal(activity_client("203.0.113.7"), "203.0.113.7");
	assert_string_equal(activity_client("2001:db8::1"), "2001:db8::1");
	assert_string_equal(activity_client(NULL), "");
	memset(long_addr, '1', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	assert_string_equal(activity_client(long_addr), "");
	assert_true(activity_valid_id("0-0", 3));
	assert_false(activity_valid_id("0-0", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_defaults_and_values),
		cmocka_unit_test(test_page_refused),
		cmocka_unit_test(test_entry_decisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
