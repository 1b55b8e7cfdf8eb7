/* fuzz_chat.c: a POST /api/llm/chat body, read as the API reads it
 * (body_parse_object, chat_request_parse), then translated into each wire
 * style's provider request. */
#include "fuzz.h"

#include <json-c/json.h>

#include "arena.h"
#include "body.h"
#include "chat.h"
#include "http.h"
#include "status.h"
#include "wire.h"

static const enum wire_style styles[] = { WIRE_OPENAI, WIRE_ANTHROPIC, WIRE_GEMINI };

static void check_request(const struct chat_request *req)
{
	FUZZ_CHECK(req->provider && req->model);
	FUZZ_CHECK(chat_model_valid(req->model, strlen(req->model)));
	FUZZ_CHECK(req->message_count >= 1 && req->message_count <= CHAT_MESSAGES_MAX);
	for (size_t i = 0; i < req->message_count; i++) {
		const struct chat_message *m = &req->messages[i];

		FUZZ_CHECK(m->role == CHAT_SYSTEM || m->role == CHAT_USER || m->role == CHAT_ASSISTANT);
		FUZZ_CHECK(m->content && m->content[m->content_len] == '\0');
	}
	FUZZ_CHECK(req->max_tokens >= 0 && req->max_tokens <= CHAT_MAX_TOKENS_MAX);
	FUZZ_CHECK(!req->has_temperature || (req->temperature >= 0 && req->temperature <= 2));
	FUZZ_CHECK(req->stream == 0 || req->stream == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *root = NULL;
	struct chat_request req;
	struct arena arena;
	const char *why = NULL;
	char detail[160];
	char *body;

	if (size > HTTP_BODY_MAX)
		return 0;
	body = fuzz_copy(data, size);
	if (body_parse_object(body, size, &root, &why) != GK_OK) {
		free(body);
		return 0;
	}
	arena_init(&arena, 1024 * 1024);
	detail[0] = '\0';
	if (chat_request_parse(root, &arena, &req, detail, sizeof(detail)) == GK_OK) {
		check_request(&req);
		for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++) {
			const struct wire_ops *ops = wire_ops_for(styles[i]);
			struct wire_request out;

			detail[0] = '\0';
			if (wire_build_chat(ops, &req, &arena, &out, detail, sizeof(detail)) == GK_OK) {
				FUZZ_CHECK(out.path && out.path[0] == '/');
				FUZZ_CHECK(out.body && json_object_to_json_string(out.body));
			} else {
				FUZZ_CHECK(detail[0] != '\0');
			}
			wire_request_release(&out);
		}
	} else {
		/* a sentence that names the field */
		FUZZ_CHECK(strncmp(detail, "Field '", 7) == 0 || strcmp(detail, "Out of memory") == 0);
	}
	arena_release(&arena);
	body_free(root);
	free(body);
	return 0;
}
