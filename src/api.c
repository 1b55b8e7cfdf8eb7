#include "api.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "body.h"
#include "chat.h"
#include "cors.h"
#include "event_stream.h"
#include "identity.h"
#include "jsonw.h"
#include "jwt.h"
#include "llm.h"
#include "llm_limit.h"
#include "log.h"
#include "mask.h"
#include "resolve.h"
#include "seal.h"
#include "status.h"
#include "usage.h"
#include "wire.h"

/* Provider ids are echoed in errors only this far, so a key pasted into a
 * path is never sent back whole. */
#define ECHO_MAX 40

/* Cap of a reply written with jsonw: 64 providers with long descriptions. */
#define REPLY_MAX (256 * 1024)

struct exchange {
	struct app *app;
	struct http_request *req;
	struct http_response *resp;
	const struct route_result *route;
	const char *user;
};

typedef int (*handler_fn)(struct exchange *ex);

static int key_store_unavailable(struct exchange *ex)
{
	return http_fail(ex->resp, 503, "Key store unavailable");
}

/* GK_UNCERTAIN: Redis took the write but too few replicas confirmed it
 * (GOFANNON_REDIS_MIN_REPLICAS), so a failover may or may not keep it. */
static int write_unconfirmed(struct exchange *ex)
{
	return http_fail(ex->resp, 503, "Key store unavailable: the write may or may not have been applied");
}

static int unknown_provider(struct exchange *ex, const char *id)
{
	size_t len = strlen(id);

	return http_failf(ex->resp, ex->req->arena, 400, "Unknown provider: %.*s%s",
			  (int)(len > ECHO_MAX ? ECHO_MAX : len), id, len > ECHO_MAX ? "..." : "");
}

/* The provider named in the path, or NULL with a 400 set. */
static const struct provider *path_provider(struct exchange *ex)
{
	const struct provider *p = registry_find(&ex->app->registry, ex->route->provider);

	if (!p)
		unknown_provider(ex, ex->route->provider);
	return p;
}

static int require_user_keys(struct exchange *ex, const struct provider *p)
{
	if (p->user_key_field)
		return GK_OK;
	return http_failf(ex->resp, ex->req->arena, 400,
			  "Provider %s does not take user keys; it uses the system-wide key only", p->id);
}

static struct stored_key *fetch_keys(struct exchange *ex)
{
	struct app *app = ex->app;
	struct stored_key *stored = arena_alloc(ex->req->arena, app->registry.count * sizeof(*stored));
	int rc;

	if (!stored) {
		http_fail(ex->resp, 500, "Out of memory");
		return NULL;
	}
	rc = keystore_fetch(&app->store, ex->req->arena, ex->user, &app->registry, stored);
	if (rc != GK_OK) {
		if (rc == GK_UNAVAILABLE)
			key_store_unavailable(ex);
		else
			http_fail(ex->resp, 500, "Unable to read the key store");
		return NULL;
	}
	return stored;
}

static size_t provider_index(const struct app *app, const struct provider *p)
{
	return (size_t)(p - app->registry.providers);
}

/* The mask of the stored key, or NULL when none is stored or it does not
 * open (GET /api/providers and .../effective say why). */
/* Writes the mask of the stored key, or null when none is stored or it does
 * not open (GET /api/providers and .../effective say why). */
static void write_stored_mask(struct exchange *ex, struct jsonw *w, const struct provider *p,
			      const struct stored_key *sk)
{
	struct secret plain;
	enum open_result result;
	char mask[MASK_MAX + 1];

	if (!sk->sealed) {
		jsonw_null(w);
		return;
	}
	result = open_value(&ex->app->keyring, ex->user, p->id, sk->sealed, sk->sealed_len, &plain);
	if (result != OPEN_OK) {
		log_event(LOG_WARN, "stored_key_unreadable", "provider=%s reason=%d", p->id, (int)result);
		jsonw_null(w);
		return;
	}
	mask_key(plain.value, plain.len, mask);
	secret_wipe(&plain);
	jsonw_string(w, mask);
}

