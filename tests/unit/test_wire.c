/* test_wire.c: what each wire style sends and receives (docs/llm.md), as
 * data: a chat request in, the provider's JSON out; the provider's replies
 * and stream events in, one shape out. */
#include "unit.h"

#include <json-c/json.h>

#include "arena.h"
#include "chat.h"
#include "status.h"
#include "wire.h"

static struct chat_message conversation[] = {
	{ CHAT_SYSTEM, "Be brief.", 9 }, { CHAT_USER, "hi", 2 },  { CHAT_ASSISTANT, "hello", 5 },
	{ CHAT_SYSTEM, "Be kind.", 8 },	 { CHAT_USER, "bye", 3 },
};

static struct chat_request request(const char *model, long max_tokens, int stream)
{
	struct chat_request req;

	memset(&req, 0, sizeof(req));
	req.provider = "p";
	req.model = model;
	req.messages = conversation;
	req.message_count = sizeof(conversation) / sizeof(conversation[0]);
	req.max_tokens = max_tokens;
	req.temperature = 0.7;
	req.has_temperature = 1;
	req.stream = stream;
	return req;
}

static void expect_build(const struct wire_ops *ops, const struct chat_request *req, const char *path,
			 const char *body)
{
	struct arena arena;
	struct wire_request wire;
	char why[160];

	arena_init(&arena, 64 * 1024);
	assert_int_equal(wire_build_chat(ops, req, &arena, &wire, why, sizeof(why)), GK_OK);
	assert_string_equal(wire.path, path);
	assert_string_equal(json_object_to_json_string_ext(wire.body, JSON_C_TO_STRING_PLAIN |
									      JSON_C_TO_STRING_NOSLASHESCAPE),
			    body);
	wire_request_release(&wire);
	arena_release(&arena);
}

static void test_openai_request(void **state)
{
	struct chat_request req = request("gpt-4o", 50, 0);

	expect_build(
		&wire_openai, &req, "/chat/completions",
		"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		"{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"},"
		"{\"role\":\"system\",\"content\":\"Be kind.\"},{\"role\":\"user\",\"content\":\"bye\"}],"
		"\"max_tokens\":50,\"temperature\":0.7}");
	req = request("gpt-4o", 0, 1);
	req.message_count = 2;
	req.has_temperature = 0;
	expect_build(&wire_openai, &req, "/chat/completions",
		     "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
		     "{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true,"
		     "\"stream_options\":{\"include_usage\":true}}");
	assert_string_equal(wire_openai.auth_prefix, "Authorization: Bearer ");
}

static void test_anthropic_request(void **state)
{
	struct chat_request req = request("claude", 0, 1);

	expect_build(&wire_anthropic, &req, "/v1/messages",
		     "{\"model\":\"claude\",\"max_tokens\":4096,\"system\":\"Be brief.\\n\\nBe kind.\","
		     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
		     "\"content\":\"hello\"},"
		     "{\"role\":\"user\",\"content\":\"bye\"}],\"temperature\":0.7,\"stream\":true}");
	assert_string_equal(wire_anthropic.auth_prefix, "x-api-key: ");
	assert_string_equal(wire_anthropic.headers[0], "anthropic-version: 2023-06-01");
}

static void test_gemini_request(void **state)
{
	struct chat_request req = request("models/gemini-2.5-flash", 64, 0);

	expect_build(&wire_gemini, &req, "/v1beta/models/gemini-2.5-flash:generateContent",
		     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]},"
		     "{\"role\":\"model\",\"parts\":[{\"text\":\"hello\"}]},{\"role\":\"user\",\"parts\":[{"
		     "\"text\":\"bye\"}]}],"
		     "\"systemInstruction\":{\"parts\":[{\"text\":\"Be brief.\\n\\nBe kind.\"}]},"
		     "\"generationConfig\":{\"maxOutputTokens\":64,\"temperature\":0.7}}");
	req = request("gemini-2.5-pro", 0, 1);
	req.messages = &conversation[1];
	req.message_count = 1;
	req.has_temperature = 0;
	expect_build(&wire_gemini, &req, "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
		     "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
	assert_string_equal(wire_gemini.auth_prefix, "x-goog-api-key: ");
}

static void test_gemini_models_cannot_change_the_path(void **state)
{
	static const char *const bad[] = { "models/", "tunedModels/x", "a/b", "m:streamGenerateContent",
					   "models/a/b" };
	struct arena arena;
	struct wire_request wire;
	char why[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct chat_request req = request(bad[i], 0, 0);

		arena_init(&arena, 64 * 1024);
		assert_int_equal(wire_build_chat(&wire_gemini, &req, &arena, &wire, why, sizeof(why)),
				 GK_ERR);
		assert_non_null(strstr(why, "'model'"));
		wire_request_release(&wire);
		arena_release(&arena);
	}
}

struct reply_case {
	const struct wire_ops *ops;
	const char *body;
	int rc;
	const char *content;
	long in, out;
};

