/* fuzz_identity.c: the identity parameter nginx forwards, checked against an
 * independent reading of the rules (product spec 4.1, Unicode table 3-7). */
#include "fuzz.h"

#include "identity.h"

/* Well-formed UTF-8 after Unicode table 3-7, written as ranges rather than
 * as a decoder, so it shares no logic with utf8_valid(). */
static int ref_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char a = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t n;

		if (a <= 0x7f) {
			i++;
			continue;
		}
		if (a >= 0xc2 && a <= 0xdf) {
			n = 1;
		} else if (a >= 0xe0 && a <= 0xef) {
			n = 2;
			if (a == 0xe0)
				lo = 0xa0;
			if (a == 0xed)
				hi = 0x9f;
		} else if (a >= 0xf0 && a <= 0xf4) {
			n = 3;
			if (a == 0xf0)
				lo = 0x90;
			if (a == 0xf4)
				hi = 0x8f;
		} else {
			return 0;
		}
		if (i + n >= len) /* the sequence is cut short */
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

/* C0, DEL and C1 (U+0080..U+009F, which UTF-8 writes as C2 80..C2 9F). */
static int ref_has_control(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 1;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = fuzz_copy(data, size);
	char *user = fuzz_cstring(data, size);
	size_t len = strlen(user);
	const char *why = NULL;
	enum identity_result got, want;

	FUZZ_CHECK(utf8_valid(raw, size) == ref_utf8_valid(data, size));

	if (len == 0)
		want = IDENTITY_MISSING;
	else if (len > IDENTITY_MAX || !ref_utf8_valid((const unsigned char *)user, len) ||
		 ref_has_control((const unsigned char *)user, len))
		want = IDENTITY_INVALID;
	else
		want = IDENTITY_OK;
	got = identity_check(user, &why);
	if (got != want) {
		fprintf(stderr, "identity_check gave %d, the rules say %d\n", got, want);
		abort();
	}
	if (got == IDENTITY_INVALID)
		FUZZ_CHECK(why && *why);
	free(raw);
	free(user);
	return 0;
}