/* Answers 200 with what w wrote, or 500 when it did not fit. */
static int reply_written(struct exchange *ex, struct jsonw *w)
{
	size_t len;
	const char *body = jsonw_finish(w, &len);

	if (!body)
		return http_fail(ex->resp, 500, "Out of memory");
	return http_ok_raw(ex->resp, body, len);
}

/* {"openaiApiKey": "sk-...wxyz" | null, ...} in registry order. */
static int reply_key_masks(struct exchange *ex)
{
	struct stored_key *stored = fetch_keys(ex);
	struct jsonw w;

	if (!stored)
		return GK_ERR;
	jsonw_init(&w, ex->req->arena, REPLY_MAX);
	jsonw_object_begin(&w);
	for (size_t i = 0; i < ex->app->registry.count; i++) {
		const struct provider *p = &ex->app->registry.providers[i];

		if (!p->user_key_field)
			continue;
		jsonw_key(&w, p->user_key_field);
		write_stored_mask(ex, &w, p, &stored[i]);
	}
	jsonw_object_end(&w);
	return reply_written(ex, &w);
}

static int handle_health(struct exchange *ex)
{
	struct json_object *obj;
	char buf[300];
	const char *master;

	if (keystore_ping(&ex->app->store) != GK_OK)
		return key_store_unavailable(ex);
	obj = json_object_new_object();
	json_object_object_add(obj, "status", json_object_new_string("ok"));
	/* With sentinels: which server this worker found to be the master. */
	master = keystore_master(&ex->app->store, buf, sizeof(buf));
	if (master) {
		struct json_object *redis = json_object_new_object();

		json_object_object_add(redis, "master", json_object_new_string(master));
		json_object_object_add(obj, "redis", redis);
	}
	return http_ok(ex->resp, obj);
}

static int handle_me(struct exchange *ex)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "id", json_object_new_string(ex->user));
	return http_ok(ex->resp, obj);
}

static int handle_get_keys(struct exchange *ex)
{
	return reply_key_masks(ex);
}

/* Reads the JSON object body of a PUT or POST: 413, 415, 422 as the spec
 * orders them. A POST may send no body at all when body_optional is set. */
static int read_json_body(struct exchange *ex, int body_optional, struct json_object **root)
{
	size_t len;
	char *text;
	const char *why;

	*root = NULL;
	if (http_body_length(ex->req, ex->resp, &len) != GK_OK)
		return GK_ERR;
	if (len == 0 && body_optional)
		return GK_OK;
	if (!http_content_type_is_json(ex->req->content_type))
		return http_fail(ex->resp, 415, "Content-Type must be application/json");
	if (http_read_body(ex->req, ex->resp, len, &text) != GK_OK)
		return GK_ERR;
	if (body_parse_object(text, len, root, &why) != GK_OK)
		return http_fail(ex->resp, 422, why);
	return GK_OK;
}

