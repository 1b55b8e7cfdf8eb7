/* test_identity.c: who the user is (product spec 4.1): missing is 401;
 * longer than 256 bytes, not UTF-8, or with control characters is 400. */
#include "unit.h"

#include "identity.h"

enum {
	OK = IDENTITY_OK,
	MISSING = IDENTITY_MISSING,
	INVALID = IDENTITY_INVALID
};

struct id_case {
	const char *user;
	int expect;
	const char *why; /* a word the sentence must contain, for INVALID */
};

/* clang-format off */
#define BAD_UTF8(s) { s, INVALID, "UTF-8" }
#define CONTROL(s) { s, INVALID, "control" }
/* clang-format on */

static const struct id_case id_cases[] = {
	{ NULL, MISSING, NULL },
	{ "", MISSING, NULL },
	{ "alice", OK, NULL },
	{ "a", OK, NULL },
	{ "alice@example.com", OK, NULL },
	{ "CN=Alice Smith,O=Example", OK, NULL }, /* spaces are not control characters */
	{ "Zo\xc3\xab", OK, NULL },		  /* U+00EB */
	{ "\xe7\x94\xa8\xe6\x88\xb7", OK, NULL }, /* two CJK characters */
	{ "\xf0\x9f\x98\x80", OK, NULL },	  /* U+1F600, 4 bytes */
	{ "\xc2\xa0", OK, NULL },		  /* U+00A0, the first after C1 */
	{ "\xc2\xa9", OK, NULL },		  /* U+00A9 */
	{ "\xc2\x7f", INVALID, NULL },		  /* lead byte without continuation */
	{ "\xed\x9f\xbf", OK, NULL },		  /* U+D7FF, just below the surrogates */
	{ "\xee\x80\x80", OK, NULL },		  /* U+E000, just above them */
	{ "\xef\xbf\xbd", OK, NULL },		  /* U+FFFD */
	{ "\xf4\x8f\xbf\xbf", OK, NULL },	  /* U+10FFFF, the last code point */
	{ "\xe0\xa0\x80", OK, NULL },		  /* U+0800, the shortest 3-byte form */
	{ "\xf0\x90\x80\x80", OK, NULL },	  /* U+10000, the shortest 4-byte form */
	/* stray and impossible bytes */
	BAD_UTF8("\x80"),
	BAD_UTF8("a\xbf"),
	BAD_UTF8("\xfe"),
	BAD_UTF8("\xff"),
	BAD_UTF8("\xf5\x80\x80\x80"),
	BAD_UTF8("\xf8\x88\x80\x80\x80"),
	BAD_UTF8("\xfc\x84\x80\x80\x80\x80"),
	/* overlong forms */
	BAD_UTF8("\xc0\xaf"), /* '/' in 2 bytes */
	BAD_UTF8("\xc0\x80"), /* NUL in 2 bytes */
	BAD_UTF8("\xc1\xbf"),
	BAD_UTF8("\xe0\x80\xaf"),     /* '/' in 3 bytes */
	BAD_UTF8("\xe0\x9f\xbf"),     /* U+07FF in 3 bytes */
	BAD_UTF8("\xf0\x80\x80\xaf"), /* '/' in 4 bytes */
	BAD_UTF8("\xf0\x8f\xbf\xbf"), /* U+FFFF in 4 bytes */
	/* UTF-16 surrogates */
	BAD_UTF8("\xed\xa0\x80"),	      /* U+D800 */
	BAD_UTF8("\xed\xaf\xbf"),	      /* U+DBFF */
	BAD_UTF8("\xed\xb0\x80"),	      /* U+DC00 */
	BAD_UTF8("\xed\xbf\xbf"),	      /* U+DFFF */
	BAD_UTF8("\xed\xa0\xbd\xed\xb8\x80"), /* a CESU-8 surrogate pair */
	/* beyond U+10FFFF */
	BAD_UTF8("\xf4\x90\x80\x80"),
	/* truncated sequences */
	BAD_UTF8("a\xc3"),
	BAD_UTF8("\xe2\x82"),
	BAD_UTF8("\xf0\x9f\x98"),
	BAD_UTF8("\xf0\x9f"),
	BAD_UTF8("\xe2\x82"
		 "a"),
	BAD_UTF8("\xc3\xc3\xa9"),
	BAD_UTF8("\xf0\x9f\x98"
		 "a"),
	/* C0 controls, DEL, C1 controls */
	CONTROL("\x01"),
	CONTROL("alice\x1f"),
	CONTROL("ali\tce"),
	CONTROL("alice\n"),
	CONTROL("alice\r\nX-Injected: 1"),
	CONTROL("\x1b[31m"),
	CONTROL("alice\x7f"),
	CONTROL("\xc2\x80"),	  /* U+0080 */
	CONTROL("alice\xc2\x85"), /* U+0085 NEL */
	CONTROL("\xc2\x9b"
		"31m"),	     /* U+009B CSI */
	CONTROL("\xc2\x9f"), /* U+009F */
};

