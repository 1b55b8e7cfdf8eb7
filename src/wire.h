/* wire.h: what each provider wire style sends and receives.
 *
 * One translator per style (wire_openai.c, wire_anthropic.c, wire_gemini.c)
 * turns a struct chat_request into the provider's request and the
 * provider's reply, or each event of its stream, back into one shape. They
 * are pure functions of JSON text: no network, no libcurl, no key (the
 * client adds the key header itself), so they are unit-tested and fuzzed
 * alone. docs/llm.md shows the exchanges. */
#ifndef GK_WIRE_H
#define GK_WIRE_H

#include <stddef.h>

#include "arena.h"
#include "chat.h"
#include "registry.h"

struct json_object;

struct wire_request {
	const char *path;	  /* appended to the base URL; in the arena */
	struct json_object *body; /* owned; NULL for a GET */
};

/* A whole reply. content is malloc'd (it may be larger than the arena). */
struct wire_reply {
	char *content;
	size_t content_len;
	struct chat_usage usage;
};

/* What one stream event meant. delta is malloc'd, NULL when the event
 * carried no text; usage is updated in place as events report it. */
#define WIRE_ERROR_MAX 160

struct wire_event {
	char *delta;
	size_t delta_len;
	int done;		    /* the provider said the reply is complete */
	char error[WIRE_ERROR_MAX]; /* non-empty: the stream failed, and why */
};

struct wire_ops {
	enum wire_style style;
	const char *auth_prefix;    /* the key header, up to the key */
	const char *const *headers; /* further fixed headers, NULL-terminated */
	const char *models_path;    /* the cheapest authenticated GET */
	int (*build_chat)(const struct chat_request *req, struct arena *arena, struct wire_request *out,
			  char *why, size_t whylen);
	int (*parse_reply)(struct json_object *root, struct wire_reply *out);
	int (*parse_event)(struct json_object *root, struct wire_event *out, struct chat_usage *usage);
	/* 1 when a status other than 401 and 403 (which always mean a refused
	 * key) and the body say the key was refused, as Gemini's 400
	 * API_KEY_INVALID does. NULL: only 401 and 403 refuse. */
	int (*key_rejected)(long status, struct json_object *error_body);
};

extern const struct wire_ops wire_openai;
extern const struct wire_ops wire_anthropic;
extern const struct wire_ops wire_gemini;

/* The translator of style; NULL when there is none (callers check). */
const struct wire_ops *wire_ops_for(enum wire_style style);

/* Translates req for style: GK_OK, or GK_ERR with why (HTTP 422). */
int wire_build_chat(const struct wire_ops *ops, const struct chat_request *req, struct arena *arena,
		    struct wire_request *out, char *why, size_t whylen);
void wire_request_release(struct wire_request *req);

/* Parses a complete 2xx reply body. GK_ERR when it is not JSON or not the
 * style's shape. */
int wire_parse_reply(const struct wire_ops *ops, const char *body, size_t len, struct wire_reply *out);
void wire_reply_release(struct wire_reply *reply);

/* Parses the data of one stream event. "[DONE]" (openai) is done; data
 * that is not a JSON object, or an error event, returns GK_ERR with
 * out->error set: printable, with the provider's own message when it gave
 * one. That message may quote the key, and the translators never see the
 * key: the caller passes out->error through redact_key() before anyone
 * else reads it (llm.c does, for every detail it hands out). */
int wire_parse_event(const struct wire_ops *ops, const char *data, size_t len, struct wire_event *out,
		     struct chat_usage *usage);
void wire_event_release(struct wire_event *event);

int wire_key_rejected(const struct wire_ops *ops, long status, const char *body, size_t len);

/* The provider's own error sentence from an error body ({"error":
 * {"message"}} in all three styles, else {"message"}), passed through
 * redact_key() with key (NULL: none) in case the provider echoes it, then
 * cut to outlen - 1 and made printable ASCII. "" when there is none. */
void wire_error_message(const char *body, size_t len, const char *key, size_t key_len, char *out,
			size_t outlen);

/* Helpers for the translators. */
/* A JSON number written as the caller would ("0.7", not 0.69999...). */
struct json_object *wire_new_number(double value);
void wire_event_fail(struct wire_event *event, const char *why, struct json_object *root);
struct json_object *wire_parse_json(const char *text, size_t len);
int wire_append(char **buf, size_t *len, const char *text, size_t text_len);
long wire_get_count(struct json_object *obj, const char *name);
const char *wire_get_path_string(struct json_object *obj, const char *a, const char *b);

#endif
