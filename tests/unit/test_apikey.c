/* test_apikey.c: what a user may store as a key (product spec 4.4, "key value"). */
#include "unit.h"

#include "apikey.h"
#include "secret.h"
#include "status.h"

enum why_kind {
	OK,
	EMPTY,
	TOO_LONG,
	NOT_PRINTABLE,
	MASKED
};

static const char *const why_words[] = {
	[EMPTY] = "empty",
	[TOO_LONG] = "4096",
	[NOT_PRINTABLE] = "printable ASCII",
	[MASKED] = "'...'",
};

/* A case is data: the bytes sent (len, so NUL can be inside), what must come
 * out. want is the key left after trimming when the case is OK. */
struct key_case {
	const char *value;
	size_t len; /* 0: strlen(value) */
	enum why_kind expect;
	const char *want;
};

static const struct key_case key_cases[] = {
	/* accepted, trimmed */
	{ "sk-abc", 0, OK, "sk-abc" },
	{ "x", 0, OK, "x" },
	{ "!", 0, OK, "!" },
	{ "~", 0, OK, "~" },
	{ "  sk-abc  ", 0, OK, "sk-abc" },
	{ "\tsk-abc\n", 0, OK, "sk-abc" },
	{ "\r\nsk-abc\r\n", 0, OK, "sk-abc" },
	{ "\v\fsk-abc\f\v", 0, OK, "sk-abc" },
	{ " \t \n sk-abc \n \t ", 0, OK, "sk-abc" },
	{ "sk-proj-AbC_123-xyz", 0, OK, "sk-proj-AbC_123-xyz" },
	{ "sk-..x", 0, OK, "sk-..x" }, /* two dots are not a mask */
	{ "a.b.c.d", 0, OK, "a.b.c.d" },
	{ "!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~", 0, OK,
	  "!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~" },
	/* empty after trimming */
	{ "", 0, EMPTY, NULL },
	{ " ", 0, EMPTY, NULL },
	{ "   \t\r\n\v\f", 0, EMPTY, NULL },
	/* inner whitespace and control characters */
	{ "sk abc", 0, NOT_PRINTABLE, NULL },
	{ "sk\tabc", 0, NOT_PRINTABLE, NULL },
	{ "sk\nabc", 0, NOT_PRINTABLE, NULL },
	{ "sk\rabc", 0, NOT_PRINTABLE, NULL },
	{ "sk\x01"
	  "abc",
	  0, NOT_PRINTABLE, NULL },
	{ "sk\x1f", 0, NOT_PRINTABLE, NULL },
	{ "sk\x7f", 0, NOT_PRINTABLE, NULL },
	{ "\x7f", 0, NOT_PRINTABLE, NULL },
	{ "sk\0abc", 6, NOT_PRINTABLE, NULL },	/* NUL inside, e.g. from "\u0000" */
	{ "sk-abc\0", 7, NOT_PRINTABLE, NULL }, /* NUL is not trimmed away */
	/* non-ASCII */
	{ "sk-\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2", 0, NOT_PRINTABLE, NULL }, /* U+2022 bullets */
	{ "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2", 0, NOT_PRINTABLE, NULL },
	{ "sk-caf\xc3\xa9", 0, NOT_PRINTABLE, NULL },
	{ "\xc2\xa0sk-abc\xc2\xa0", 0, NOT_PRINTABLE, NULL }, /* NBSP is not trimmed */
	{ "sk-\xe3\x80\x80"
	  "abc",
	  0, NOT_PRINTABLE, NULL }, /* ideographic space */
	{ "sk-\xff", 0, NOT_PRINTABLE, NULL },
	{ "sk-\x80", 0, NOT_PRINTABLE, NULL },
	/* a mask pasted back */
	{ "sk-...wxyz", 0, MASKED, NULL },
	{ "  sk-...wxyz  ", 0, MASKED, NULL },
	{ "...", 0, MASKED, NULL },
	{ "....", 0, MASKED, NULL },
	{ "abc...", 0, MASKED, NULL },
	{ "...abc", 0, MASKED, NULL },
};