static void test_identity_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(id_cases); i++) {
		const struct id_case *c = &id_cases[i];
		const char *why = NULL;
		enum identity_result got = identity_check(c->user, &why);

		if ((int)got != c->expect)
			fail_msg("case %zu: got %d, want %d", i, got, c->expect);
		if (got == IDENTITY_INVALID) {
			assert_non_null(why);
			if (c->why && !strstr(why, c->why))
				fail_msg("case %zu: why '%s' does not mention '%s'", i, why, c->why);
		}
	}
}

/* 256 bytes is the limit, counted in bytes, not characters. */
static void test_identity_length(void **state)
{
	char *s256 = unit_repeat('a', IDENTITY_MAX);
	char *s257 = unit_repeat('a', IDENTITY_MAX + 1);
	char *long_one = unit_repeat('a', 100000);
	char *e128 = unit_repeat_str("\xc3\xa9", 128);	  /* 128 characters, 256 bytes */
	char *e129 = unit_repeat_str("\xc3\xa9", 129);	  /* 129 characters, 258 bytes */
	char *euro = unit_repeat_str("\xe2\x82\xac", 86); /* 86 characters, 258 bytes */
	const char *why = NULL;

	(void)state;
	assert_int_equal(identity_check(s256, &why), IDENTITY_OK);
	assert_int_equal(identity_check(s257, &why), IDENTITY_INVALID);
	assert_non_null(strstr(why, "256"));
	assert_int_equal(identity_check(long_one, &why), IDENTITY_INVALID);
	assert_int_equal(identity_check(e128, &why), IDENTITY_OK);
	assert_int_equal(identity_check(e129, &why), IDENTITY_INVALID);
	assert_non_null(strstr(why, "256"));
	assert_int_equal(identity_check(euro, &why), IDENTITY_INVALID);
	/* 85 euro signs and one 'a' are exactly 256 bytes */
	euro[255] = 'a';
	euro[256] = '\0';
	assert_int_equal(identity_check(euro, &why), IDENTITY_OK);

	/* a multibyte character cut by the 256-byte limit is both too long and
	 * ill-formed; either way it is refused */
	memset(s257, 'a', IDENTITY_MAX);
	s257[IDENTITY_MAX - 1] = '\xc3';
	s257[IDENTITY_MAX] = '\xa9';
	assert_int_equal(identity_check(s257, &why), IDENTITY_INVALID);
	/* truncated exactly at the limit */
	s256[IDENTITY_MAX - 1] = '\xc3';
	assert_int_equal(identity_check(s256, &why), IDENTITY_INVALID);
	assert_non_null(strstr(why, "UTF-8"));

	free(s256);
	free(s257);
	free(long_one);
	free(e128);
	free(e129);
	free(euro);
}