static const struct reply_case replies[] = {
	{ &wire_openai,
	  "{\"choices\":[{\"message\":{\"content\":\"Hi!\"}}],"
	  "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}",
	  GK_OK, "Hi!", 5, 2 },
	{ &wire_openai, "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[]}}]}", GK_OK, "", 0,
	  0 },
	{ &wire_openai, "{\"choices\":[]}", GK_ERR, NULL, 0, 0 },
	{ &wire_openai, "{\"error\":{\"message\":\"x\"}}", GK_ERR, NULL, 0, 0 },
	{ &wire_openai, "[1]", GK_ERR, NULL, 0, 0 },
	{ &wire_openai, "{\"choices\":[{\"message\":{\"content\":\"a\"}}]} trailing", GK_ERR, NULL, 0, 0 },
	{ &wire_anthropic,
	  "{\"content\":[{\"type\":\"text\",\"text\":\"Hel\"},{\"type\":\"tool_use\",\"id\":\"t\"},"
	  "{\"type\":\"text\",\"text\":\"lo\"}],\"usage\":{\"input_tokens\":3,"
	  "\"cache_read_input_tokens\":4,\"output_tokens\":9}}",
	  GK_OK, "Hello", 7, 9 },
	{ &wire_anthropic, "{\"type\":\"error\"}", GK_ERR, NULL, 0, 0 },
	{ &wire_gemini,
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"plan\",\"thought\":true},"
	  "{\"text\":\"A\"},{\"text\":\"B\"}]}}],\"usageMetadata\":{\"promptTokenCount\":4,"
	  "\"candidatesTokenCount\":2,\"thoughtsTokenCount\":10}}",
	  GK_OK, "AB", 4, 12 },
	{ &wire_gemini, "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}", GK_OK, "", 0, 0 },
	{ &wire_gemini, "{\"usageMetadata\":{}}", GK_ERR, NULL, 0, 0 },
	{ &wire_gemini,
	  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"x\"}]}}],"
	  "\"usageMetadata\":{\"promptTokenCount\":-5,\"candidatesTokenCount\":\"7\"}}",
	  GK_OK, "x", 0, 0 },
};

static void test_replies(void **state)
{
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		const struct reply_case *c = &replies[i];
		struct wire_reply reply;
		int rc = wire_parse_reply(c->ops, c->body, strlen(c->body), &reply);

		if (rc != c->rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, c->rc);
		if (rc != GK_OK) {
			assert_null(reply.content);
			continue;
		}
		assert_string_equal(reply.content, c->content);
		assert_int_equal(reply.content_len, strlen(c->content));
		assert_int_equal(reply.usage.input_tokens, c->in);
		assert_int_equal(reply.usage.output_tokens, c->out);
		wire_reply_release(&reply);
	}
}

/* Feeds each event's data in order; returns the deltas joined, "!" where
 * an event failed, "$" where the provider said it was done. */
static void run_events(const struct wire_ops *ops, const char *const *events, char *out, size_t outlen,
		       struct chat_usage *usage)
{
	memset(usage, 0, sizeof(*usage));
	out[0] = '\0';
	for (size_t i = 0; events[i]; i++) {
		struct wire_event ev;
		int rc = wire_parse_event(ops, events[i], strlen(events[i]), &ev, usage);

		if (rc != GK_OK) {
			assert_true(ev.error[0] != '\0');
			strncat(out, "!", outlen - strlen(out) - 1);
			continue;
		}
		if (ev.delta)
			strncat(out, ev.delta, outlen - strlen(out) - 1);
		if (ev.done)
			strncat(out, "$", outlen - strlen(out) - 1);
		wire_event_release(&ev);
	}
}

static void test_openai_stream(void **state)
{
	static const char *const events[] = {
		"{\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}",
		"{\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}",
		"{\"choices\":[],\"usage\":{\"prompt_tokens\":8,\"completion_tokens\":2}}",
		"[DONE]",
		NULL,
	};
	char out[64];
	struct chat_usage usage;

	run_events(&wire_openai, events, out, sizeof(out), &usage);
	assert_string_equal(out, "Hello$");
	assert_int_equal(usage.input_tokens, 8);
	assert_int_equal(usage.output_tokens, 2);
}

static void test_anthropic_stream(void **state)
{
	static const char *const events[] = {
		"{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}"
		"}}",
		"{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":"
		"\"\"}}",
		"{\"type\":\"ping\"}",
		"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
		"\"Hi\"}}",
		"{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
		"\"partial_json\":\"{\"}}",
		"{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_"
		"tokens\":15}}",
		"{\"type\":\"message_stop\"}",
		"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
		NULL,
	};
	char out[64];
	struct chat_usage usage;

	run_events(&wire_anthropic, events, out, sizeof(out), &usage);
	assert_string_equal(out, "Hi$!");
	assert_int_equal(usage.input_tokens, 12);
	assert_int_equal(usage.output_tokens, 15);
}