static void format_utc_now(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int store_key(struct exchange *ex, const struct provider *p, const char *key, size_t len)
{
	char *sealed = arena_alloc(ex->req->arena, SEALED_MAX);
	char updated_at[32];
	int rc;

	if (!sealed)
		return http_fail(ex->resp, 500, "Out of memory");
	if (seal_value(&ex->app->keyring, ex->user, p->id, key, len, sealed, SEALED_MAX) != GK_OK)
		return http_fail(ex->resp, 500, "Unable to seal the key");
	format_utc_now(updated_at);
	rc = keystore_put(&ex->app->store, ex->user, p->user_key_field, sealed, updated_at);
	if (rc == GK_UNAVAILABLE)
		return key_store_unavailable(ex);
	if (rc == GK_UNCERTAIN)
		return write_unconfirmed(ex);
	if (rc != GK_OK)
		return http_fail(ex->resp, 500, "Unable to store the key");
	log_event(LOG_INFO, "key_stored", "provider=%s", p->id);
	return GK_OK;
}

/* The provider and the key (apiKey, or Gofannon's api_key) of a PUT body;
 * a 422 naming the field when one is missing or not a string. */
static int put_body_fields(struct exchange *ex, struct json_object *root, const char **provider_id,
			   const char **value, size_t *value_len)
{
	char why[96];
	size_t provider_len;

	if (body_get_string(root, "provider", NULL, 1, provider_id, &provider_len, why, sizeof(why)) != GK_OK)
		return http_fail(ex->resp, 422, why);
	if (body_get_string(root, "apiKey", "api_key", 1, value, value_len, why, sizeof(why)) != GK_OK)
		return http_fail(ex->resp, 422, why);
	return GK_OK;
}

static int handle_put_key(struct exchange *ex)
{
	struct json_object *root;
	const char *provider_id, *value, *key, *why;
	size_t value_len, key_len;
	const struct provider *p;
	int rc = GK_ERR;

	if (read_json_body(ex, 0, &root) != GK_OK)
		return GK_ERR;
	if (put_body_fields(ex, root, &provider_id, &value, &value_len) != GK_OK)
		goto out;
	p = registry_find(&ex->app->registry, provider_id);
	if (!p) {
		unknown_provider(ex, provider_id);
		goto out;
	}
	if (require_user_keys(ex, p) != GK_OK)
		goto out;
	if (apikey_normalize(value, value_len, &key, &key_len, &why) != GK_OK) {
		http_fail(ex->resp, 422, why);
		goto out;
	}
	if (store_key(ex, p, key, key_len) != GK_OK)
		goto out;
	rc = reply_key_masks(ex);
out:
	body_free(root);
	return rc;
}

static int handle_delete_key(struct exchange *ex)
{
	const struct provider *p = path_provider(ex);
	int rc;

	if (!p || require_user_keys(ex, p) != GK_OK)
		return GK_ERR;
	rc = keystore_delete(&ex->app->store, ex->user, p->user_key_field);
	if (rc == GK_UNAVAILABLE)
		return key_store_unavailable(ex);
	if (rc == GK_UNCERTAIN)
		return write_unconfirmed(ex);
	if (rc != GK_OK)
		return http_fail(ex->resp, 500, "Unable to delete the key");
	log_event(LOG_INFO, "key_deleted", "provider=%s", p->id);
	return reply_key_masks(ex);
}

static struct json_object *json_source(enum key_source source)
{
	const char *name = key_source_name(source);

	return name ? json_object_new_string(name) : NULL;
}

/* Reads the user's keys and resolves p's effective key into *eff (wipe it
 * with effective_key_wipe); GK_ERR with the 503 or 500 set when Redis fails. */
static int resolve_for(struct exchange *ex, const struct provider *p, struct effective_key *eff)
{
	struct stored_key *stored = fetch_keys(ex);

	if (!stored)
		return GK_ERR;
	resolve_effective_key(&ex->app->keyring, &ex->app->envkeys, ex->user, p,
			      &stored[provider_index(ex->app, p)], eff);
	return GK_OK;
}

static int handle_effective(struct exchange *ex)
{
	const struct provider *p = path_provider(ex);
	struct effective_key eff;
	struct json_object *obj;

	if (!p || resolve_for(ex, p, &eff) != GK_OK)
		return GK_ERR;
	obj = json_object_new_object();
	json_object_object_add(obj, "provider", json_object_new_string(p->id));
	json_object_object_add(obj, "hasKey", json_object_new_boolean(eff.has_key));
	/* Gofannon's own front end and backend spell it has_key. */
	json_object_object_add(obj, "has_key", json_object_new_boolean(eff.has_key));
	json_object_object_add(obj, "source", json_source(eff.source));
	if (eff.error)
		json_object_object_add(obj, "error", json_object_new_string(eff.error));
	effective_key_wipe(&eff);
	return http_ok(ex->resp, obj);
}

/* The userKey member of a provider's status; eff was resolved from sk, so
 * the stored key is opened once per provider. */
/* The userKey member of a provider's status; eff was resolved from sk, so
 * the stored key is opened once per provider. */
static void write_user_key_status(struct jsonw *w, const struct provider *p, const struct stored_key *sk,
				  const struct effective_key *eff)
{
	char mask[MASK_MAX + 1];
	int opened = eff->source == SOURCE_USER && eff->has_key;

	if (!p->user_key_field) {
		jsonw_null(w);
		return;
	}
	if (opened)
		mask_key(eff->key.value, eff->key.len, mask);
	jsonw_object_begin(w);
	jsonw_key(w, "configured");
	jsonw_bool(w, sk->sealed != NULL);
	jsonw_key(w, "masked");
	jsonw_string(w, opened ? mask : NULL);
	jsonw_key(w, "updatedAt");
	jsonw_string(w, sk->updated_at);
	if (eff->error) {
		jsonw_key(w, "error");
		jsonw_string(w, eff->error);
	}
	jsonw_object_end(w);
}

static void write_provider_status(struct exchange *ex, struct jsonw *w, const struct provider *p,
				  const struct stored_key *sk)
{
	struct effective_key eff;

	resolve_effective_key(&ex->app->keyring, &ex->app->envkeys, ex->user, p, sk, &eff);
	jsonw_object_begin(w);
	jsonw_key(w, "id");
	jsonw_string(w, p->id);
	jsonw_key(w, "name");
	jsonw_string(w, p->name);
	jsonw_key(w, "description");
	jsonw_string(w, p->description);
	jsonw_key(w, "envVar");
	jsonw_string(w, p->env_var);
	jsonw_key(w, "userKeys");
	jsonw_bool(w, p->user_key_field != NULL);
	jsonw_key(w, "userKey");
	write_user_key_status(w, p, sk, &eff);
	jsonw_key(w, "envKey");
	jsonw_bool(w, envkeys_of(&ex->app->envkeys, p) != NULL);
	jsonw_key(w, "available");
	jsonw_bool(w, eff.has_key);
	jsonw_key(w, "source");
	jsonw_string(w, key_source_name(eff.source));
	/* Verify costs money where the provider has no free authenticated call. */
	jsonw_key(w, "verifyBilled");
	jsonw_bool(w, p->verify && strcmp(p->verify, "chat") == 0);
	jsonw_object_end(w);
	effective_key_wipe(&eff);
}

static int handle_providers(struct exchange *ex)
{
	struct stored_key *stored = fetch_keys(ex);
	struct jsonw w;

	if (!stored)
		return GK_ERR;
	jsonw_init(&w, ex->req->arena, REPLY_MAX);
	jsonw_object_begin(&w);
	jsonw_key(&w, "providers");
	jsonw_array_begin(&w);
	for (size_t i = 0; i < ex->app->registry.count; i++)
		write_provider_status(ex, &w, &ex->app->registry.providers[i], &stored[i]);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return reply_written(ex, &w);
}

/* ---- calls to providers (docs/llm.md) ------------------------------------- */

/* The effective key of p in *eff, or GK_ERR with the 400 set when there is
 * none. A stored key that does not open is not replaced by the system key. */
static int require_effective_key(struct exchange *ex, const struct provider *p, struct effective_key *eff)
{
	if (resolve_for(ex, p, eff) != GK_OK)
		return GK_ERR;
	if (eff->has_key)
		return GK_OK;
	if (eff->error)
		return http_failf(
			ex->resp, ex->req->arena, 400,
			"Provider unavailable: the stored API key for %s cannot be read; store it again",
			p->id);
	return http_failf(ex->resp, ex->req->arena, 400, "Provider unavailable: no API key for %s", p->id);
}

static void log_llm_call(const char *op, const struct provider *p, const char *source,
			 const struct llm_outcome *o)
{
	log_event(o->result == LLM_OK ? LOG_INFO : LOG_WARN, "llm_call",
		  "op=%s provider=%s source=%s result=%s upstream_status=%ld input_tokens=%ld "
		  "output_tokens=%ld",
		  op, p->id, source ? source : "-", llm_result_name(o->result), o->http_status,
		  o->usage.input_tokens, o->usage.output_tokens);
}

static int llm_status(const struct llm_outcome *o)
{
	switch (o->result) {
	case LLM_TIMEOUT:
		return 504;
	case LLM_CLIENT_GONE:
		return 499; /* nginx's code; nobody reads the reply */
	default:
		return 502;
	}
}

/* The reply for a call that failed, naming the key source actually used
 * when the provider refused the key. */
static int llm_fail(struct exchange *ex, const struct provider *p, enum key_source source,
		    const struct llm_outcome *o)
{
	if (o->result == LLM_REJECTED)
		return http_failf(ex->resp, ex->req->arena, 502,
				  "Invalid API key for %s. Please check your %s API key.", p->id,
				  source == SOURCE_USER ? "user-specific" : "system-wide");
	return http_fail(ex->resp, llm_status(o), o->detail);
}

/* Once the provider accepted the request it is billed: count it. */
static void count_usage(struct exchange *ex, const struct provider *p, const struct llm_outcome *o)
{
	if (o->http_status < 200 || o->http_status > 299)
		return;
	if (usage_add(&ex->app->store, ex->user, p->id, &o->usage, time(NULL)) != GK_OK)
		log_event(LOG_WARN, "usage_not_counted", "provider=%s", p->id);
}

static struct json_object *usage_json(const struct chat_usage *usage)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "inputTokens", json_object_new_int64(usage->input_tokens));
	json_object_object_add(obj, "outputTokens", json_object_new_int64(usage->output_tokens));
	return obj;
}

