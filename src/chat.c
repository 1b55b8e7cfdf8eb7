#include "chat.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "status.h"

const char *chat_role_name(enum chat_role role)
{
	switch (role) {
	case CHAT_SYSTEM:
		return "system";
	case CHAT_USER:
		return "user";
	case CHAT_ASSISTANT:
		return "assistant";
	}
	return "user";
}

static int parse_role(const char *s, enum chat_role *out)
{
	if (strcmp(s, "system") == 0)
		*out = CHAT_SYSTEM;
	else if (strcmp(s, "user") == 0)
		*out = CHAT_USER;
	else if (strcmp(s, "assistant") == 0)
		*out = CHAT_ASSISTANT;
	else
		return GK_ERR;
	return GK_OK;
}

int chat_model_valid(const char *model, size_t len)
{
	if (len == 0 || len > CHAT_MODEL_MAX || strlen(model) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)model[i]) && !strchr("-._:/@+", model[i]))
			return 0;
	return strstr(model, "..") == NULL;
}

static int bad(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return GK_ERR;
}

static int parse_message(struct json_object *item, size_t i, struct chat_message *out, char *why,
			 size_t whylen)
{
	struct json_object *role, *content;

	if (!json_object_is_type(item, json_type_object))
		return bad(why, whylen, "Field 'messages[%zu]' must be an object", i);
	if (!json_object_object_get_ex(item, "role", &role) || !json_object_is_type(role, json_type_string) ||
	    parse_role(json_object_get_string(role), &out->role) != GK_OK)
		return bad(why, whylen, "Field 'messages[%zu].role' must be system, user or assistant", i);
	if (!json_object_object_get_ex(item, "content", &content) ||
	    !json_object_is_type(content, json_type_string))
		return bad(why, whylen, "Field 'messages[%zu].content' must be a string", i);
	out->content = json_object_get_string(content);
	out->content_len = (size_t)json_object_get_string_len(content);
	return GK_OK;
}

static int parse_messages(struct json_object *root, struct arena *arena, struct chat_request *out, char *why,
			  size_t whylen)
{
	struct json_object *list;
	size_t n;

	if (!json_object_object_get_ex(root, "messages", &list) || json_object_is_type(list, json_type_null))
		return bad(why, whylen, "Field 'messages' is required");
	if (!json_object_is_type(list, json_type_array))
		return bad(why, whylen, "Field 'messages' must be an array");
	n = json_object_array_length(list);
	if (n == 0 || n > CHAT_MESSAGES_MAX)
		return bad(why, whylen, "Field 'messages' must hold 1 to %d messages", CHAT_MESSAGES_MAX);
	out->messages = arena_alloc(arena, n * sizeof(*out->messages));
	if (!out->messages) {
		bad(why, whylen, "Out of memory");
		return GK_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(list, i);

		if (parse_message(item, i, &out->messages[i], why, whylen) != GK_OK)
			return GK_ERR;
	}
	out->message_count = n;
	return GK_OK;
}

/* An optional member: absent or null leaves *member NULL. */
static struct json_object *optional_member(struct json_object *root, const char *name)
{
	struct json_object *member;

	if (!json_object_object_get_ex(root, name, &member) || json_object_is_type(member, json_type_null))
		return NULL;
	return member;
}

static int parse_options(struct json_object *root, struct chat_request *out, char *why, size_t whylen)
{
	struct json_object *max_tokens = optional_member(root, "maxTokens");
	struct json_object *temperature = optional_member(root, "temperature");
	struct json_object *stream = optional_member(root, "stream");

	if (max_tokens) {
		int64_t n = json_object_get_int64(max_tokens);

		if (!json_object_is_type(max_tokens, json_type_int) || n < 1 || n > CHAT_MAX_TOKENS_MAX)
			return bad(why, whylen, "Field 'maxTokens' must be a whole number from 1 to %ld",
				   CHAT_MAX_TOKENS_MAX);
		out->max_tokens = (long)n;
	}
	if (temperature) {
		double t = json_object_get_double(temperature);

		if ((!json_object_is_type(temperature, json_type_double) &&
		     !json_object_is_type(temperature, json_type_int)) ||
		    !isfinite(t) || t < 0 || t > 2)
			return bad(why, whylen, "Field 'temperature' must be a number from 0 to 2");
		out->temperature = t;
		out->has_temperature = 1;
	}
	if (stream) {
		if (!json_object_is_type(stream, json_type_boolean))
			return bad(why, whylen, "Field 'stream' must be true or false");
		out->stream = json_object_get_boolean(stream);
	}
	return GK_OK;
}

int chat_request_parse(struct json_object *root, struct arena *arena, struct chat_request *out, char *why,
		       size_t whylen)
{
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (body_get_string(root, "provider", NULL, 1, &out->provider, &len, why, whylen) != GK_OK ||
	    body_get_string(root, "model", NULL, 1, &out->model, &len, why, whylen) != GK_OK)
		return GK_ERR;
	if (!chat_model_valid(out->model, len))
		return bad(why, whylen, "Field 'model' must be 1 to %d letters, digits and -._:/@+",
			   CHAT_MODEL_MAX);
	rc = parse_messages(root, arena, out, why, whylen);
	if (rc != GK_OK)
		return rc;
	return parse_options(root, out, why, whylen);
}
