/* test_mask.c: the display form of a stored key (product spec 4.3). */
#include "unit.h"

#include "mask.h"
#include "secret.h"

struct mask_case {
	const char *key;
	const char *want;
};

static const struct mask_case mask_cases[] = {
	{ "", "****" },
	{ "a", "****" },
	{ "sk-", "****" },
	{ "sk-1234", "****" },
	{ "abcdefghij", "****" },		    /* 10 */
	{ "abcdefghijk", "****" },		    /* 11: the longest key that is hidden */
	{ "abcdefghijkl", "abc...ijkl" },	    /* 12: the shortest key that is masked */
	{ "abcdefghijklm", "abc...jklm" },	    /* 13 */
	{ "sk-proj-abcdef1234wxyz", "sk-...wxyz" }, /* the spec's own example */
	{ "sk-ant-api03-0123456789", "sk-...6789" },
	{ "AIzaSyD-0123456789abcdef", "AIz...cdef" },
};

static void test_mask_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(mask_cases); i++) {
		const struct mask_case *c = &mask_cases[i];
		char out[MASK_MAX + 1];

		memset(out, 'X', sizeof(out));
		mask_key(c->key, strlen(c->key), out);
		if (strcmp(out, c->want) != 0)
			fail_msg("case %zu (%zu chars): got '%s', want '%s'", i, strlen(c->key), out,
				 c->want);
	}
}

/* The length argument is what counts, not a terminating NUL: a key inside a
 * larger buffer is masked from its own last characters. */
static void test_mask_uses_len_not_nul(void **state)
{
	const char buf[] = "abcdefghijklTAIL";
	char out[MASK_MAX + 1];

	(void)state;
	mask_key(buf, 12, out);
	assert_string_equal(out, "abc...ijkl");
	mask_key(buf, 11, out);
	assert_string_equal(out, "****");
}

/* The mask never writes past MASK_MAX + 1 bytes, whatever the key length. */
static void test_mask_stays_in_buffer(void **state)
{
	char *key = unit_repeat('k', API_KEY_MAX);
	size_t lens[] = { 0, 1, 11, 12, 13, 100, API_KEY_MAX };

	(void)state;
	key[0] = 'A';
	key[API_KEY_MAX - 1] = 'Z';
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		unsigned char guard[MASK_MAX + 1 + 16];

		memset(guard, 0xa5, sizeof(guard));
		mask_key(key, lens[i], (char *)guard);
		assert_true(strlen((char *)guard) <= MASK_MAX);
		for (size_t k = MASK_MAX + 1; k < sizeof(guard); k++)
			assert_int_equal(guard[k], 0xa5);
	}
	{
		char out[MASK_MAX + 1];

		mask_key(key, API_KEY_MAX, out);
		assert_string_equal(out, "Akk...kkkZ");
		assert_int_equal(strlen(out), MASK_MAX - 1);
	}
	free(key);
}

/* A masked key reveals at most 7 of its characters; the middle never shows. */
static void test_mask_hides_the_middle(void **state)
{
	const char *key = "sk-SECRETMIDDLEPART-wxyz";
	char out[MASK_MAX + 1];

	(void)state;
	mask_key(key, strlen(key), out);
	assert_null(strstr(out, "SECRET"));
	assert_null(strstr(out, "MIDDLE"));
	assert_int_equal(strlen(out) - 3, 7);
}

/* A mask itself contains "...", which apikey_normalize refuses: a mask
 * pasted back can never be stored as a key. */
static void test_mask_contains_ellipsis(void **state)
{
	char out[MASK_MAX + 1];

	(void)state;
	mask_key("0123456789ab", 12, out);
	assert_non_null(strstr(out, "..."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_table),
		cmocka_unit_test(test_mask_uses_len_not_nul),
		cmocka_unit_test(test_mask_stays_in_buffer),
		cmocka_unit_test(test_mask_hides_the_middle),
		cmocka_unit_test(test_mask_contains_ellipsis),
	};

	return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