/* {"provider","model",["content",]"usage","keySource"} */
static struct json_object *chat_result(const struct provider *p, const struct chat_request *req,
				       const struct wire_reply *reply, const struct llm_outcome *o,
				       enum key_source source)
{
	struct json_object *obj = json_object_new_object();

	json_object_object_add(obj, "provider", json_object_new_string(p->id));
	json_object_object_add(obj, "model", json_object_new_string(req->model));
	if (reply)
		json_object_object_add(obj, "content",
				       json_object_new_string_len(reply->content, (int)reply->content_len));
	json_object_object_add(obj, "usage", usage_json(&o->usage));
	json_object_object_add(obj, "keySource", json_source(source));
	return obj;
}

static int client_gone(void *ctx)
{
	struct exchange *ex = ctx;

	return ex->req->stream.gone ? ex->req->stream.gone(ex->req->stream.ctx) : 0;
}

static int chat_whole(struct exchange *ex, const struct provider *p, const struct chat_request *req,
		      const struct wire_request *wire, const struct effective_key *eff)
{
	const struct llm_target target = { p, &eff->key, ex->app->config->llm_timeout_s };
	const struct llm_sink sink = { NULL, NULL, client_gone, ex };
	struct wire_reply reply;
	struct llm_outcome o;
	int rc;

	llm_chat(&target, wire, ex->req->arena, &sink, &reply, &o);
	log_llm_call("chat", p, key_source_name(eff->source), &o);
	count_usage(ex, p, &o);
	if (o.result != LLM_OK)
		return llm_fail(ex, p, eff->source, &o);
	rc = http_ok(ex->resp, chat_result(p, req, &reply, &o, eff->source));
	wire_reply_release(&reply);
	return rc;
}