static void test_gemini_stream(void **state)
{
	static const char *const events[] = {
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}]}}],\"usageMetadata\":{"
		"\"promptTokenCount\":3}}",
		"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"B\"}]},\"finishReason\":\"STOP\"}],"
		"\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2}}",
		"not json",
		"{\"error\":{\"code\":503,\"message\":\"busy\"}}",
		NULL,
	};
	char out[64];
	struct chat_usage usage;

	run_events(&wire_gemini, events, out, sizeof(out), &usage);
	assert_string_equal(out, "AB!!");
	assert_int_equal(usage.input_tokens, 3);
	assert_int_equal(usage.output_tokens, 2);
}

static void test_an_error_event_keeps_the_providers_words(void **state)
{
	static const char data[] = "{\"type\":\"error\",\"error\":{\"message\":\"Over\\nloaded\"}}";
	struct wire_event ev;
	struct chat_usage usage = { 0, 0 };

	assert_int_equal(wire_parse_event(&wire_anthropic, data, strlen(data), &ev, &usage), GK_ERR);
	assert_string_equal(ev.error, "an error event: Over loaded");
}

static void test_which_answers_refuse_the_key(void **state)
{
	static const char gemini_bad_key[] =
		"{\"error\":{\"code\":400,\"message\":\"API key not valid. Please pass a valid API key.\","
		"\"status\":\"INVALID_ARGUMENT\",\"details\":[{\"reason\":\"API_KEY_INVALID\"}]}}";
	static const char gemini_bad_request[] = "{\"error\":{\"code\":400,\"message\":\"model not found\"}}";

	assert_true(wire_key_rejected(&wire_openai, 401, "", 0));
	assert_true(wire_key_rejected(&wire_openai, 403, "{}", 2));
	assert_false(wire_key_rejected(&wire_openai, 400, gemini_bad_key, strlen(gemini_bad_key)));
	assert_false(wire_key_rejected(&wire_openai, 429, "", 0));
	assert_true(wire_key_rejected(&wire_anthropic, 401, "", 0));
	assert_false(wire_key_rejected(&wire_anthropic, 500, "", 0));
	assert_true(wire_key_rejected(&wire_gemini, 400, gemini_bad_key, strlen(gemini_bad_key)));
	assert_false(wire_key_rejected(&wire_gemini, 400, gemini_bad_request, strlen(gemini_bad_request)));
	assert_false(wire_key_rejected(&wire_gemini, 400, "garbage", 7));
	assert_true(wire_key_rejected(&wire_gemini, 403, "", 0));
}

static void test_error_messages_are_short_printable_and_redacted(void **state)
{
	static const char key[] = "sk-secret-0123456789";
	char out[40], wide[64];
	const char *body =
		"{\"error\":{\"message\":\"bad key sk-secret-0123456789 and\\tsk-secret-0123456789!\"}}";

	wire_error_message(body, strlen(body), key, strlen(key), out, sizeof(out));
	assert_string_equal(out, "bad key [redacted] and [redacted]!");
	wire_error_message(body, strlen(body), NULL, 0, out, 12);
	assert_string_equal(out, "bad key sk-");
	/* parts of the key, in any case, go the same way (redact.h) */
	body = "{\"error\":{\"message\":\"key sk-secre..., SK-SECRET-0123 (ends 23456789)\"}}";
	wire_error_message(body, strlen(body), key, strlen(key), wide, sizeof(wide));
	assert_string_equal(wide, "key [redacted]..., [redacted] (ends [redacted])");
	body = "{\"message\":\"plain\"}";
	wire_error_message(body, strlen(body), key, strlen(key), out, sizeof(out));
	assert_string_equal(out, "plain");
	wire_error_message("<html>", 6, key, strlen(key), out, sizeof(out));
	assert_string_equal(out, "");
}

/* Every style the registry accepts has its translator, and a style it
 * does not know has none: no fallback to another style's. */
static void test_every_registry_style_has_a_translator_and_no_other(void **state)
{
	int known = 0;

	(void)state;
	for (int i = -1; i < 64; i++) {
		enum wire_style style = (enum wire_style)i;
		const struct wire_ops *ops = wire_ops_for(style);

		if (strcmp(wire_style_name(style), "unknown") == 0) {
			assert_null(ops);
			continue;
		}
		assert_non_null(ops);
		assert_int_equal(ops->style, style);
		known++;
	}
	assert_int_equal(known, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_request),
		cmocka_unit_test(test_anthropic_request),
		cmocka_unit_test(test_gemini_request),
		cmocka_unit_test(test_gemini_models_cannot_change_the_path),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_openai_stream),
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_gemini_stream),
		cmocka_unit_test(test_an_error_event_keeps_the_providers_words),
		cmocka_unit_test(test_which_answers_refuse_the_key),
		cmocka_unit_test(test_error_messages_are_short_printable_and_redacted),
		cmocka_unit_test(test_every_registry_style_has_a_translator_and_no_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
