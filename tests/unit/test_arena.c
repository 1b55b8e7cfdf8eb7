/* test_arena.c: per-request memory with a hard cap. */
#include "unit.h"

#include <stdalign.h>

#include "arena.h"

static void test_arena_zeroed_and_aligned(void **state)
{
	static const size_t sizes[] = { 1, 3, 7, 8, 13, 16, 17, 31, 100, 4095, 4096, 5000 };
	struct arena arena;
	void *ptrs[ARRAY_SIZE(sizes)];

	(void)state;
	arena_init(&arena, 1 << 20);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		unsigned char *p = arena_alloc(&arena, sizes[i]);

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(p[k], 0);
		memset(p, (int)i + 1, sizes[i]);
		ptrs[i] = p;
	}
	/* no allocation overlaps another: each still holds its own pattern */
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		for (size_t k = 0; k < sizes[i]; k++)
			assert_int_equal(((unsigned char *)ptrs[i])[k], i + 1);
	arena_release(&arena);
}

static void test_arena_accounting(void **state)
{
	struct arena arena;
	void *a, *b;

	(void)state;
	arena_init(&arena, 1024);
	assert_int_equal(arena.used, 0);
	assert_int_equal(arena.cap, 1024);
	assert_null(arena.head);
	a = arena_alloc(&arena, 1);
	assert_int_equal(arena.used, 16); /* alignment counts against the cap */
	b = arena_alloc(&arena, 0);	  /* zero bytes still gives a distinct pointer */
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(arena.used, 32);
	arena_release(&arena);
	assert_int_equal(arena.used, 0);
	assert_null(arena.head);
	assert_int_equal(arena.cap, 1024); /* reusable with the same cap */
}

/* The cap is a hard limit, exact to the byte. */
static void test_arena_cap(void **state)
{
	struct arena arena;

	(void)state;
	arena_init(&arena, 64);
	assert_non_null(arena_alloc(&arena, 48));
	assert_non_null(arena_alloc(&arena, 16));
	assert_int_equal(arena.used, 64);
	assert_null(arena_alloc(&arena, 1));
	assert_null(arena_alloc(&arena, 0));
	assert_int_equal(arena.used, 64); /* a refusal costs nothing */
	arena_release(&arena);

	arena_init(&arena, 64);
	assert_null(arena_alloc(&arena, 65));
	assert_non_null(arena_alloc(&arena, 64));
	arena_release(&arena);

	arena_init(&arena, 0);
	assert_null(arena_alloc(&arena, 0));
	assert_null(arena_alloc(&arena, 1));
	arena_release(&arena);

	/* a cap that is not a multiple of the alignment */
	arena_init(&arena, 40);
	assert_non_null(arena_alloc(&arena, 20)); /* 32 */
	assert_null(arena_alloc(&arena, 8));	  /* would be 48 */
	arena_release(&arena);
}

/* Sizes near SIZE_MAX are refused instead of wrapping around. */
static void test_arena_overflow(void **state)
{
	struct arena arena;

	(void)state;
	arena_init(&arena, SIZE_MAX);
	assert_null(arena_alloc(&arena, SIZE_MAX));
	assert_null(arena_alloc(&arena, SIZE_MAX - 1));
	assert_null(arena_alloc(&arena, SIZE_MAX - 15));
	assert_null(arena_strndup(&arena, "x", SIZE_MAX));
	assert_int_equal(arena.used, 0);
	arena_release(&arena);
}

/* Allocations larger than a chunk, and many small ones across chunks. */
static void test_arena_chunks(void **state)
{
	struct arena arena;
	unsigned char *big, *small[600];

	(void)state;
	arena_init(&arena, 1 << 20);
	big = arena_alloc(&arena, 100000);
	assert_non_null(big);
	memset(big, 0xab, 100000); /* the whole block is usable (ASan watches) */
	for (size_t i = 0; i < ARRAY_SIZE(small); i++) {
		small[i] = arena_alloc(&arena, 24);
		assert_non_null(small[i]);
		memset(small[i], (int)(i & 0xff), 24);
	}
	for (size_t i = 0; i < ARRAY_SIZE(small); i++)
		assert_int_equal(small[i][23], i & 0xff);
	assert_int_equal(big[99999], 0xab);
	arena_release(&arena);
	/* the arena works again after a release */
	assert_non_null(arena_alloc(&arena, 10));
	arena_release(&arena);
	arena_release(&arena); /* twice is harmless */
}

static void test_arena_strings(void **state)
{
	struct arena arena;
	const char src[] = "hello\0world";
	char *s;

	(void)state;
	arena_init(&arena, 4096);
	s = arena_strndup(&arena, "abcdef", 3);
	assert_string_equal(s, "abc");
	s = arena_strndup(&arena, src, sizeof(src) - 1); /* copies len bytes, NUL and all */
	assert_memory_equal(s, src, sizeof(src));
	s = arena_strndup(&arena, "", 0);
	assert_string_equal(s, "");
	s = arena_strdup(&arena, "sk-abc");
	assert_string_equal(s, "sk-abc");
	arena_release(&arena);

	arena_init(&arena, 32);
	assert_non_null(arena_strdup(&arena, "0123456789abcde")); /* 16 bytes */
	assert_null(arena_strdup(&arena, "0123456789abcdef0"));	  /* 18 > 16 left */
	arena_release(&arena);
}

static void test_arena_printf(void **state)
{
	struct arena arena;
	char *s, *big;

	(void)state;
	arena_init(&arena, 1 << 16);
	s = arena_printf(&arena, "Unknown provider: %s (%d)", "nope", 42);
	assert_string_equal(s, "Unknown provider: nope (42)");
	s = arena_printf(&arena, "%s", "");
	assert_string_equal(s, "");
	s = arena_printf(&arena, "%.*s...", 3, "abcdef");
	assert_string_equal(s, "abc...");
	big = unit_repeat('x', 10000);
	s = arena_printf(&arena, "[%s]", big);
	assert_non_null(s);
	assert_int_equal(strlen(s), 10002);
	assert_int_equal(s[10001], ']');
	arena_release(&arena);

	/* exactly at the cap, and one byte past it */
	arena_init(&arena, 16);
	assert_string_equal(arena_printf(&arena, "%s", "0123456789abcde"), "0123456789abcde");
	arena_release(&arena);
	arena_init(&arena, 16);
	assert_null(arena_printf(&arena, "%s", "0123456789abcdef"));
	assert_int_equal(arena.used, 0);
	arena_release(&arena);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_zeroed_and_aligned),
		cmocka_unit_test(test_arena_accounting),
		cmocka_unit_test(test_arena_cap),
		cmocka_unit_test(test_arena_overflow),
		cmocka_unit_test(test_arena_chunks),
		cmocka_unit_test(test_arena_strings),
		cmocka_unit_test(test_arena_printf),
	};

	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