/* The stream's headers go out when the provider has answered 2xx. */
static int stream_begin(void *ctx)
{
	struct exchange *ex = ctx;

	/* From here on the reply is ours to write, even if this write fails. */
	ex->resp->streamed = 1;
	ex->resp->status = 200;
	return event_stream_begin(&ex->req->stream, ex->resp->headers, ex->resp->header_count);
}

static int stream_delta(void *ctx, const char *text, size_t len)
{
	struct exchange *ex = ctx;
	struct json_object *data = json_object_new_object();

	json_object_object_add(data, "delta", json_object_new_string_len(text, (int)len));
	return event_stream_send(&ex->req->stream, NULL, data);
}

static int chat_streamed(struct exchange *ex, const struct provider *p, const struct chat_request *req,
			 const struct wire_request *wire, const struct effective_key *eff)
{
	const struct llm_target target = { p, &eff->key, ex->app->config->llm_timeout_s };
	const struct llm_sink sink = { stream_begin, stream_delta, client_gone, ex };
	struct llm_outcome o;

	llm_chat_stream(&target, wire, ex->req->arena, &sink, &o);
	log_llm_call("chat_stream", p, key_source_name(eff->source), &o);
	count_usage(ex, p, &o);
	if (!o.stream_started) {
		/* Nothing sent yet: a failure is an ordinary JSON error. */
		if (o.result != LLM_OK)
			return llm_fail(ex, p, eff->source, &o);
		if (stream_begin(ex) != 0)
			return GK_ERR;
	}
	if (o.result == LLM_OK) {
		struct json_object *done = chat_result(p, req, NULL, &o, eff->source);

		return event_stream_send(&ex->req->stream, "done", done) == 0 ? GK_OK : GK_ERR;
	}
	if (o.result != LLM_CLIENT_GONE) {
		struct json_object *error = json_object_new_object();

		json_object_object_add(error, "status", json_object_new_int(llm_status(&o)));
		json_object_object_add(error, "detail", json_object_new_string(o.detail));
		event_stream_send(&ex->req->stream, "error", error);
	}
	return GK_ERR;
}

