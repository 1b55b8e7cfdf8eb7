/* test_chat.c: the body of POST /api/llm/chat (product spec 4.7); every
 * mistake is a 422 sentence that names the field. */
#include "unit.h"

#include <json-c/json.h>

#include "arena.h"
#include "body.h"
#include "chat.h"
#include "status.h"

static int parse(const char *json, struct arena *arena, struct chat_request *req, char *why,
		 struct json_object **root)
{
	const char *parse_why;

	assert_int_equal(body_parse_object(json, strlen(json), root, &parse_why), GK_OK);
	return chat_request_parse(*root, arena, req, why, 160);
}

static void test_a_full_request(void **state)
{
	struct arena arena;
	struct chat_request req;
	struct json_object *root;
	char why[160];

	arena_init(&arena, 64 * 1024);
	assert_int_equal(parse("{\"provider\":\"openai\",\"model\":\"openai/gpt-4o:free\","
			       "\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
			       "{\"role\":\"user\",\"content\":\"a\\u0000b\"},{\"role\":\"assistant\","
			       "\"content\":\"\"}],"
			       "\"maxTokens\":100,\"temperature\":0.5,\"stream\":true}",
			       &arena, &req, why, &root),
			 GK_OK);
	assert_string_equal(req.provider, "openai");
	assert_string_equal(req.model, "openai/gpt-4o:free");
	assert_int_equal(req.message_count, 3);
	assert_int_equal(req.messages[0].role, CHAT_SYSTEM);
	assert_int_equal(req.messages[1].role, CHAT_USER);
	assert_int_equal(req.messages[1].content_len, 3); /* an escaped NUL is content */
	assert_int_equal(req.messages[2].role, CHAT_ASSISTANT);
	assert_int_equal(req.max_tokens, 100);
	assert_true(req.has_temperature && req.temperature == 0.5);
	assert_true(req.stream);
	body_free(root);
	arena_release(&arena);
}

static void test_options_are_optional(void **state)
{
	struct arena arena;
	struct chat_request req;
	struct json_object *root;
	char why[160];

	arena_init(&arena, 64 * 1024);
	assert_int_equal(parse("{\"provider\":\"x\",\"model\":\"m\",\"messages\":[{\"role\":\"user\","
			       "\"content\":\"hi\"}],"
			       "\"maxTokens\":null,\"temperature\":null,\"stream\":null}",
			       &arena, &req, why, &root),
			 GK_OK);
	assert_int_equal(req.max_tokens, 0);
	assert_false(req.has_temperature);
	assert_false(req.stream);
	body_free(root);
	arena_release(&arena);
}

struct bad_case {
	const char *json;
	const char *field;
};

#define MSG "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static const struct bad_case bad_cases[] = {
	{ "{\"model\":\"m\"," MSG "}", "'provider'" },
	{ "{\"provider\":1,\"model\":\"m\"," MSG "}", "'provider'" },
	{ "{\"provider\":\"p\"," MSG "}", "'model'" },
	{ "{\"provider\":\"p\",\"model\":\"\"," MSG "}", "'model'" },
	{ "{\"provider\":\"p\",\"model\":\"a b\"," MSG "}", "'model'" },
	{ "{\"provider\":\"p\",\"model\":\"../x\"," MSG "}", "'model'" },
	{ "{\"provider\":\"p\",\"model\":\"m\\u0000x\"," MSG "}", "'model'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"}", "'messages'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":{}}", "'messages'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":[]}", "'messages'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":[1]}", "'messages[0]'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":[{\"content\":\"x\"}]}", "'messages[0].role'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
	  "'messages[0].role'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":"
	  "\"user\"}]}",
	  "'messages[1].content'" },
	{ "{\"provider\":\"p\",\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[]}]}",
	  "'messages[0].content'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"maxTokens\":0}", "'maxTokens'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"maxTokens\":1000001}", "'maxTokens'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"maxTokens\":2.5}", "'maxTokens'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"maxTokens\":\"9\"}", "'maxTokens'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"temperature\":-0.1}", "'temperature'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"temperature\":2.01}", "'temperature'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"temperature\":true}", "'temperature'" },
	{ "{\"provider\":\"p\",\"model\":\"m\"," MSG ",\"stream\":1}", "'stream'" },
};

static void test_mistakes_name_the_field(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct arena arena;
		struct chat_request req;
		struct json_object *root;
		char why[160] = "";

		arena_init(&arena, 64 * 1024);
		if (parse(bad_cases[i].json, &arena, &req, why, &root) != GK_ERR ||
		    !strstr(why, bad_cases[i].field))
			fail_msg("case %zu: '%s' does not name %s", i, why, bad_cases[i].field);
		body_free(root);
		arena_release(&arena);
	}
}

static void test_model_names(void **state)
{
	assert_true(chat_model_valid("gpt-4o", 6));
	assert_true(chat_model_valid("anthropic/claude-sonnet-4.5", 27));
	assert_true(chat_model_valid("models/gemini-2.5-flash", 23));
	assert_true(chat_model_valid("meta-llama/llama-3-8b:free", 26));
	assert_false(chat_model_valid("a..b", 4));
	assert_false(chat_model_valid("a?key=x", 7));
	assert_false(chat_model_valid("a#b", 3));
	assert_false(chat_model_valid("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_full_request),
		cmocka_unit_test(test_options_are_optional),
		cmocka_unit_test(test_mistakes_name_the_field),
		cmocka_unit_test(test_model_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
