/* api_llm.c: the endpoints that call a provider with the caller's effective
 * key: POST /api/llm/chat (whole or streamed) and POST .../verify
 * (docs/llm.md). Which HTTP status answers a failed call is llm.h's. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "allowance.h"
#include "api_handlers.h"
#include "apikey.h"
#include "body.h"
#include "chat.h"
#include "clock.h"
#include "event_stream.h"
#include "keylife.h"
#include "llm.h"
#include "llm_limit.h"
#include "log.h"
#include "status.h"
#include "usage.h"
#include "wire.h"

/* A streamed chat: the exchange, and one writer whose buffer every event
 * of the stream reuses. */
struct chat_stream {
	struct exchange *ex;
	struct jsonw w;
};

/* The effective key of p in *eff, or GK_ERR with the 400 set when there is
 * none. A stored key that does not open is not replaced by the system key. */
static int require_effective_key(struct exchange *ex, const struct provider *p, struct effective_key *eff)
{
	if (exchange_resolve(ex, p, eff) != GK_OK)
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

/* The reply for a call that failed, naming the key source actually used
 * when the provider refused the key. */
static int llm_fail(struct exchange *ex, const struct provider *p, enum key_source source,
		    const struct llm_outcome *o)
{
	if (o->result == LLM_REJECTED)
		return http_failf(ex->resp, ex->req->arena, llm_http_status(o),
				  "Invalid API key for %s. Please check your %s API key.", p->id,
				  source == SOURCE_USER ? "user-specific" : "system-wide");
	return http_fail(ex->resp, llm_http_status(o), o->detail);
}

/* What a call that reached the provider leaves behind about the key it
 * carried: the user's key was used (keylife_used, at most once a minute)
 * and, when refused, is flagged until replaced; any refusal is in the
 * user's activity, with whose key it was. */
static void note_key_use(struct exchange *ex, const struct provider *p, enum key_source source,
			 const struct llm_outcome *o)
{
	const char *client = activity_client(ex->req->remote_addr);
	char status[24];
	struct keystore_event ev = { NULL, "rejected", p->id, "system", "user", client, NULL, status };

	if (o->http_status == 0)
		return;
	if (source == SOURCE_USER) {
		/* the user's key came from exchange_resolve's read */
		const struct stored_key *sk = &ex->stored[p - ex->app->registry.providers];

		keylife_used(&ex->app->store, ex->user, p, sk);
		if (o->result == LLM_REJECTED)
			keylife_rejected(&ex->app->store, ex->user, p, sk, o->http_status, client);
		return;
	}
	if (o->result != LLM_REJECTED)
		return;
	snprintf(status, sizeof(status), "%ld", o->http_status);
	activity_record(&ex->app->store, ex->user, &ev);
}

/* Once the provider accepted the request it is billed: count it, under
 * the source of the key it went out with. */
static void count_usage(struct exchange *ex, const struct provider *p, const struct effective_key *eff,
			const struct llm_outcome *o)
{
	enum keystore_source source = eff->source == SOURCE_USER ? KEYSTORE_SOURCE_USER
								 : KEYSTORE_SOURCE_SYSTEM;

	if (o->http_status < 200 || o->http_status > 299)
		return;
	if (usage_add(&ex->app->store, ex->user, p->id, source, &o->usage, clock_now()) != GK_OK)
		log_event(LOG_WARN, "usage_not_counted", "provider=%s", p->id);
}

/* {"provider","model",["content",]"usage","keySource"} */
static void write_chat_result(struct jsonw *w, const struct provider *p, const struct chat_request *req,
			      const struct wire_reply *reply, const struct llm_outcome *o,
			      enum key_source source)
{
	jsonw_object_begin(w);
	jsonw_key(w, "provider");
	jsonw_string(w, p->id);
	jsonw_key(w, "model");
	jsonw_string(w, req->model);
	if (reply) {
		jsonw_key(w, "content");
		jsonw_string_len(w, reply->content, reply->content_len);
	}
	jsonw_key(w, "usage");
	jsonw_object_begin(w);
	jsonw_key(w, "inputTokens");
	jsonw_int(w, o->usage.input_tokens);
	jsonw_key(w, "outputTokens");
	jsonw_int(w, o->usage.output_tokens);
	jsonw_object_end(w);
	jsonw_key(w, "keySource");
	jsonw_string(w, key_source_name(source));
	jsonw_object_end(w);
}

static int client_gone(void *ctx)
{
	struct exchange *ex = ctx;

	return ex->req->stream.gone ? ex->req->stream.gone(ex->req->stream.ctx) : 0;
}

static int chat_whole(struct exchange *ex, const struct provider *p, const struct chat_request *req,
		      const struct wire_request *wire, const struct effective_key *eff)
{
	const struct llm_target target = { p, &eff->key, ex->app->config->llm_timeout_s, &ex->app->llm };
	const struct llm_sink sink = { NULL, NULL, client_gone, ex };
	struct wire_reply reply;
	struct llm_outcome o;
	struct jsonw w;
	int rc;

	llm_chat(&target, wire, ex->req->arena, &sink, &reply, &o);
	log_llm_call("chat", p, key_source_name(eff->source), &o);
	note_key_use(ex, p, eff->source, &o);
	count_usage(ex, p, eff, &o);
	if (o.result != LLM_OK)
		return llm_fail(ex, p, eff->source, &o);
	exchange_writer(ex, &w);
	write_chat_result(&w, p, req, &reply, &o, eff->source);
	rc = exchange_reply(ex, &w);
	wire_reply_release(&reply);
	return rc;
}

/* Sends what cs->w wrote as one event; -1 when it did not fit or the
 * client's connection failed. */
static int send_event(struct chat_stream *cs, const char *name)
{
	size_t len;
	const char *json = jsonw_finish(&cs->w, &len);
	int rc = json ? event_stream_send(&cs->ex->req->stream, name, json, len) : -1;

	jsonw_reset(&cs->w);
	return rc;
}

static int stream_gone(void *ctx)
{
	struct chat_stream *cs = ctx;

	return client_gone(cs->ex);
}

/* The stream's headers go out when the provider has answered 2xx. */
static int stream_begin(void *ctx)
{
	struct chat_stream *cs = ctx;
	struct http_response *resp = cs->ex->resp;

	/* From here on the reply is ours to write, even if this write fails. */
	resp->streamed = 1;
	resp->status = 200;
	return event_stream_begin(&cs->ex->req->stream, resp->headers, resp->header_count);
}

static int stream_delta(void *ctx, const char *text, size_t len)
{
	struct chat_stream *cs = ctx;

	jsonw_object_begin(&cs->w);
	jsonw_key(&cs->w, "delta");
	jsonw_string_len(&cs->w, text, len);
	jsonw_object_end(&cs->w);
	return send_event(cs, NULL);
}

/* The last event of a stream: "error" with the status a whole reply would
 * have had, unless the client is gone and nobody would read it. */
static int stream_error(struct chat_stream *cs, const struct llm_outcome *o)
{
	if (o->result == LLM_CLIENT_GONE)
		return GK_ERR;
	jsonw_object_begin(&cs->w);
	jsonw_key(&cs->w, "status");
	jsonw_int(&cs->w, llm_http_status(o));
	jsonw_key(&cs->w, "detail");
	jsonw_string(&cs->w, o->detail);
	jsonw_object_end(&cs->w);
	send_event(cs, "error");
	return GK_ERR;
}

static int chat_streamed(struct exchange *ex, const struct provider *p, const struct chat_request *req,
			 const struct wire_request *wire, const struct effective_key *eff)
{
	struct chat_stream cs;
	const struct llm_target target = { p, &eff->key, ex->app->config->llm_timeout_s, &ex->app->llm };
	const struct llm_sink sink = { stream_begin, stream_delta, stream_gone, &cs };
	struct llm_outcome o;

	cs.ex = ex;
	exchange_writer(ex, &cs.w);
	llm_chat_stream(&target, wire, ex->req->arena, &sink, &o);
	log_llm_call("chat_stream", p, key_source_name(eff->source), &o);
	note_key_use(ex, p, eff->source, &o);
	count_usage(ex, p, eff, &o);
	if (!o.stream_started) {
		/* Nothing sent yet: a failure is an ordinary JSON error. */
		if (o.result != LLM_OK)
			return llm_fail(ex, p, eff->source, &o);
		if (stream_begin(&cs) != 0)
			return GK_ERR;
	}
	if (o.result != LLM_OK)
		return stream_error(&cs, &o);
	write_chat_result(&cs.w, p, req, NULL, &o, eff->source);
	return send_event(&cs, "done") == 0 ? GK_OK : GK_ERR;
}

/* 429 with Retry-After (the next UTC month) when the call would go out
 * with p's system key and the user's allowance on it is spent
 * (allowance.h). Redis is asked only when p has an allowance and the key
 * is the system key: a user's own key is never limited. */
static int check_allowance(struct exchange *ex, const struct provider *p, const struct effective_key *eff)
{
	struct allowance a;
	time_t now;
	const char *retry;
	int rc;

	if (eff->source != SOURCE_ENV || p->system_key_allowance == 0)
		return GK_OK;
	now = clock_now();
	rc = allowance_get(&ex->app->store, ex->user, p, now, &a);
	if (rc != GK_OK)
		return exchange_store_failed(ex, rc, "Unable to read usage");
	if (!a.spent)
		return GK_OK;
	http_failf(ex->resp, ex->req->arena, 429,
		   "Monthly allowance for the system-wide %s key is used up. Add your own key to continue.",
		   p->name);
	retry = arena_printf(ex->req->arena, "%lld", allowance_retry_after(now));
	if (retry)
		http_header_add(ex->resp, "Retry-After", retry);
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
		return exchange_store_unavailable(ex);
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

int api_llm_chat(struct exchange *ex)
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
	if (exchange_read_json(ex, 0, &root) != GK_OK)
		return GK_ERR;
	parsed = chat_request_parse(root, ex->req->arena, &req, why, sizeof(why));
	if (parsed != GK_OK) {
		http_fail(ex->resp, parsed == GK_NOMEM ? 500 : 422, why);
		goto out;
	}
	p = registry_find(&ex->app->registry, req.provider);
	if (!p) {
		exchange_unknown_provider(ex, req.provider);
		goto out;
	}
	if (translate_chat(ex, p, &req, &wire) != GK_OK || require_effective_key(ex, p, &eff) != GK_OK ||
	    check_allowance(ex, p, &eff) != GK_OK || take_llm_lease(ex, &lease) != GK_OK)
		goto out;
	rc = req.stream ? chat_streamed(ex, p, &req, &wire, &eff) : chat_whole(ex, p, &req, &wire, &eff);
out:
	llm_limit_release(&ex->app->store, &lease);
	effective_key_wipe(&eff);
	wire_request_release(&wire);
	body_free(root);
	return rc;
}

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
static int reply_verify(struct exchange *ex, const struct provider *p, const char *source,
			struct llm_outcome *o)
{
	struct jsonw w;

	if (o->result == LLM_OK)
		snprintf(o->detail, sizeof(o->detail), "%s accepted the key", p->name);
	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "provider");
	jsonw_string(&w, p->id);
	jsonw_key(&w, "source");
	jsonw_string(&w, source);
	jsonw_key(&w, "valid");
	if (o->result == LLM_OK || o->result == LLM_REJECTED)
		jsonw_bool(&w, o->result == LLM_OK);
	else
		jsonw_null(&w);
	jsonw_key(&w, "detail");
	jsonw_string(&w, o->detail);
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}

