#include "wire.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "status.h"

/* Provider replies nest deeper than request bodies (tool calls, safety
 * ratings), but not without bound. */
#define WIRE_DEPTH_MAX 64
/* A single piece of text is never larger than a whole reply may be. */
#define WIRE_TEXT_MAX (64 * 1024 * 1024)

/* No default: a style without a translator is NULL, never another style's
 * translator (which would send the key in the wrong header to the wrong
 * path). The registry refuses any style name it does not know. */
const struct wire_ops *wire_ops_for(enum wire_style style)
{
	switch (style) {
	case WIRE_OPENAI:
		return &wire_openai;
	case WIRE_ANTHROPIC:
		return &wire_anthropic;
	case WIRE_GEMINI:
		return &wire_gemini;
	}
	return NULL;
}

struct json_object *wire_parse_json(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(WIRE_DEPTH_MAX);
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj &&
	    (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len)) {
		/* Trailing whitespace is fine; anything else is not one value. */
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && strchr(" \t\r\n", text[end]))
			end++;
		if (end != len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	return obj;
}

struct json_object *wire_new_number(double value)
{
	char text[32];

	snprintf(text, sizeof(text), "%.6g", value);
	return json_object_new_double_s(value, text);
}

int wire_append(char **buf, size_t *len, const char *text, size_t text_len)
{
	char *grown;

	if (text_len > WIRE_TEXT_MAX || *len > WIRE_TEXT_MAX - text_len)
		return GK_NOMEM;
	grown = realloc(*buf, *len + text_len + 1);
	if (!grown)
		return GK_NOMEM;
	memcpy(grown + *len, text, text_len);
	*len += text_len;
	grown[*len] = '\0';
	*buf = grown;
	return GK_OK;
}

/* A token count: a non-negative integer member, else 0. */
long wire_get_count(struct json_object *obj, const char *name)
{
	struct json_object *member;
	int64_t n;

	if (!obj || !json_object_object_get_ex(obj, name, &member) ||
	    !json_object_is_type(member, json_type_int))
		return 0;
	n = json_object_get_int64(member);
	return n < 0 || n > INT32_MAX ? 0 : (long)n;
}

/* obj.a.b (b may be NULL) when it is a string, else NULL. */
const char *wire_get_path_string(struct json_object *obj, const char *a, const char *b)
{
	struct json_object *member;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, a, &member))
		return NULL;
	if (b && (!json_object_is_type(member, json_type_object) ||
		  !json_object_object_get_ex(member, b, &member)))
		return NULL;
	return json_object_is_type(member, json_type_string) ? json_object_get_string(member) : NULL;
}

int wire_build_chat(const struct wire_ops *ops, const struct chat_request *req, struct arena *arena,
		    struct wire_request *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	return ops->build_chat(req, arena, out, why, whylen);
}

void wire_request_release(struct wire_request *req)
{
	json_object_put(req->body);
	req->body = NULL;
}

int wire_parse_reply(const struct wire_ops *ops, const char *body, size_t len, struct wire_reply *out)
{
	struct json_object *root = wire_parse_json(body, len);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return GK_ERR;
	}
	rc = ops->parse_reply(root, out);
	json_object_put(root);
	if (rc == GK_OK && !out->content)
		rc = wire_append(&out->content, &out->content_len, "", 0);
	if (rc != GK_OK)
		wire_reply_release(out);
	return rc;
}

void wire_reply_release(struct wire_reply *reply)
{
	free(reply->content);
	reply->content = NULL;
	reply->content_len = 0;
}

int wire_parse_event(const struct wire_ops *ops, const char *data, size_t len, struct wire_event *out,
		     struct chat_usage *usage)
{
	struct json_object *root;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		out->done = 1;
		return GK_OK;
	}
	root = wire_parse_json(data, len);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		wire_event_fail(out, "an event that is not JSON", NULL);
		return GK_ERR;
	}
	rc = ops->parse_event(root, out, usage);
	json_object_put(root);
	if (rc != GK_OK)
		wire_event_release(out);
	return rc;
}

static void copy_printable(const char *s, char *out, size_t outlen);

/* Sets the event's error: why, then the provider's message from root when
 * it has one ({"error":{"message"}}). */
void wire_event_fail(struct wire_event *event, const char *why, struct json_object *root)
{
	const char *message = wire_get_path_string(root, "error", "message");
	size_t used;

	snprintf(event->error, sizeof(event->error), "%s", why);
	used = strlen(event->error);
	if (message && used + 3 < sizeof(event->error)) {
		memcpy(event->error + used, ": ", 3);
		copy_printable(message, event->error + used + 2, sizeof(event->error) - used - 2);
	}
}

void wire_event_release(struct wire_event *event)
{
	free(event->delta);
	event->delta = NULL;
	event->delta_len = 0;
}

int wire_key_rejected(const struct wire_ops *ops, long status, const char *body, size_t len)
{
	struct json_object *root;
	int rejected;

	if (status == 401 || status == 403)
		return 1;
	if (!ops->key_rejected)
		return 0;
	root = wire_parse_json(body, len);
	rejected = ops->key_rejected(status, root);
	json_object_put(root);
	return rejected;
}

static void copy_printable(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *s && o + 1 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		out[o++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	out[o] = '\0';
}

/* Turns every byte that is not printable ASCII into a space, in place, up
 * to the first NUL. */
static void make_printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = ' ';
}

void wire_error_message(const char *body, size_t len, const char *key, size_t key_len, char *out,
			size_t outlen)
{
	struct json_object *root = wire_parse_json(body, len);
	const char *message = wire_get_path_string(root, "error", "message");

	out[0] = '\0';
	if (!message)
		message = wire_get_path_string(root, "message", NULL);
	if (message) {
		/* The whole message is redacted, then cut to out, so that as much
		 * of the provider's sentence as fits is shown. */
		redact_key(message, strlen(message), key ? key : "", key ? key_len : 0, out, outlen);
		make_printable(out);
	}
	json_object_put(root);
}
