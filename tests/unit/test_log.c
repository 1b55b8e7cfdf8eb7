/* test_log.c: values written into log lines (log_escape), escaped so that
 * no value can end its field, break its line or read as something else. */
#include "unit.h"

#include "identity.h"
#include "log.h"

struct escape_case {
	const char *in;
	const char *want;
};

static const struct escape_case cases[] = {
	{ "alice@example.org", "alice@example.org" },
	{ "", "" },
	/* what ends a quoted field */
	{ "a\"b\\c", "a\\\"b\\\\c" },
	/* C0 controls and DEL */
	{ "line\nnext\r\t\x01\x1f\x7f", "line\\x0anext\\x0d\\x09\\x01\\x1f\\x7f" },
	/* C1 controls, U+0080..U+009F */
	{ "a\302\200b\302\205c\302\237", "a\\u{0080}b\\u{0085}c\\u{009F}" }, /* octal: no hex run-on */
	/* U+00A0, the first code point after them, is ordinary */
	{ "\xc2\xa0", "\xc2\xa0" },
	/* bidirectional controls */
	{ "\xd8\x9c", "\\u{061C}" },
	{ "\xe2\x80\x8e\xe2\x80\x8f", "\\u{200E}\\u{200F}" },
	{ "user\xe2\x80\xaegnp.exe", "user\\u{202E}gnp.exe" },
	{ "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", "\\u{202A}\\u{202B}\\u{202C}\\u{202D}" },
	{ "\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", "\\u{2066}\\u{2067}\\u{2068}\\u{2069}" },
	/* line and paragraph separators */
	{ "a\342\200\250b\342\200\251", "a\\u{2028}b\\u{2029}" },
	/* their neighbours are ordinary text */
	{ "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5", "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5" },
	/* well-formed UTF-8 stays readable */
	{ "Jos\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	  "Jos\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80" },
	/* ill-formed UTF-8: each byte that is not part of a sequence */
	{ "a\377b", "a\\xffb" },
	{ "\x80\xbf", "\\x80\\xbf" },			/* lone continuation bytes */
	{ "\xc0\xaf", "\\xc0\\xaf" },			/* overlong '/' */
	{ "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },		/* overlong, 3 bytes */
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },		/* a surrogate */
	{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* past U+10FFFF */
	{ "x\xe2\x80", "x\\xe2\\x80" },			/* cut short at the end */
	{ "\342\200a", "\\xe2\\x80a" },			/* cut short before ASCII */
	{ "\xc3\xc3\xa9", "\\xc3\xc3\xa9" },		/* a lead byte, then a whole 'e' */
	/* a value that holds the truncation mark itself is escaped, not cut */
	{ "a\\...", "a\\\\..." },
};

static void test_escape_table(void **state)
{
	char out[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		log_escape(cases[i].in, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
	}
	log_escape(NULL, out, sizeof(out));
	assert_string_equal(out, "");
}

/* A value made of pieces whose escapes are known: for every buffer size,
 * the output is the whole escape, or the escape of the first whole pieces
 * that leave room for the mark, then the mark. Never half a character,
 * never half an escape. */
static void test_escape_cuts_between_whole_pieces(void **state)
{
	static const struct escape_case pieces[] = {
		{ "a", "a" },	     { "\xc3\xa9", "\xc3\xa9" },
		{ "\n", "\\x0a" },   { "\xe2\x80\xae", "\\u{202E}" },
		{ "\"", "\\\"" },    { "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
		{ "\xff", "\\xff" }, { "\xc2\x85", "\\u{0085}" },
		{ "z", "z" },
	};
	char in[64] = "", full[128] = "", want[128], out[128];
	size_t ends[ARRAY_SIZE(pieces) + 1] = { 0 };
	const size_t mark = strlen(LOG_TRUNCATED);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(pieces); i++) {
		strcat(in, pieces[i].in);
		strcat(full, pieces[i].want);
		ends[i + 1] = strlen(full);
	}
	for (unsigned len = 1; len <= strlen(full) + 2; len++) {
		memset(out, 'X', sizeof(out));
		log_escape(in, out, len);
		if (len > strlen(full)) {
			snprintf(want, sizeof(want), "%s", full);
		} else if (len <= mark) {
			want[0] = '\0';
		} else {
			size_t k = ARRAY_SIZE(pieces);

			while (ends[k] + mark + 1 > len)
				k--;
			snprintf(want, sizeof(want), "%.*s%s", (int)ends[k], full, LOG_TRUNCATED);
		}
		if (strcmp(out, want) != 0)
			fail_msg("len %u: got '%s', want '%s'", len, out, want);
		assert_true(strlen(out) < len);
	}
}

/* The buffer the request line uses keeps every user id the service
 * accepts whole (even one of escapes only), and 256- and 257-byte ids are
 * told apart. */
static void test_escape_size_keeps_any_identity_whole(void **state)
{
	char out[LOG_ESCAPE_SIZE(IDENTITY_MAX)];
	char *worst = unit_repeat('\xff', IDENTITY_MAX);
	char *bidi = unit_repeat_str("\xe2\x80\xae", IDENTITY_MAX / 3);
	char *ids[2];
	char logged[2][sizeof(out)];

	(void)state;
	log_escape(worst, out, sizeof(out));
	assert_int_equal(strlen(out), 4 * IDENTITY_MAX);
	assert_null(strstr(out, LOG_TRUNCATED));
	log_escape(bidi, out, sizeof(out));
	assert_int_equal(strlen(out), 8 * (IDENTITY_MAX / 3));
	/* one more byte of escapes no longer fits: cut and marked */
	worst = realloc(worst, IDENTITY_MAX + 2);
	assert_non_null(worst);
	memcpy(worst + IDENTITY_MAX, "\xff", 2);
	log_escape(worst, out, sizeof(out));
	assert_int_equal(strlen(out), 4 * (IDENTITY_MAX - 1) + strlen(LOG_TRUNCATED));
	assert_string_equal(out + strlen(out) - strlen(LOG_TRUNCATED), LOG_TRUNCATED);
	for (int i = 0; i < 2; i++) {
		ids[i] = unit_repeat('u', IDENTITY_MAX + (size_t)i);
		log_escape(ids[i], logged[i], sizeof(logged[i]));
		assert_string_equal(logged[i], ids[i]);
	}
	assert_string_not_equal(logged[0], logged[1]);
	free(worst);
	free(bidi);
	free(ids[0]);
	free(ids[1]);
}

/* In a small buffer, a long value and a value that fits exactly differ:
 * the cut one is marked. */
static void test_escape_marks_a_cut(void **state)
{
	char out[16];

	(void)state;
	log_escape("0123456789abcde", out, sizeof(out));
	assert_string_equal(out, "0123456789abcde");
	log_escape("0123456789abcdef", out, sizeof(out));
	assert_string_equal(out, "0123456789a" LOG_TRUNCATED);
	/* too small for the mark itself: nothing rather than a piece */
	log_escape("0123456789", out, 4);
	assert_string_equal(out, "");
	log_escape("012", out, 4);
	assert_string_equal(out, "012");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_cuts_between_whole_pieces),
		cmocka_unit_test(test_escape_size_keeps_any_identity_whole),
		cmocka_unit_test(test_escape_marks_a_cut),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
