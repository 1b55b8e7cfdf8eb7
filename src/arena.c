#include "arena.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_MIN 4096
#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes in data[] */
	size_t fill;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

void arena_init(struct arena *arena, size_t cap)
{
	arena->head = NULL;
	arena->used = 0;
	arena->cap = cap;
}

void arena_release(struct arena *arena)
{
	struct arena_chunk *chunk = arena->head;

	while (chunk) {
		struct arena_chunk *next = chunk->next;

		sodium_memzero(chunk->data, chunk->fill);
		free(chunk);
		chunk = next;
	}
	arena->head = NULL;
	arena->used = 0;
}

static size_t align_up(size_t n)
{
	return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static struct arena_chunk *arena_grow(struct arena *arena, size_t need)
{
	size_t size = need > ARENA_CHUNK_MIN ? need : ARENA_CHUNK_MIN;
	struct arena_chunk *chunk;

	/* the header must not wrap the size around to a small block */
	if (size > SIZE_MAX - sizeof(*chunk))
		return NULL;
	chunk = malloc(sizeof(*chunk) + size);
	if (!chunk)
		return NULL;
	chunk->next = arena->head;
	chunk->size = size;
	chunk->fill = 0;
	arena->head = chunk;
	return chunk;
}

void *arena_alloc_uninit(struct arena *arena, size_t size)
{
	struct arena_chunk *chunk = arena->head;
	size_t need = align_up(size ? size : 1);
	void *p;

	if (need < size || need > arena->cap - arena->used || arena->used > arena->cap)
		return NULL;
	if (!chunk || chunk->size - chunk->fill < need) {
		chunk = arena_grow(arena, need);
		if (!chunk)
			return NULL;
	}
	p = chunk->data + chunk->fill;
	chunk->fill += need;
	arena->used += need;
	return p;
}

void *arena_alloc(struct arena *arena, size_t size)
{
	void *p = arena_alloc_uninit(arena, size);

	if (p)
		memset(p, 0, align_up(size ? size : 1));
	return p;
}

char *arena_strndup(struct arena *arena, const char *s, size_t len)
{
	char *copy;

	if (len == SIZE_MAX)
		return NULL;
	copy = arena_alloc_uninit(arena, len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

char *arena_strdup(struct arena *arena, const char *s)
{
	return arena_strndup(arena, s, strlen(s));
}

char *arena_vprintf(struct arena *arena, const char *fmt, va_list ap)
{
	va_list again;
	char *out;
	int len;

	va_copy(again, ap);
	len = vsnprintf(NULL, 0, fmt, ap);
	if (len < 0) {
		va_end(again);
		return NULL;
	}
	out = arena_alloc_uninit(arena, (size_t)len + 1);
	if (out)
		vsnprintf(out, (size_t)len + 1, fmt, again);
	va_end(again);
	return out;
}

char *arena_printf(struct arena *arena, const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	out = arena_vprintf(arena, fmt, ap);
	va_end(ap);
	return out;
}
