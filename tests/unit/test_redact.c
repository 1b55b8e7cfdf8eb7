/* test_redact.c: what is left of an API key in text a provider sent. */
#include "unit.h"

#include <ctype.h>

#include "redact.h"
#include "secret.h"

#define KEY "sk-proj-ABCDEFGHIJKLmnopqrstuvwxyz0123"

/* The oracle, written the slow and obvious way: 1 when s holds any run of
 * min(REDACT_RUN, key_len) consecutive characters of key, ignoring case. */
static int naive_holds_run(const char *s, size_t len, const char *key, size_t key_len)
{
	size_t w = key_len < REDACT_RUN ? key_len : REDACT_RUN;

	if (w == 0)
		return 0;
	for (size_t i = 0; i + w <= len; i++)
		for (size_t j = 0; j + w <= key_len; j++)
			if (strncasecmp(s + i, key + j, w) == 0)
				return 1;
	return 0;
}

static const char *redact_str(const char *text, const char *key, char *out, size_t outlen)
{
	size_t n = redact_key(text, strlen(text), key, strlen(key), out, outlen);

	assert_int_equal(n, strlen(out));
	assert_true(n < outlen);
	return out;
}

struct redact_case {
	const char *key;
	const char *text;
	const char *want;
};

static const struct redact_case cases[] = {
	/* the whole key: alone, at the start, at the end, inside, twice */
	{ KEY, KEY, "[redacted]" },
	{ KEY, KEY " is invalid", "[redacted] is invalid" },
	{ KEY, "Invalid key " KEY, "Invalid key [redacted]" },
	{ KEY, "key=" KEY ".", "key=[redacted]." },
	{ KEY, KEY " and " KEY, "[redacted] and [redacted]" },
	/* parts: any 8 consecutive characters, wherever in the key they come from */
	{ KEY, "prefix sk-proj-A...", "prefix [redacted]..." },
	{ KEY, "ends in stuvwxyz0123", "ends in [redacted]" },
	{ KEY, "middle <GHIJKLmn>", "middle <[redacted]>" },
	/* 7 characters are not a run: the OpenAI way of showing a key survives */
	{ KEY, "sk-proj****0123", "sk-proj****0123" },
	{ KEY, "GHIJKLm", "GHIJKLm" },
	/* overlapping and adjacent runs become one mark; separate ones stay apart */
	{ KEY, "ABCDEFGHIJKLmnop", "[redacted]" },
	{ KEY, "ABCDEFGHuvwxyz01", "[redacted]" }, /* two runs, from apart in the key */
	{ KEY, "ABCDEFGH-IJKLmnop", "[redacted]-[redacted]" },
	/* a run followed by characters that continue the key only partly */
	{ KEY, "ABCDEFGHIJKxyz", "[redacted]xyz" },
	/* case is ignored */
	{ KEY, "SK-PROJ-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123", "[redacted]" },
	{ KEY, "abcdefgh", "[redacted]" },
	/* nothing of the key: the text is untouched */
	{ KEY, "The model is overloaded", "The model is overloaded" },
	{ KEY, "", "" },
	/* keys shorter than REDACT_RUN: the whole key, wherever it is */
	{ "abc12", "abc12", "[redacted]" },
	{ "abc12", "x abc12 y ABC12 zabc12abc12", "x [redacted] y [redacted] z[redacted]" },
	{ "abc12", "abc1 bc12 abc", "abc1 bc12 abc" },
	{ "q", "a quiet query", "a [redacted]uiet [redacted]uery" },
	{ "abcdefg", "xxabcdefgxx abcdef", "xx[redacted]xx abcdef" },
	/* exactly REDACT_RUN: the whole key again */
	{ "abcdefgh", "1abcdefgh2 abcdefg", "1[redacted]2 abcdefg" },
	/* no key: nothing to take out */
	{ "", "sk-anything", "sk-anything" },
};

static void test_redact_table(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct redact_case *c = &cases[i];

		redact_str(c->text, c->key, out, sizeof(out));
		if (strcmp(out, c->want) != 0)
			fail_msg("case %zu: '%s' gave '%s', want '%s'", i, c->text, out, c->want);
		if (naive_holds_run(out, strlen(out), c->key, strlen(c->key)))
			fail_msg("case %zu: '%s' still holds a run of the key", i, out);
	}
}

/* Every window of 8 characters of the key, alone and between words, is
 * taken out; every window of 7 is kept. */
