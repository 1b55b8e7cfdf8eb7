/* fuzz_redact.c: the key's runs never come back out of redact_key().
 *
 * Byte 0 is the key's length (0 to 63), byte 1 the output buffer's size
 * (1 to 256); then the key, then the text. Whatever the text (the key's
 * letters in any case and order, marks, NULs), the output fits its buffer,
 * says how long it is, and holds no run of min(REDACT_RUN, key length)
 * characters of the key (fuzz_holds_key_run, the slow and obvious way). */
#include "fuzz.h"

#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t key_len, outlen, n;
	char *key, *text, *out;

	if (size < 2)
		return 0;
	key_len = data[0] % 64;
	outlen = 1 + data[1];
	if (size - 2 < key_len)
		return 0;
	key = fuzz_copy(data + 2, key_len);
	text = fuzz_copy(data + 2 + key_len, size - 2 - key_len);
	out = malloc(outlen);
	if (!out)
		abort();
	n = redact_key(text, size - 2 - key_len, key, key_len, out, outlen);
	FUZZ_CHECK(n < outlen && out[n] == '\0');
	FUZZ_CHECK(!fuzz_holds_key_run(out, n, key, key_len));
	free(out);
	free(text);
	free(key);
	return 0;
}