/* Takes one of the user's GOFANNON_LLM_PER_USER leases for the call about
 * to start (llm_limit.h); over the limit answers 429 with Retry-After. */
static int take_llm_lease(struct exchange *ex, struct llm_lease *lease)
{
	const struct config *cfg = ex->app->config;
	int rc = llm_limit_acquire(&ex->app->store, cfg->llm_per_user, cfg->llm_timeout_s, ex->user, lease);

	if (rc == GK_OK)
		return GK_OK;
	if (rc != GK_CONFLICT)
		return key_store_unavailable(ex);
	http_fail(ex->resp, 429, "Too many LLM calls in progress for this user");
	http_header_add(ex->resp, "Retry-After", LLM_LIMIT_RETRY_AFTER);
	return GK_ERR;
}

/* A model the wire style cannot carry is the caller's mistake (422), found
 * before any key is read. */
static int translate_chat(struct exchange *ex, const struct provider *p, const struct chat_request *req,
			  struct wire_request *wire)
{
	const struct wire_ops *ops = wire_ops_for(p->wire_style);
	char why[160];

	if (!ops) /* the registry refuses such a provider: never reached */
		return http_failf(ex->resp, ex->req->arena, 500, "%s has no wire style translator", p->id);
	if (wire_build_chat(ops, req, ex->req->arena, wire, why, sizeof(why)) != GK_OK)
		return http_fail(ex->resp, 422, why);
	return GK_OK;
}

static int handle_chat(struct exchange *ex)
{
	struct json_object *root;
	struct chat_request req;
	struct wire_request wire = { NULL, NULL };
	struct effective_key eff;
	struct llm_lease lease = { "", NULL };
	const struct provider *p;
	char why[160];
	int parsed, rc = GK_ERR;

	memset(&eff, 0, sizeof(eff));
	if (read_json_body(ex, 0, &root) != GK_OK)
		return GK_ERR;
	parsed = chat_request_parse(root, ex->req->arena, &req, why, sizeof(why));
	if (parsed != GK_OK) {
		http_fail(ex->resp, parsed == GK_NOMEM ? 500 : 422, why);
		goto out;
	}
	p = registry_find(&ex->app->registry, req.provider);
	if (!p) {
		unknown_provider(ex, req.provider);
		goto out;
	}
	if (translate_chat(ex, p, &req, &wire) != GK_OK || require_effective_key(ex, p, &eff) != GK_OK ||
	    take_llm_lease(ex, &lease) != GK_OK)
		goto out;
	rc = req.stream ? chat_streamed(ex, p, &req, &wire, &eff) : chat_whole(ex, p, &req, &wire, &eff);
out:
	llm_limit_release(&ex->app->store, &lease);
	effective_key_wipe(&eff);
	wire_request_release(&wire);
	body_free(root);
	return rc;
}

/* ---- verify ---- */

/* {"apiKey"} from a verify body, validated like PUT and never stored: *key
 * points into root, NULL when the body names no key. */
