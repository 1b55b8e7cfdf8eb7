#include "redact.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The key's runs, each REDACT_RUN (or, for a shorter key, key_len) bytes,
 * folded to lower case and packed into one integer, sorted: a run of the
 * text is looked up in O(log n) instead of compared with every position of
 * the key. */
struct runs {
	uint64_t *packed;
	size_t count;
	size_t width;
};

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static uint64_t pack(const char *s, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v = v << 8 | fold((unsigned char)s[i]);
	return v;
}

static int compare_packed(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int runs_make(struct runs *r, const char *key, size_t key_len)
{
	r->width = key_len < REDACT_RUN ? key_len : REDACT_RUN;
	r->count = key_len - r->width + 1;
	r->packed = malloc(r->count * sizeof(*r->packed));
	if (!r->packed)
		return -1;
	for (size_t i = 0; i < r->count; i++)
		r->packed[i] = pack(key + i, r->width);
	qsort(r->packed, r->count, sizeof(*r->packed), compare_packed);
	return 0;
}

static void runs_release(struct runs *r)
{
	sodium_memzero(r->packed, r->count * sizeof(*r->packed));
	free(r->packed);
	r->packed = NULL;
}

/* 1 when the run of s starting at i is one of the key's. */
static int run_at(const struct runs *r, const char *s, size_t len, size_t i)
{
	uint64_t v;

	if (len - i < r->width)
		return 0;
	v = pack(s + i, r->width);
	return bsearch(&v, r->packed, r->count, sizeof(*r->packed), compare_packed) != NULL;
}

/* Byte i is covered when a run of the key starts within the REDACT_RUN - 1
 * bytes before it or at it; runs are found in order, so "covered until"
 * only grows. */
static size_t rewrite(const struct runs *r, const char *text, size_t len, char *out, size_t outlen)
{
	static const char mark[] = REDACT_MARK;
	size_t o = 0, covered_until = 0;
	int in_mark = 0;

	for (size_t i = 0; i < len; i++) {
		if (run_at(r, text, len, i))
			covered_until = i + r->width;
		if (i < covered_until) {
			if (!in_mark) {
				if (outlen - o <= sizeof(mark) - 1)
					break;
				memcpy(out + o, mark, sizeof(mark) - 1);
				o += sizeof(mark) - 1;
				in_mark = 1;
			}
			continue;
		}
		in_mark = 0;
		if (outlen - o <= 1)
			break;
		out[o++] = text[i];
	}
	out[o] = '\0';
	return o;
}

static int holds_run(const struct runs *r, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (run_at(r, s, len, i))
			return 1;
	return 0;
}

size_t redact_key(const char *text, size_t len, const char *key, size_t key_len, char *out, size_t outlen)
{
	struct runs r;
	size_t n;

	if (key_len == 0) {
		n = len < outlen - 1 ? len : outlen - 1;
		memcpy(out, text, n);
		out[n] = '\0';
		return n;
	}
	out[0] = '\0';
	if (runs_make(&r, key, key_len) != 0)
		return 0;
	n = rewrite(&r, text, len, out, outlen);
	/* A mark next to text can only form a run of a key that shares letters
	 * with the mark; then nothing of the text is shown. */
	if (holds_run(&r, out, n)) {
		sodium_memzero(out, n);
		n = 0;
	}
	runs_release(&r);
	return n;
}