/* The activity entry of a verify: whose key (a candidate from the body is
 * the user's) and what the provider said. */
static void record_verify(struct exchange *ex, const struct provider *p, const char *source,
			  const struct llm_outcome *o)
{
	struct keystore_event ev = { NULL,   "verified",
				     p->id,  activity_source(source),
				     "user", activity_client(ex->req->remote_addr),
				     NULL,   NULL };

	ev.result = o->result == LLM_OK ? "valid" : o->result == LLM_REJECTED ? "invalid" : "error";
	activity_record(&ex->app->store, ex->user, &ev);
}

/* The key to verify into eff and its source: the body's candidate, else
 * the effective key. GK_ERR with the reply set when there is none. */
static int verify_key(struct exchange *ex, const struct provider *p, const char *candidate, size_t len,
		      struct effective_key *eff, const char **source)
{
	if (candidate) {
		memcpy(eff->key.value, candidate, len);
		eff->key.value[len] = '\0';
		eff->key.len = len;
		*source = "candidate";
		return GK_OK;
	}
	if (require_effective_key(ex, p, eff) != GK_OK)
		return GK_ERR;
	*source = key_source_name(eff->source);
	return GK_OK;
}

int api_llm_verify(struct exchange *ex)
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
	if (exchange_read_json(ex, 1, &root) != GK_OK)
		return GK_ERR;
	/* The body (422) is checked before the path's provider (400). */
	if (candidate_key(ex, root, &key, &key_len) != GK_OK || !(p = exchange_path_provider(ex)))
		goto out;
	/* A verify is a provider call too, bounded by the same timeout: it counts.
	 * One that bills (a 1-token chat) costs the system key's owner money,
	 * so over the allowance it is refused like a chat (like every verify it
	 * is not counted as usage); a candidate key is never refused. */
	if (verify_key(ex, p, key, key_len, &eff, &source) != GK_OK ||
	    (registry_verify_billed(p) && check_allowance(ex, p, &eff) != GK_OK) ||
	    take_llm_lease(ex, &lease) != GK_OK)
		goto out;
	target = (struct llm_target){ p, &eff.key, ex->app->config->llm_timeout_s, &ex->app->llm };
	llm_verify(&target, ex->req->arena, &o);
	log_llm_call("verify", p, source, &o);
	record_verify(ex, p, source, &o);
	if (!key) /* the stored or system key, not a candidate from the body */
		note_key_use(ex, p, eff.source, &o);
	rc = reply_verify(ex, p, source, &o);
out:
	llm_limit_release(&ex->app->store, &lease);
	effective_key_wipe(&eff);
	body_free(root);
	return rc;
}
