/* test_jsonw.c: replies written straight into the arena must be the JSON
 * json-c would read back, escaped, and bounded by their cap. */
#include "unit.h"

#include <json-c/json.h>

#include "jsonw.h"

#define ARENA_CAP (1024 * 1024)

/* Parses text with json-c and returns it re-serialized, for comparison. */
static char *canonical(const char *text)
{
	struct json_object *obj = json_tokener_parse(text);
	char *out;

	assert_non_null(obj);
	out = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return out;
}

static void test_jsonw_nested_reply(void **state)
{
	struct arena arena;
	struct jsonw w;
	const char *text;
	char *got;
	size_t len;

	(void)state;
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&w, &arena, 4096);
	jsonw_object_begin(&w);
	jsonw_key(&w, "providers");
	jsonw_array_begin(&w);
	for (int i = 0; i < 2; i++) {
		jsonw_object_begin(&w);
		jsonw_key(&w, "id");
		jsonw_string(&w, i ? "anthropic" : "openai");
		jsonw_key(&w, "userKey");
		jsonw_object_begin(&w);
		jsonw_key(&w, "masked");
		jsonw_string(&w, i ? NULL : "sk-...wxyz");
		jsonw_object_end(&w);
		jsonw_key(&w, "available");
		jsonw_bool(&w, i == 0);
		jsonw_key(&w, "models");
		jsonw_array_begin(&w);
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_key(&w, "none");
	jsonw_null(&w);
	jsonw_object_end(&w);
	text = jsonw_finish(&w, &len);
	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	assert_string_equal(text,
			    "{\"providers\":[{\"id\":\"openai\",\"userKey\":{\"masked\":\"sk-...wxyz\"},"
			    "\"available\":true,\"models\":[]},{\"id\":\"anthropic\",\"userKey\":"
			    "{\"masked\":null},\"available\":false,\"models\":[]}],\"none\":null}");
	got = canonical(text);
	assert_string_equal(got, text);
	free(got);
	arena_release(&arena);
}

struct escape_case {
	const char *in;
	const char *want; /* the JSON text of the string */
};

static const struct escape_case escape_cases[] = {
	{ "", "\"\"" },
	{ "plain", "\"plain\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "tab\there", "\"tab\\u0009here\"" },
	{ "nl\n\r", "\"nl\\u000a\\u000d\"" },
	{ "\x01\x1f", "\"\\u0001\\u001f\"" },
	{ "del\x7f", "\"del\x7f\"" },
	{ "slash/ok", "\"slash/ok\"" },
	{ "Zo\xc3\xab \xe2\x80\xa2", "\"Zo\xc3\xab \xe2\x80\xa2\"" }, /* UTF-8 passes through */
};

static void test_jsonw_escapes_strings(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(escape_cases); i++) {
		const struct escape_case *c = &escape_cases[i];
		struct json_object *back;
		struct arena arena;
		struct jsonw w;
		const char *text;
		size_t len;

		arena_init(&arena, ARENA_CAP);
		jsonw_init(&w, &arena, 1024);
		jsonw_string(&w, c->in);
		text = jsonw_finish(&w, &len);
		assert_non_null(text);
		if (strcmp(text, c->want) != 0)
			fail_msg("case %zu: got %s, want %s", i, text, c->want);
		back = json_tokener_parse(text);
		assert_non_null(back);
		assert_string_equal(json_object_get_string(back), c->in);
		json_object_put(back);
		arena_release(&arena);
	}
}

static void test_jsonw_grows_past_its_first_buffer(void **state)
{
	struct arena arena;
	struct jsonw w;
	char big[3000];
	const char *text;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&w, &arena, 64 * 1024);
	jsonw_array_begin(&w);
	for (int i = 0; i < 5; i++)
		jsonw_string(&w, big);
	jsonw_array_end(&w);
	text = jsonw_finish(&w, &len);
	assert_non_null(text);
	assert_int_equal(len, 2 + 5 * (sizeof(big) + 1) + 4);
	arena_release(&arena);
}

/* A provider's text by length: NULs and every escape survive the round trip
 * through json-c, and numbers are plain. */
static void test_jsonw_string_len_and_int(void **state)
{
	static const char text[] = "a\0b\n\"c\\\x1f/\xc3\xab";
	struct json_object *back, *member;
	struct arena arena;
	struct jsonw w;
	const char *out;
	size_t len;

	(void)state;
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&w, &arena, 1024);
	jsonw_object_begin(&w);
	jsonw_key(&w, "s");
	jsonw_string_len(&w, text, sizeof(text) - 1);
	jsonw_key(&w, "n");
	jsonw_int(&w, -9007199254740993LL);
	jsonw_object_end(&w);
	out = jsonw_finish(&w, &len);
	assert_non_null(out);
	assert_string_equal(out,
			    "{\"s\":\"a\\u0000b\\u000a\\\"c\\\\\\u001f/\xc3\xab\",\"n\":-9007199254740993}");
	back = json_tokener_parse(out);
	assert_non_null(back);
	assert_true(json_object_object_get_ex(back, "s", &member));
	assert_int_equal(json_object_get_string_len(member), sizeof(text) - 1);
	assert_memory_equal(json_object_get_string(member), text, sizeof(text) - 1);
	json_object_put(back);
	arena_release(&arena);
}

/* A reset writer starts a new text in the buffer it already has: a
 * stream's events do not take arena memory each. */