static void check_case(size_t i, const struct key_case *c)
{
	size_t len = c->len ? c->len : strlen(c->value);
	const char *start = NULL, *why = NULL;
	size_t trimmed = 0;
	int rc = apikey_normalize(c->value, len, &start, &trimmed, &why);

	if (c->expect == OK) {
		if (rc != GK_OK)
			fail_msg("case %zu: refused (%s), want accepted", i, why ? why : "?");
		assert_true(start >= c->value && start + trimmed <= c->value + len);
		if (trimmed != strlen(c->want) || memcmp(start, c->want, trimmed) != 0)
			fail_msg("case %zu: got '%.*s', want '%s'", i, (int)trimmed, start, c->want);
		return;
	}
	if (rc != GK_ERR)
		fail_msg("case %zu: accepted, want refused (%s)", i, why_words[c->expect]);
	assert_non_null(why);
	if (!strstr(why, why_words[c->expect]))
		fail_msg("case %zu: why '%s' does not mention '%s'", i, why, why_words[c->expect]);
}

static void test_apikey_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(key_cases); i++)
		check_case(i, &key_cases[i]);
}

/* 1..4096 characters, counted after trimming. */
static void test_apikey_length_limits(void **state)
{
	char *key = unit_repeat('a', API_KEY_MAX + 1);
	char *padded = malloc(API_KEY_MAX + 5);
	const char *start, *why = NULL;
	size_t trimmed;

	(void)state;
	assert_int_equal(apikey_normalize(key, API_KEY_MAX, &start, &trimmed, &why), GK_OK);
	assert_ptr_equal(start, key);
	assert_int_equal(trimmed, API_KEY_MAX);

	assert_int_equal(apikey_normalize(key, API_KEY_MAX + 1, &start, &trimmed, &why), GK_ERR);
	assert_non_null(strstr(why, "at most 4096"));

	/* 4096 characters with whitespace around them are still a valid key */
	assert_non_null(padded);
	memcpy(padded, "  ", 2);
	memset(padded + 2, 'b', API_KEY_MAX);
	memcpy(padded + 2 + API_KEY_MAX, " \n", 2);
	assert_int_equal(apikey_normalize(padded, API_KEY_MAX + 4, &start, &trimmed, &why), GK_OK);
	assert_ptr_equal(start, padded + 2);
	assert_int_equal(trimmed, API_KEY_MAX);

	/* a single character is enough */
	assert_int_equal(apikey_normalize("  z ", 4, &start, &trimmed, &why), GK_OK);
	assert_int_equal(trimmed, 1);
	assert_int_equal(*start, 'z');
	free(key);
	free(padded);
}

/* len bounds the value: what follows in memory is not part of the key. */
static void test_apikey_respects_len(void **state)
{
	const char buf[] = "sk-abc ...more";
	const char *start, *why = NULL;
	size_t trimmed;

	(void)state;
	assert_int_equal(apikey_normalize(buf, 6, &start, &trimmed, &why), GK_OK);
	assert_int_equal(trimmed, 6);
	assert_int_equal(apikey_normalize(buf, 7, &start, &trimmed, &why), GK_OK);
	assert_int_equal(trimmed, 6);
	assert_int_equal(apikey_normalize(buf, 0, &start, &trimmed, &why), GK_ERR);
}

/* Each refusal is a sentence for the user that never quotes the value. */
static void test_apikey_why_never_quotes_value(void **state)
{
	static const char *const values[] = {
		"SECRETPART with space",
		"SECRETPART...wxyz",
		"SECRETPART\x01",
		"SECRETPART\xe2\x80\xa2",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		const char *start, *why = NULL;
		size_t trimmed;

		assert_int_equal(apikey_normalize(values[i], strlen(values[i]), &start, &trimmed, &why),
				 GK_ERR);
		assert_non_null(why);
		assert_true(strlen(why) > 10);
		assert_null(strstr(why, "SECRET"));
	}
}

/* Every printable ASCII byte alone is a key; every other byte alone is not. */
static void test_apikey_every_byte(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char value[1] = { (char)c };
		const char *start, *why = NULL;
		size_t trimmed;
		int rc = apikey_normalize(value, 1, &start, &trimmed, &why);

		if (c > 0x20 && c < 0x7f) {
			if (rc != GK_OK)
				fail_msg("byte 0x%02x refused: %s", c, why);
		} else if (rc != GK_ERR) {
			fail_msg("byte 0x%02x accepted", c);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apikey_table),
		cmocka_unit_test(test_apikey_length_limits),
		cmocka_unit_test(test_apikey_respects_len),
		cmocka_unit_test(test_apikey_why_never_quotes_value),
		cmocka_unit_test(test_apikey_every_byte),
	};

	return cmocka_run_group_tests_name("apikey", tests, NULL, NULL);
}