/* The sentence says what is wrong without quoting the identity. */
static void test_identity_why_never_quotes_value(void **state)
{
	static const char *const users[] = { "MALLORY\x01", "MALLORY\xff", "MALLORY\xc2\x85" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		const char *why = NULL;

		assert_int_equal(identity_check(users[i], &why), IDENTITY_INVALID);
		assert_null(strstr(why, "MALLORY"));
	}
}

/* utf8_valid on explicit lengths: NUL is a valid character, and the length
 * bounds what is read. */
static void test_utf8_valid_lengths(void **state)
{
	(void)state;
	assert_int_equal(utf8_valid("", 0), 1);
	assert_int_equal(utf8_valid("a\0b", 3), 1);
	assert_int_equal(utf8_valid("\xc3\xa9", 2), 1);
	assert_int_equal(utf8_valid("\xc3\xa9", 1), 0); /* cut inside the character */
	assert_int_equal(utf8_valid("\xe2\x82\xac", 2), 0);
	assert_int_equal(utf8_valid("\xf0\x9f\x98\x80", 3), 0);
	assert_int_equal(utf8_valid("ab\xff", 2), 1); /* the bad byte is past len */
}

/* Every single byte: ASCII is valid UTF-8, no byte >= 0x80 is on its own. */
static void test_utf8_valid_every_byte(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		char s[1] = { (char)c };

		assert_int_equal(utf8_valid(s, 1), c < 0x80);
	}
}

/* Every two-byte sequence against the definition (Unicode table 3-7). */
static void test_utf8_valid_two_bytes(void **state)
{
	(void)state;
	for (int a = 0xc0; a < 0x100; a++) {
		for (int b = 0; b < 0x100; b++) {
			char s[2] = { (char)a, (char)b };
			int want = a >= 0xc2 && a <= 0xdf && b >= 0x80 && b <= 0xbf;

			if (utf8_valid(s, 2) != want)
				fail_msg("%02x %02x: got %d, want %d", a, b, !want, want);
		}
	}
}

/* Every three-byte sequence led by E0..EF, against table 3-7. */
static void test_utf8_valid_three_bytes(void **state)
{
	(void)state;
	for (int a = 0xe0; a <= 0xef; a++) {
		int lo = a == 0xe0 ? 0xa0 : 0x80;
		int hi = a == 0xed ? 0x9f : 0xbf;

		for (int b = 0; b < 0x100; b++) {
			for (int c = 0x7f; c <= 0xc0; c++) {
				char s[3] = { (char)a, (char)b, (char)c };
				int want = b >= lo && b <= hi && c >= 0x80 && c <= 0xbf;

				if (utf8_valid(s, 3) != want)
					fail_msg("%02x %02x %02x: got %d, want %d", a, b, c, !want, want);
			}
		}
	}
}

/* The second byte of four-byte sequences, where overlongs and values past
 * U+10FFFF hide (table 3-7). */
static void test_utf8_valid_four_bytes(void **state)
{
	(void)state;
	for (int a = 0xf0; a <= 0xf7; a++) {
		int lo = a == 0xf0 ? 0x90 : 0x80;
		int hi = a == 0xf4 ? 0x8f : 0xbf;

		for (int b = 0; b < 0x100; b++) {
			char s[4] = { (char)a, (char)b, '\x80', '\xbf' };
			int want = a <= 0xf4 && b >= lo && b <= hi;

			if (utf8_valid(s, 4) != want)
				fail_msg("%02x %02x 80 bf: got %d, want %d", a, b, !want, want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_table),
		cmocka_unit_test(test_identity_length),
		cmocka_unit_test(test_identity_why_never_quotes_value),
		cmocka_unit_test(test_utf8_valid_lengths),
		cmocka_unit_test(test_utf8_valid_every_byte),
		cmocka_unit_test(test_utf8_valid_two_bytes),
		cmocka_unit_test(test_utf8_valid_three_bytes),
		cmocka_unit_test(test_utf8_valid_four_bytes),
	};

	return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