static int candidate_key(struct exchange *ex, struct json_object *root, const char **key, size_t *len)
{
	const char *value = NULL, *why;
	size_t value_len = 0;
	char detail[96];
	int rc;

	*key = NULL;
	*len = 0;
	if (!root)
		return GK_OK;
	rc = body_get_string(root, "apiKey", "api_key", 0, &value, &value_len, detail, sizeof(detail));
	if (rc != GK_OK)
		return http_fail(ex->resp, 422, detail);
	if (value && apikey_normalize(value, value_len, key, len, &why) != GK_OK)
		return http_fail(ex->resp, 422, why);
	return GK_OK;
}

/* {"provider","source","valid","detail"}: valid is true when the provider
 * accepted the key, false when it refused it, null when it could not say. */
static struct json_object *verify_result(const struct provider *p, const char *source, struct llm_outcome *o)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *valid = NULL;

	if (o->result == LLM_OK) {
		snprintf(o->detail, sizeof(o->detail), "%s accepted the key", p->name);
		valid = json_object_new_boolean(1);
	} else if (o->result == LLM_REJECTED) {
		valid = json_object_new_boolean(0);
	}
	json_object_object_add(obj, "provider", json_object_new_string(p->id));
	json_object_object_add(obj, "source", source ? json_object_new_string(source) : NULL);
	json_object_object_add(obj, "valid", valid);
	json_object_object_add(obj, "detail", json_object_new_string(o->detail));
	return obj;
}

static int handle_verify(struct exchange *ex)
{
	struct json_object *root;
	struct effective_key eff;
	const struct provider *p;
	const char *key, *source;
	size_t key_len;
	struct llm_target target;
	struct llm_outcome o;
	struct llm_lease lease = { "", NULL };
	int rc = GK_ERR;

	memset(&eff, 0, sizeof(eff));
	if (read_json_body(ex, 1, &root) != GK_OK)
		return GK_ERR;
	/* The body (422) is checked before the path's provider (400). */
	if (candidate_key(ex, root, &key, &key_len) != GK_OK || !(p = path_provider(ex)))
		goto out;
	if (key) {
		memcpy(eff.key.value, key, key_len);
		eff.key.value[key_len] = '\0';
		eff.key.len = key_len;
		source = "candidate";
	} else if (require_effective_key(ex, p, &eff) == GK_OK) {
		source = key_source_name(eff.source);
	} else {
		goto out;
	}
	/* A verify is a provider call too, bounded by the same timeout: it counts. */
	if (take_llm_lease(ex, &lease) != GK_OK)
		goto out;
	target = (struct llm_target){ p, &eff.key, ex->app->config->llm_timeout_s };
	llm_verify(&target, ex->req->arena, &o);
	log_llm_call("verify", p, source, &o);
	rc = http_ok(ex->resp, verify_result(p, source, &o));
out:
	llm_limit_release(&ex->app->store, &lease);
	effective_key_wipe(&eff);
	body_free(root);
	return rc;
}

static int handle_usage(struct exchange *ex)
{
	char month[USAGE_MONTH_LEN + 1];
	struct json_object *obj;
	int rc;

	usage_month(time(NULL), month);
	rc = usage_get(&ex->app->store, ex->user, month, &ex->app->registry, &obj);
	if (rc == GK_UNAVAILABLE)
		return key_store_unavailable(ex);
	if (rc != GK_OK)
		return http_fail(ex->resp, 500, "Unable to read usage");
	return http_ok(ex->resp, obj);
}

static const handler_fn handlers[ROUTE_COUNT] = {
	[ROUTE_HEALTH] = handle_health,
	[ROUTE_ME] = handle_me,
	[ROUTE_API_KEYS_GET] = handle_get_keys,
	[ROUTE_API_KEYS_PUT] = handle_put_key,
	[ROUTE_API_KEY_DELETE] = handle_delete_key,
	[ROUTE_API_KEY_EFFECTIVE] = handle_effective,
	[ROUTE_API_KEY_VERIFY] = handle_verify,
	[ROUTE_PROVIDERS] = handle_providers,
	[ROUTE_LLM_CHAT] = handle_chat,
	[ROUTE_USAGE] = handle_usage,
};

static int changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Refuses a request for want of a usable bearer token. Missing or not,
 * the challenge is the same (docs/api.md): a front end that lost its token
 * and one whose token expired both have to get a new one. */
