/* chat.h: a chat request as POST /api/llm/chat takes it (docs/llm.md).
 *
 *   {"provider","model","messages":[{"role":"system|user|assistant",
 *    "content":"..."}],"maxTokens"?,"temperature"?,"stream"?}
 *
 * The body is untrusted JSON: this module depends on json-c only, so it is
 * unit-tested and fuzzed alone. Errors are sentences naming the field at
 * fault (HTTP 422); they never quote the value. */
#ifndef GK_CHAT_H
#define GK_CHAT_H

#include <stddef.h>

#include "arena.h"

struct json_object;

#define CHAT_MODEL_MAX 128
#define CHAT_MESSAGES_MAX 1024
#define CHAT_MAX_TOKENS_MAX 1000000L

enum chat_role {
	CHAT_SYSTEM,
	CHAT_USER,
	CHAT_ASSISTANT
};

struct chat_message {
	enum chat_role role;
	const char *content; /* points into the parsed body */
	size_t content_len;
};

struct chat_request {
	const char *provider; /* not checked against the registry here */
	const char *model;
	struct chat_message *messages; /* in the arena */
	size_t message_count;
	long max_tokens; /* 0: not given */
	double temperature;
	int has_temperature;
	int stream;
};

struct chat_usage {
	long input_tokens;
	long output_tokens;
};

/* Reads root (a JSON object) into out. Strings point into root, so root
 * must outlive out. Returns GK_OK, or GK_ERR with why set; GK_NOMEM when
 * the arena is full. */
int chat_request_parse(struct json_object *root, struct arena *arena, struct chat_request *out, char *why,
		       size_t whylen);

/* Model names travel in JSON, and for Gemini in the URL path: 1 to
 * CHAT_MODEL_MAX of letters, digits and "-._:/@+", no "..". */
int chat_model_valid(const char *model, size_t len);

const char *chat_role_name(enum chat_role role);

#endif
