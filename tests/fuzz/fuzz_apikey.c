/* fuzz_apikey.c: an API key value from a request body, checked against an
 * independent reading of the rules (product spec 4.4, "key value"). */
#include "fuzz.h"

#include "apikey.h"
#include "secret.h"
#include "status.h"

static int ref_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Whether data[lo..hi), already trimmed, is a key the rules accept. */
static int ref_accepts(const uint8_t *data, size_t lo, size_t hi)
{
	if (hi == lo || hi - lo > API_KEY_MAX)
		return 0;
	for (size_t i = lo; i < hi; i++)
		if (data[i] < 0x21 || data[i] > 0x7e)
			return 0;
	for (size_t i = lo; i + 2 < hi; i++)
		if (data[i] == '.' && data[i + 1] == '.' && data[i + 2] == '.')
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value = fuzz_copy(data, size);
	const char *start = NULL, *why = NULL;
	size_t trimmed = 0, lo = 0, hi = size;
	int want, rc;

	/* trim, then 1..4096 printable ASCII without spaces and without "..." */
	while (lo < hi && ref_space(data[lo]))
		lo++;
	while (hi > lo && ref_space(data[hi - 1]))
		hi--;
	want = ref_accepts(data, lo, hi);

	rc = apikey_normalize(value, size, &start, &trimmed, &why);
	if ((rc == GK_OK) != want) {
		fprintf(stderr, "apikey_normalize gave %d, the rules say %s\n", rc,
			want ? "accept" : "refuse");
		abort();
	}
	if (rc == GK_OK) {
		FUZZ_CHECK(start == value + lo && trimmed == hi - lo);
	} else {
		FUZZ_CHECK(why && *why);
	}
	free(value);
	return 0;
}