static int token_refused(struct exchange *ex, const char *reason, int presented)
{
	log_event(presented ? LOG_WARN : LOG_INFO, "token_refused", "reason=%s", reason);
	http_fail(ex->resp, 401, "Not authenticated");
	http_header_add(ex->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	return GK_ERR;
}

/* The user a verified bearer token names. Only asked when tokens are
 * configured and nginx set no identity: a token never overrides one nginx
 * has already established. */
static int token_user(struct exchange *ex, const char **user)
{
	const struct config *cfg = ex->app->config;
	struct jwt_policy policy = { cfg->jwt_issuer, cfg->jwt_audience, cfg->jwt_user_claim };
	time_t now = time(NULL);
	const char *token, *reason;
	size_t len;
	char *found;

	if (!jwt_bearer(ex->req->authorization, &token, &len))
		return token_refused(ex, "missing", 0);
	found = arena_alloc(ex->req->arena, JWT_USER_MAX + 1);
	if (!found)
		return http_fail(ex->resp, 500, "Out of memory");
	if (jwt_verify(token, len, app_token_keys(ex->app, now), &policy, now, found, JWT_USER_MAX + 1,
		       &reason) != GK_OK)
		return token_refused(ex, reason, 1);
	*user = found;
	return GK_OK;
}

static int tokens_configured(const struct config *cfg)
{
	return cfg->jwt_keys_file != NULL;
}

static int check_caller(struct exchange *ex)
{
	const char *why = NULL;
	const char *user = ex->req->user;

	if (ex->route->needs_identity) {
		if ((!user || !*user) && tokens_configured(ex->app->config) && token_user(ex, &user) != GK_OK)
			return GK_ERR;
		switch (identity_check(user, &why)) {
		case IDENTITY_OK:
			ex->user = user;
			ex->req->user = user; /* the request's log line names who it was */
			break;
		case IDENTITY_MISSING:
			return http_fail(ex->resp, 401, "Not authenticated");
		case IDENTITY_INVALID:
			return http_fail(ex->resp, 400, why);
		}
	}
	if (changes_state(ex->req->method) &&
	    !http_origin_allowed(ex->req->origin, ex->req->scheme, ex->req->host,
				 ex->app->config->allowed_origins))
		return http_fail(ex->resp, 403, "Origin not allowed");
	return GK_OK;
}

/* A CORS preflight: 204 with the methods the path serves, whoever asks and
 * with no identity, since browsers send preflights without credentials.
 * An unlisted origin gets the 204 without CORS headers, which tells its
 * page nothing and makes the browser refuse the real request. */
static void answer_preflight(struct exchange *ex)
{
	const char *allow = arena_printf(ex->req->arena, "%s, OPTIONS", ex->route->allow);

	if (!allow) {
		http_fail(ex->resp, 500, "Out of memory");
		return;
	}
	ex->resp->status = 204;
	if (http_header_add(ex->resp, "Allow", allow) != GK_OK ||
	    cors_preflight_headers(ex->resp, ex->req->origin, ex->app->config->allowed_origins,
				   ex->route->allow) != GK_OK)
		http_fail(ex->resp, 500, "Too many reply headers");
}

void api_handle(struct app *app, struct http_request *req, struct http_response *resp,
		struct route_result *route)
{
	struct exchange ex = { app, req, resp, route, NULL };

	/* The one place every reply, errors included, gets its CORS headers;
	 * a streamed reply copies them from resp (stream_begin). */
	if (cors_reply_headers(resp, req->origin, app->config->allowed_origins) != GK_OK) {
		http_fail(resp, 500, "Too many reply headers");
		return;
	}
	switch (router_match(req->method, req->path, route)) {
	case ROUTE_PREFLIGHT:
		answer_preflight(&ex);
		return;
	case ROUTE_NOT_FOUND:
		http_fail(resp, 404, "Not found");
		return;
	case ROUTE_METHOD_NOT_ALLOWED:
		http_fail(resp, 405, "Method not allowed");
		http_header_add(resp, "Allow", route->allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	if (check_caller(&ex) != GK_OK)
		return;
	handlers[route->id](&ex);
}
