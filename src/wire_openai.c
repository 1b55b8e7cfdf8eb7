/* wire_openai.c: the OpenAI chat completions style, also spoken by
 * Perplexity and OpenRouter.
 *
 *   POST {base}/chat/completions       Authorization: Bearer <key>
 *   {"model","messages":[{"role","content"}],"max_tokens"?,"temperature"?,
 *    "stream"?:true,"stream_options":{"include_usage":true}}
 *   <- {"choices":[{"message":{"content"}}],"usage":{"prompt_tokens","completion_tokens"}}
 *   stream <- data: {"choices":[{"delta":{"content"}}],"usage"?} ... data: [DONE]
 */
#include <json-c/json.h>
#include <string.h>

#include "status.h"
#include "wire.h"

static struct json_object *messages_json(const struct chat_request *req)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; i < req->message_count; i++) {
		const struct chat_message *m = &req->messages[i];
		struct json_object *msg = json_object_new_object();

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
	struct json_object *body = json_object_new_object();

	json_object_object_add(body, "model", json_object_new_string(req->model));
	json_object_object_add(body, "messages", messages_json(req));
	if (req->max_tokens)
		json_object_object_add(body, "max_tokens", json_object_new_int64(req->max_tokens));
	if (req->has_temperature)
		json_object_object_add(body, "temperature", wire_new_number(req->temperature));
	if (req->stream) {
		struct json_object *options = json_object_new_object();

		/* Without it OpenAI sends no token counts in a stream. */
		json_object_object_add(options, "include_usage", json_object_new_boolean(1));
		json_object_object_add(body, "stream", json_object_new_boolean(1));
		json_object_object_add(body, "stream_options", options);
	}
	out->path = "/chat/completions";
	out->body = body;
	return GK_OK;
}

static void read_usage(struct json_object *root, struct chat_usage *usage)
{
	struct json_object *u;

	if (!json_object_object_get_ex(root, "usage", &u) || !json_object_is_type(u, json_type_object))
		return;
	usage->input_tokens = wire_get_count(u, "prompt_tokens");
	usage->output_tokens = wire_get_count(u, "completion_tokens");
}

/* choices[0], or NULL. */
static struct json_object *first_choice(struct json_object *root)
{
	struct json_object *choices;

	if (!json_object_object_get_ex(root, "choices", &choices) ||
	    !json_object_is_type(choices, json_type_array) || json_object_array_length(choices) == 0)
		return NULL;
	return json_object_array_get_idx(choices, 0);
}

static int parse_reply(struct json_object *root, struct wire_reply *out)
{
	struct json_object *choice = first_choice(root), *message, *content;

	if (!choice || !json_object_object_get_ex(choice, "message", &message) ||
	    !json_object_is_type(message, json_type_object))
		return GK_ERR;
	read_usage(root, &out->usage);
	/* content is null when the model only called a tool. */
	if (json_object_object_get_ex(message, "content", &content) &&
	    json_object_is_type(content, json_type_string))
		return wire_append(&out->content, &out->content_len, json_object_get_string(content),
				   (size_t)json_object_get_string_len(content));
	return GK_OK;
}

static int parse_event(struct json_object *root, struct wire_event *out, struct chat_usage *usage)
{
	struct json_object *choice, *delta, *content;

	if (json_object_object_get_ex(root, "error", NULL)) {
		wire_event_fail(out, "an error event", root);
		return GK_ERR;
	}
	read_usage(root, usage);
	choice = first_choice(root);
	if (choice && json_object_object_get_ex(choice, "delta", &delta) &&
	    json_object_object_get_ex(delta, "content", &content) &&
	    json_object_is_type(content, json_type_string) && json_object_get_string_len(content) > 0)
		return wire_append(&out->delta, &out->delta_len, json_object_get_string(content),
				   (size_t)json_object_get_string_len(content));
	return GK_OK;
}

const struct wire_ops wire_openai = {
	.style = WIRE_OPENAI,
	.auth_prefix = "Authorization: Bearer ",
	.headers = NULL,
	.models_path = "/models",
	.build_chat = build_chat,
	.parse_reply = parse_reply,
	.parse_event = parse_event,
};
