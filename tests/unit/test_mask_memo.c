/* test_mask_memo.c: the masks remembered per sealed value (mask_memo.h). */
#include "unit.h"

#include "mask_memo.h"

#define SEALED_A "v1.cur.AAAAsealed-for-alice-openai"
#define SEALED_B "v1.cur.BBBBsealed-for-alice-openai"

static void keep(const char *user, const char *provider, const char *sealed, const char *mask)
{
	mask_memo_keep(user, provider, sealed, strlen(sealed), mask);
}

static const char *find(const char *user, const char *provider, const char *sealed, char *mask)
{
	return mask_memo_find(user, provider, sealed, strlen(sealed), mask);
}

/* A mask is found by exactly the user, provider and sealed text it was kept
 * under: any other one of the three misses. */
static void test_found_by_all_three(void **state)
{
	char mask[MASK_MAX + 1];

	(void)state;
	mask_memo_clear();
	keep("alice", "openai", SEALED_A, "sk-...abcd");
	assert_string_equal(find("alice", "openai", SEALED_A, mask), "sk-...abcd");
	assert_null(find("bob", "openai", SEALED_A, mask));
	assert_null(find("alice", "openrouter", SEALED_A, mask));
	assert_null(find("alice", "openai", SEALED_B, mask));
	/* the parts' boundaries count: "alic"+"eopenai" is not "alice"+"openai" */
	assert_null(find("alic", "eopenai", SEALED_A, mask));
	/* a prefix of the sealed text is another value */
	assert_null(mask_memo_find("alice", "openai", SEALED_A, strlen(SEALED_A) - 1, mask));
	assert_int_equal(mask_memo_count(), 1);
	mask_memo_clear();
}

/* A key saved again is a new sealed value: the old one's mask never
 * answers for it, and both are remembered until a clear. */
static void test_a_new_value_is_a_new_entry(void **state)
{
	char mask[MASK_MAX + 1];

	(void)state;
	mask_memo_clear();
	keep("alice", "openai", SEALED_A, "sk-...abcd");
	keep("alice", "openai", SEALED_B, "sk-...wxyz");
	assert_string_equal(find("alice", "openai", SEALED_B, mask), "sk-...wxyz");
	assert_string_equal(find("alice", "openai", SEALED_A, mask), "sk-...abcd");
	mask_memo_clear();
	assert_null(find("alice", "openai", SEALED_A, mask));
	assert_int_equal(mask_memo_count(), 0);
}

/* The i-th user of test_bounded and the mask kept for it. */
static void numbered(int i, char user[32], char mask[MASK_MAX + 1])
{
	snprintf(user, 32, "user-%d", i);
	snprintf(mask, MASK_MAX + 1, "m-%d", i);
}

/* The table holds MASK_MEMO_SLOTS entries at most: keeping many more
 * replaces, never grows, and every mask found is the one kept for it. */
static void test_bounded(void **state)
{
	char user[32], mask[MASK_MAX + 1], want[MASK_MAX + 1];
	size_t found = 0;

	(void)state;
	mask_memo_clear();
	for (int i = 0; i < 4 * MASK_MEMO_SLOTS; i++) {
		numbered(i, user, want);
		keep(user, "openai", SEALED_A, want);
	}
	assert_true(mask_memo_count() <= MASK_MEMO_SLOTS);
	for (int i = 0; i < 4 * MASK_MEMO_SLOTS; i++) {
		numbered(i, user, want);
		if (find(user, "openai", SEALED_A, mask)) {
			assert_string_equal(mask, want);
			found++;
		}
	}
	assert_int_equal(found, mask_memo_count());
	assert_true(found > MASK_MEMO_SLOTS / 2);
	mask_memo_clear();
}

/* Only a mask fits: anything longer than MASK_MAX is not kept. */
static void test_only_a_mask_is_kept(void **state)
{
	char mask[MASK_MAX + 1];

	(void)state;
	mask_memo_clear();
	keep("alice", "openai", SEALED_A, "sk-proj-not-a-mask-at-all");
	assert_null(find("alice", "openai", SEALED_A, mask));
	assert_int_equal(mask_memo_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_by_all_three),
		cmocka_unit_test(test_a_new_value_is_a_new_entry),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_only_a_mask_is_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
