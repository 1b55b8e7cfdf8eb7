/* fuzz.h: what every libFuzzer target here shares.
 *
 * A target feeds one input to one parser and checks the parser's contract
 * on the result; a broken contract aborts, so the fuzzer reports it like a
 * crash. Inputs are copied into a buffer of exactly their size (no NUL after
 * them), so a read past the length is caught by AddressSanitizer. */
#ifndef GK_FUZZ_H
#define GK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__, __LINE__, #cond);          \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* A malloc'd copy of data[0..size) with nothing after it. */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	if (!copy)
		abort();
	if (size)
		memcpy(copy, data, size);
	return copy;
}

/* A malloc'd NUL-terminated copy, cut at the first NUL: what a C string
 * parameter (a FastCGI value, an environment variable) can hold. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	char *copy = malloc(len + 1);

	if (!copy)
		abort();
	memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

/* 1 when s[0..len) holds a run of min(8, key_len) consecutive bytes of the
 * key, ASCII case folded (what redact.h promises to take out), found the
 * slow and obvious way, byte by byte (strncasecmp would stop at a NUL). */
static inline int fuzz_holds_key_run(const char *s, size_t len, const char *key, size_t key_len)
{
	size_t w = key_len < 8 ? key_len : 8;

	for (size_t i = 0; w && i + w <= len; i++) {
		for (size_t j = 0; j + w <= key_len; j++) {
			size_t k = 0;

			while (k < w) {
				unsigned char x = (unsigned char)s[i + k], y = (unsigned char)key[j + k];

				x = x >= 'A' && x <= 'Z' ? (unsigned char)(x + 32) : x;
				y = y >= 'A' && y <= 'Z' ? (unsigned char)(y + 32) : y;
				if (x != y)
					break;
				k++;
			}
			if (k == w)
				return 1;
		}
	}
	return 0;
}

#endif
