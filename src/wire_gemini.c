/* wire_gemini.c: the Google Gemini generateContent style.
 *
 *   POST {base}/v1beta/models/{model}:generateContent        x-goog-api-key: <key>
 *   POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse
 *   {"contents":[{"role":"user|model","parts":[{"text"}]}],
 *    "systemInstruction"?:{"parts":[{"text"}]},
 *    "generationConfig"?:{"maxOutputTokens","temperature"}}
 *   <- {"candidates":[{"content":{"parts":[{"text"}]}}],
 *       "usageMetadata":{"promptTokenCount","candidatesTokenCount","thoughtsTokenCount"}}
 *   stream <- data: <the same shape, one piece of text each>
 *
 * The key goes in the header, never in "?key=": URLs end up in logs.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "wire.h"

static struct json_object *text_parts(const char *text, size_t len)
{
	struct json_object *parts = json_object_new_array();
	struct json_object *part = json_object_new_object();

	json_object_object_add(part, "text", json_object_new_string_len(text, (int)len));
	json_object_array_add(parts, part);
	return parts;
}

static int add_system(const struct chat_request *req, struct json_object *body)
{
	struct json_object *instruction;
	char *text = NULL;
	size_t len = 0;

	for (size_t i = 0; i < req->message_count; i++) {
		const struct chat_message *m = &req->messages[i];

		if (m->role != CHAT_SYSTEM)
			continue;
		if ((len && wire_append(&text, &len, "\n\n", 2) != GK_OK) ||
		    wire_append(&text, &len, m->content, m->content_len) != GK_OK) {
			free(text);
			return GK_NOMEM;
		}
	}
	if (!text)
		return GK_OK;
	instruction = json_object_new_object();
	json_object_object_add(instruction, "parts", text_parts(text, len));
	json_object_object_add(body, "systemInstruction", instruction);
	free(text);
	return GK_OK;
}

static struct json_object *contents_json(const struct chat_request *req)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; i < req->message_count; i++) {
		const struct chat_message *m = &req->messages[i];
		struct json_object *content;

		if (m->role == CHAT_SYSTEM)
			continue;
		content = json_object_new_object();
		json_object_object_add(content, "role",
				       json_object_new_string(m->role == CHAT_ASSISTANT ? "model" : "user"));
		json_object_object_add(content, "parts", text_parts(m->content, m->content_len));
		json_object_array_add(list, content);
	}
	return list;
}

static void add_generation_config(const struct chat_request *req, struct json_object *body)
{
	struct json_object *config;

	if (!req->max_tokens && !req->has_temperature)
		return;
	config = json_object_new_object();
	if (req->max_tokens)
		json_object_object_add(config, "maxOutputTokens", json_object_new_int64(req->max_tokens));
	if (req->has_temperature)
		json_object_object_add(config, "temperature", wire_new_number(req->temperature));
	json_object_object_add(body, "generationConfig", config);
}

static int build_chat(const struct chat_request *req, struct arena *arena, struct wire_request *out,
		      char *why, size_t whylen)
{
	const char *model = req->model;
	struct json_object *body;

	/* The model goes into the URL path: "models/x" is accepted as "x", and
	 * nothing may add a path segment or start another method. */
	if (strncmp(model, "models/", 7) == 0)
		model += 7;
	if (!*model || strpbrk(model, "/:")) {
		snprintf(why, whylen, "Field 'model' must be a Gemini model name such as gemini-2.5-flash");
		return GK_ERR;
	}
	out->path = arena_printf(arena, "/v1beta/models/%s:%s", model,
				 req->stream ? "streamGenerateContent?alt=sse" : "generateContent");
	if (!out->path) {
		snprintf(why, whylen, "Out of memory");
		return GK_NOMEM;
	}
	body = json_object_new_object();
	json_object_object_add(body, "contents", contents_json(req));
	if (add_system(req, body) != GK_OK) {
		json_object_put(body);
		snprintf(why, whylen, "Out of memory");
		return GK_NOMEM;
	}
	add_generation_config(req, body);
	out->body = body;
	return GK_OK;
}

static struct json_object *member(struct json_object *obj, const char *name)
{
	struct json_object *m;

	if (!obj || !json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, name, &m))
		return NULL;
	return m;
}

/* usageMetadata counts are totals so far: each chunk replaces them.
 * Thinking tokens are billed as output. */
static void read_usage(struct json_object *root, struct chat_usage *usage)
{
	struct json_object *u = member(root, "usageMetadata");

	if (!u || !json_object_is_type(u, json_type_object))
		return;
	usage->input_tokens = wire_get_count(u, "promptTokenCount");
	usage->output_tokens = wire_get_count(u, "candidatesTokenCount") +
			       wire_get_count(u, "thoughtsTokenCount");
}

/* Appends the text parts of candidates[0], leaving out thought summaries. */
static int append_text(struct json_object *root, char **buf, size_t *len)
{
	struct json_object *candidates = member(root, "candidates"), *parts;

	if (!candidates || !json_object_is_type(candidates, json_type_array) ||
	    json_object_array_length(candidates) == 0)
		return GK_OK;
	parts = member(member(json_object_array_get_idx(candidates, 0), "content"), "parts");
	if (!parts || !json_object_is_type(parts, json_type_array))
		return GK_OK;
	for (size_t i = 0; i < json_object_array_length(parts); i++) {
		struct json_object *part = json_object_array_get_idx(parts, i);
		struct json_object *text = member(part, "text"), *thought = member(part, "thought");

		if (!text || !json_object_is_type(text, json_type_string) || json_object_get_boolean(thought))
			continue;
		if (wire_append(buf, len, json_object_get_string(text),
				(size_t)json_object_get_string_len(text)) != GK_OK)
			return GK_NOMEM;
	}
	return GK_OK;
}

static int parse_reply(struct json_object *root, struct wire_reply *out)
{
	/* A prompt blocked by safety filters has no candidates, only feedback. */
	if (!member(root, "candidates") && !member(root, "promptFeedback"))
		return GK_ERR;
	read_usage(root, &out->usage);
	return append_text(root, &out->content, &out->content_len);
}

static int parse_event(struct json_object *root, struct wire_event *out, struct chat_usage *usage)
{
	if (member(root, "error")) {
		wire_event_fail(out, "an error event", root);
		return GK_ERR;
	}
	read_usage(root, usage);
	return append_text(root, &out->delta, &out->delta_len);
}

/* Gemini answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID. */
static int key_rejected(long status, struct json_object *error_body)
{
	struct json_object *details = member(member(error_body, "error"), "details");
	const char *message;

	if (status != 400)
		return 0;
	for (size_t i = 0; details && json_object_is_type(details, json_type_array) &&
			   i < json_object_array_length(details);
	     i++) {
		const char *reason = wire_get_path_string(json_object_array_get_idx(details, i), "reason",
							  NULL);

		if (reason && strcmp(reason, "API_KEY_INVALID") == 0)
			return 1;
	}
	message = wire_get_path_string(error_body, "error", "message");
	return message && strstr(message, "API key not valid") != NULL;
}

const struct wire_ops wire_gemini = {
	.style = WIRE_GEMINI,
	.auth_prefix = "x-goog-api-key: ",
	.headers = NULL,
	.models_path = "/v1beta/models",
	.build_chat = build_chat,
	.parse_reply = parse_reply,
	.parse_event = parse_event,
	.key_rejected = key_rejected,
};