static void test_jsonw_reset_reuses_the_buffer(void **state)
{
	struct arena arena;
	struct jsonw w;
	const char *first, *second;
	size_t len, used;

	(void)state;
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&w, &arena, 1024);
	jsonw_string(&w, "first");
	first = jsonw_finish(&w, &len);
	assert_non_null(first);
	used = arena.used;
	for (int i = 0; i < 100; i++) {
		jsonw_reset(&w);
		jsonw_object_begin(&w);
		jsonw_key(&w, "delta");
		jsonw_string(&w, "second");
		jsonw_object_end(&w);
		second = jsonw_finish(&w, &len);
		assert_ptr_equal(second, first);
		assert_string_equal(second, "{\"delta\":\"second\"}");
	}
	assert_int_equal(arena.used, used);
	arena_release(&arena);
}

static void test_jsonw_refuses_past_the_cap(void **state)
{
	struct arena arena;
	struct jsonw w;
	size_t len;

	(void)state;
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&w, &arena, 10);
	jsonw_string(&w, "exactly 8"); /* 11 bytes with its quotes */
	assert_null(jsonw_finish(&w, &len));
	jsonw_init(&w, &arena, 11);
	jsonw_string(&w, "exactly 8");
	assert_non_null(jsonw_finish(&w, &len));
	assert_int_equal(len, 11);
	arena_release(&arena);
}

static void test_jsonw_refuses_when_the_arena_is_full(void **state)
{
	struct arena arena;
	struct jsonw w;
	size_t len;

	(void)state;
	arena_init(&arena, 512); /* smaller than the writer's first buffer */
	jsonw_init(&w, &arena, 4096);
	jsonw_null(&w);
	assert_null(jsonw_finish(&w, &len));
	arena_release(&arena);
}

static void test_jsonw_refuses_unbalanced_nesting(void **state)
{
	struct arena arena;
	struct jsonw w;
	size_t len;

	(void)state;
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&w, &arena, 1024);
	jsonw_object_begin(&w);
	assert_null(jsonw_finish(&w, &len)); /* still open */
	jsonw_init(&w, &arena, 1024);
	jsonw_object_begin(&w);
	jsonw_key(&w, "dangling");
	jsonw_object_end(&w); /* a key without its value */
	assert_null(jsonw_finish(&w, &len));
	jsonw_init(&w, &arena, 1024);
	jsonw_array_end(&w); /* closing what was never opened */
	assert_null(jsonw_finish(&w, &len));
	jsonw_init(&w, &arena, 1024);
	for (int i = 0; i <= JSONW_DEPTH_MAX; i++)
		jsonw_array_begin(&w);
	assert_null(jsonw_finish(&w, &len));
	jsonw_init(&w, &arena, 1024);
	jsonw_key(&w, "outside"); /* a key outside any object */
	assert_null(jsonw_finish(&w, &len));
	arena_release(&arena);
}

/* Members written once (jsonw_members_of) go into later objects as they
 * are, first or after others, with the commas JSON needs. */
static void test_jsonw_members_written_once(void **state)
{
	struct arena arena;
	struct jsonw once, w;
	const char *members, *text;
	size_t len, n;

	(void)state;
	arena_init(&arena, ARENA_CAP);
	jsonw_init(&once, &arena, 1024);
	jsonw_object_begin(&once);
	jsonw_key(&once, "id");
	jsonw_string(&once, "open\"ai");
	jsonw_key(&once, "userKeys");
	jsonw_bool(&once, 1);
	jsonw_object_end(&once);
	members = jsonw_members_of(&once, &n);
	assert_non_null(members);
	assert_int_equal(n, strlen("\"id\":\"open\\\"ai\",\"userKeys\":true"));

	jsonw_init(&w, &arena, 1024);
	jsonw_array_begin(&w);
	jsonw_object_begin(&w);
	jsonw_members(&w, members, n);
	jsonw_key(&w, "available");
	jsonw_bool(&w, 0);
	jsonw_object_end(&w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "first");
	jsonw_null(&w);
	jsonw_members(&w, members, n);
	jsonw_members(&w, "", 0); /* nothing: no stray comma */
	jsonw_object_end(&w);
	jsonw_array_end(&w);
	text = jsonw_finish(&w, &len);
	assert_non_null(text);
	assert_string_equal(text, "[{\"id\":\"open\\\"ai\",\"userKeys\":true,\"available\":false},"
				  "{\"first\":null,\"id\":\"open\\\"ai\",\"userKeys\":true}]");

	/* only inside an object, and never as a member's value */
	jsonw_init(&w, &arena, 1024);
	jsonw_members(&w, members, n);
	assert_null(jsonw_finish(&w, &len));
	jsonw_init(&w, &arena, 1024);
	jsonw_object_begin(&w);
	jsonw_key(&w, "k");
	jsonw_members(&w, members, n);
	jsonw_null(&w);
	jsonw_object_end(&w);
	assert_null(jsonw_finish(&w, &len));
	/* a writer that wrote an array has no members */
	jsonw_init(&once, &arena, 1024);
	jsonw_array_begin(&once);
	jsonw_array_end(&once);
	assert_null(jsonw_members_of(&once, &n));
	arena_release(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonw_nested_reply),
		cmocka_unit_test(test_jsonw_escapes_strings),
		cmocka_unit_test(test_jsonw_grows_past_its_first_buffer),
		cmocka_unit_test(test_jsonw_string_len_and_int),
		cmocka_unit_test(test_jsonw_reset_reuses_the_buffer),
		cmocka_unit_test(test_jsonw_refuses_past_the_cap),
		cmocka_unit_test(test_jsonw_refuses_when_the_arena_is_full),
		cmocka_unit_test(test_jsonw_refuses_unbalanced_nesting),
		cmocka_unit_test(test_jsonw_members_written_once),
	};

	return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
