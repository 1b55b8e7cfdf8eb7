/* arena.h: per-request memory with a hard cap.
 *
 * Every allocation made while serving one request comes from the request's
 * arena and is released at once by arena_release() when the response has been
 * written. The owner chooses the cap; an allocation that would pass it fails
 * with NULL instead of growing without bound. Released memory is wiped,
 * because request bodies and opened keys live here. */
#ifndef GK_ARENA_H
#define GK_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used; /* bytes handed out, including alignment */
	size_t cap;  /* limit on used */
};

void arena_init(struct arena *arena, size_t cap);
/* Frees every chunk after wiping it; the arena can be used again. */
void arena_release(struct arena *arena);

/* Returns zeroed memory, or NULL when the cap would be passed. */
void *arena_alloc(struct arena *arena, size_t size);
/* The same, not zeroed: for buffers written before they are read (the
 * release still wipes all of them). */
void *arena_alloc_uninit(struct arena *arena, size_t size);
char *arena_strndup(struct arena *arena, const char *s, size_t len);
char *arena_strdup(struct arena *arena, const char *s);
/* printf into the arena; NULL on cap or format error. */
char *arena_printf(struct arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *arena, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
