/* jsonw.h: writing a JSON reply straight into the request's arena.
 *
 * For the replies every page load asks for (the provider list, the key
 * masks): no tree of json-c objects is built and freed per request. The
 * writer owns nothing: its buffer comes from the arena and grows up to the
 * cap its owner gives; past the cap, or when the arena is exhausted,
 * jsonw_finish() returns NULL. Strings are escaped as RFC 8259 asks and
 * otherwise passed through (callers give UTF-8). */
#ifndef GK_JSONW_H
#define GK_JSONW_H

#include <stddef.h>

#include "arena.h"

#define JSONW_DEPTH_MAX 8

struct jsonw {
	struct arena *arena;
	char *buf;
	size_t len, cap, max;
	int failed;
	int depth;
	int has_items[JSONW_DEPTH_MAX]; /* a comma goes before the next item */
	int after_key;
};

void jsonw_init(struct jsonw *w, struct arena *arena, size_t max);
void jsonw_object_begin(struct jsonw *w);
void jsonw_object_end(struct jsonw *w);
void jsonw_array_begin(struct jsonw *w);
void jsonw_array_end(struct jsonw *w);
/* A member name; the next value written is its value. */
void jsonw_key(struct jsonw *w, const char *key);
/* A string, or null when s is NULL. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_bool(struct jsonw *w, int value);
void jsonw_null(struct jsonw *w);
/* A string of len bytes that may hold NULs (a provider's text). */
void jsonw_string_len(struct jsonw *w, const char *s, size_t len);
void jsonw_int(struct jsonw *w, long long value);
/* Members already written as JSON ("a":1,"b":"x", an object's text without
 * its braces, as jsonw_members_of() gives it), put into the object being
 * written as they are. */
void jsonw_members(struct jsonw *w, const char *members, size_t len);
/* The members of the finished text of a writer that wrote one object:
 * *len bytes from the returned pointer; NULL when it is not one. */
const char *jsonw_members_of(struct jsonw *w, size_t *len);
/* The text written, NUL-terminated, with its length; NULL on failure
 * (cap reached, arena exhausted, unbalanced nesting). */
const char *jsonw_finish(struct jsonw *w, size_t *len);
/* Starts a new text in the buffer already grown, so that a stream's many
 * small events reuse one buffer instead of taking a new one each. */
void jsonw_reset(struct jsonw *w);

#endif
