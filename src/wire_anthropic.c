/* wire_anthropic.c: the Anthropic Messages style.
 *
 *   POST {base}/v1/messages      x-api-key: <key>, anthropic-version: 2023-06-01
 *   {"model","max_tokens","system"?,"messages":[{"role":"user|assistant","content"}],
 *    "temperature"?,"stream"?:true}
 *   <- {"content":[{"type":"text","text"}],"usage":{"input_tokens","output_tokens"}}
 *   stream <- event: message_start   data: {"message":{"usage":{"input_tokens"}}}
 *             event: content_block_delta data: {"delta":{"type":"text_delta","text"}}
 *             event: message_delta   data: {"usage":{"output_tokens"}}
 *             event: message_stop
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "wire.h"

/* Anthropic requires max_tokens; the API's callers may leave it out. */
#define ANTHROPIC_DEFAULT_MAX_TOKENS 4096

static const char *const anthropic_headers[] = { "anthropic-version: 2023-06-01", NULL };

/* Anthropic takes system messages apart from the conversation: all of them,
 * in order, joined by blank lines. */
static int system_text(const struct chat_request *req, char **text, size_t *len)
{
	for (size_t i = 0; i < req->message_count; i++) {
		const struct chat_message *m = &req->messages[i];

		if (m->role != CHAT_SYSTEM)
			continue;
		if ((*len && wire_append(text, len, "\n\n", 2) != GK_OK) ||
		    wire_append(text, len, m->content, m->content_len) != GK_OK)
			return GK_NOMEM;
	}
	return GK_OK;
}

static struct json_object *messages_json(const struct chat_request *req)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; i < req->message_count; i++) {
		const struct chat_message *m = &req->messages[i];
		struct json_object *msg;

		if (m->role == CHAT_SYSTEM)
			continue;
		msg = json_object_new_object();
		json_object_object_add(msg, "role", json_object_new_string(chat_role_name(m->role)));
		json_object_object_add(msg, "content",
				       json_object_new_string_len(m->content, (int)m->content_len));
		json_object_array_add(list, msg);
	}
	return list;
}

static int build_chat(const struct chat_request *req, struct arena *arena, struct wire_request *out,
		      char *why, size_t whylen)
{
	struct json_object *body;
	char *system = NULL;
	size_t system_len = 0;

	if (system_text(req, &system, &system_len) != GK_OK) {
		free(system);
		snprintf(why, whylen, "Out of memory");
		return GK_NOMEM;
	}
	body = json_object_new_object();
	json_object_object_add(body, "model", json_object_new_string(req->model));
	json_object_object_add(
		body, "max_tokens",
		json_object_new_int64(req->max_tokens ? req->max_tokens : ANTHROPIC_DEFAULT_MAX_TOKENS));
	if (system)
		json_object_object_add(body, "system", json_object_new_string_len(system, (int)system_len));
	json_object_object_add(body, "messages", messages_json(req));
	if (req->has_temperature)
		json_object_object_add(body, "temperature", wire_new_number(req->temperature));
	if (req->stream)
		json_object_object_add(body, "stream", json_object_new_boolean(1));
	free(system);
	out->path = "/v1/messages";
	out->body = body;
	return GK_OK;
}

/* Cache writes and reads are input the provider bills too. */
static void read_usage(struct json_object *u, struct chat_usage *usage)
{
	if (!u || !json_object_is_type(u, json_type_object))
		return;
	if (json_object_object_get_ex(u, "input_tokens", NULL))
		usage->input_tokens = wire_get_count(u, "input_tokens") +
				      wire_get_count(u, "cache_creation_input_tokens") +
				      wire_get_count(u, "cache_read_input_tokens");
	if (json_object_object_get_ex(u, "output_tokens", NULL))
		usage->output_tokens = wire_get_count(u, "output_tokens");
}

static struct json_object *member(struct json_object *obj, const char *name)
{
	struct json_object *m;

	if (!obj || !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, name, &m))
		return NULL;
	return m;
}

static int parse_reply(struct json_object *root, struct wire_reply *out)
{
	struct json_object *content = member(root, "content");

	if (!content || !json_object_is_type(content, json_type_array))
		return GK_ERR;
	read_usage(member(root, "usage"), &out->usage);
	for (size_t i = 0; i < json_object_array_length(content); i++) {
		struct json_object *block = json_object_array_get_idx(content, i);
		const char *type = wire_get_path_string(block, "type", NULL);
		struct json_object *text = member(block, "text");

		if (!type || strcmp(type, "text") != 0 || !text ||
		    !json_object_is_type(text, json_type_string))
			continue;
		if (wire_append(&out->content, &out->content_len, json_object_get_string(text),
				(size_t)json_object_get_string_len(text)) != GK_OK)
			return GK_NOMEM;
	}
	return GK_OK;
}

static int parse_event(struct json_object *root, struct wire_event *out, struct chat_usage *usage)
{
	const char *type = wire_get_path_string(root, "type", NULL);
	struct json_object *text;

	if (!type)
		return GK_OK;
	if (strcmp(type, "message_start") == 0) {
		read_usage(member(member(root, "message"), "usage"), usage);
	} else if (strcmp(type, "content_block_delta") == 0) {
		text = member(member(root, "delta"), "text");
		if (text && json_object_is_type(text, json_type_string) &&
		    json_object_get_string_len(text) > 0)
			return wire_append(&out->delta, &out->delta_len, json_object_get_string(text),
					   (size_t)json_object_get_string_len(text));
	} else if (strcmp(type, "message_delta") == 0) {
		read_usage(member(root, "usage"), usage);
	} else if (strcmp(type, "message_stop") == 0) {
		out->done = 1;
	} else if (strcmp(type, "error") == 0) {
		wire_event_fail(out, "an error event", root);
		return GK_ERR;
	}
	return GK_OK;
}

const struct wire_ops wire_anthropic = {
	.style = WIRE_ANTHROPIC,
	.auth_prefix = "x-api-key: ",
	.headers = anthropic_headers,
	.models_path = "/v1/models",
	.build_chat = build_chat,
	.parse_reply = parse_reply,
	.parse_event = parse_event,
};
