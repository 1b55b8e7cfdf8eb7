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

#endif