static void test_redact_every_window(void **state)
{
	const char *key = KEY;
	size_t key_len = strlen(key);
	char text[64], out[128], want[64];

	(void)state;
	for (size_t w = REDACT_RUN - 1; w <= REDACT_RUN; w++) {
		for (size_t i = 0; i + w <= key_len; i++) {
			snprintf(text, sizeof(text), "a %.*s b", (int)w, key + i);
			redact_str(text, key, out, sizeof(out));
			if (w == REDACT_RUN)
				snprintf(want, sizeof(want), "a [redacted] b");
			else
				snprintf(want, sizeof(want), "%s", text);
			if (strcmp(out, want) != 0)
				fail_msg("window %zu of %zu: '%s' gave '%s', want '%s'", i, w, text, out,
					 want);
		}
	}
}

/* The output is cut to its buffer after a whole byte or a whole mark, and
 * a cut never lets a run through. */
static void test_redact_cut(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(redact_key("abc", 3, KEY, strlen(KEY), out, 1), 0);
	assert_string_equal(out, "");
	redact_str("hello world", KEY, out, 6);
	assert_string_equal(out, "hello");
	/* the mark does not fit: the text stops before it */
	redact_str("key: " KEY, KEY, out, 12);
	assert_string_equal(out, "key: ");
	redact_str("key: " KEY, KEY, out, 16);
	assert_string_equal(out, "key: [redacted]");
	/* an empty key copies and cuts */
	assert_int_equal(redact_key("hello", 5, "", 0, out, 4), 3);
	assert_string_equal(out, "hel");
}

/* The length is what counts: no NUL is needed after the text or the key,
 * and bytes after len are never read as part of either. */
static void test_redact_uses_lengths(void **state)
{
	const char text[] = "id abcdefgh|ijklmnop";
	char out[64];
	size_t n;

	(void)state;
	n = redact_key(text, 11, "abcdefghijklmnop", 8, out, sizeof(out));
	assert_int_equal(n, strlen("id [redacted]"));
	assert_string_equal(out, "id [redacted]");
	/* a NUL inside the text is a byte like any other */
	n = redact_key("a\0abcdefghX", 11, "abcdefgh", 8, out, sizeof(out));
	assert_int_equal(n, 13);
	assert_memory_equal(out, "a\0[redacted]X", 13);
}

/* A key that holds the mark's own letters could make a mark and its
 * neighbours into a run of the key: then nothing is shown at all. */
static void test_redact_key_like_the_mark(void **state)
{
	const char *key = "[redacted]XYZ12345";
	char out[64];

	(void)state;
	redact_str("says [redacted]XYZ12345 here", key, out, sizeof(out));
	assert_string_equal(out, "");
	/* the same key in a text without it: the text is shown as it is */
	redact_str("the model is busy", key, out, sizeof(out));
	assert_string_equal(out, "the model is busy");
}

/* Random texts made of pieces of the key, the key in another case, and
 * noise: whatever the mix, no run survives and the noise does. */
static void test_redact_random_mixes(void **state)
{
	const char *key = KEY;
	size_t key_len = strlen(key);
	static char text[4096], out[8192];
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		size_t len = 0, n;

		while (len < 200) {
			size_t from, count;

			seed = seed * 1103515245u + 12345u;
			from = (seed >> 8) % key_len;
			count = 1 + (seed >> 16) % 12;
			if (from + count > key_len)
				count = key_len - from;
			for (size_t k = 0; k < count; k++) {
				char c = key[from + k];

				text[len++] = (seed >> 4) & 1 ? (char)toupper((unsigned char)c) : c;
			}
			if ((seed >> 20) % 3 == 0)
				text[len++] = ' ';
		}
		n = redact_key(text, len, key, key_len, out, sizeof(out));
		if (naive_holds_run(out, n, key, key_len))
			fail_msg("round %d: a run of the key survived in '%.*s'", round, (int)n, out);
		if (!naive_holds_run(text, len, key, key_len) && (n != len || memcmp(out, text, len) != 0))
			fail_msg("round %d: a text without runs was changed", round);
	}
}

/* The largest key and a large text of its own letters: done in time, and
 * nothing left. */
static void test_redact_large(void **state)
{
	char *key = unit_repeat('a', API_KEY_MAX);
	char *text = unit_repeat('A', 1024 * 1024);
	char out[64];

	(void)state;
	assert_int_equal(redact_key(text, 1024 * 1024, key, API_KEY_MAX, out, sizeof(out)), 10);
	assert_string_equal(out, "[redacted]");
	free(key);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_table),
		cmocka_unit_test(test_redact_every_window),
		cmocka_unit_test(test_redact_cut),
		cmocka_unit_test(test_redact_uses_lengths),
		cmocka_unit_test(test_redact_key_like_the_mark),
		cmocka_unit_test(test_redact_random_mixes),
		cmocka_unit_test(test_redact_large),
	};

	return cmocka_run_group_tests_name("redact", tests, NULL, NULL);
}
