#include "llm.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <malloc.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "redact.h"
#include "sse.h"
#include "status.h"

#define LLM_HEADERS_MAX 8
#define LLM_USER_AGENT "gofannon-keys/" PACKAGE_VERSION
#define VERIFY_PROMPT "Hi"

/* ---- libcurl's memory ---------------------------------------------------
 *
 * libcurl copies the request headers (the key among them) into buffers of
 * its own. Freeing through wipe_free() zeroes every block first, so no copy
 * of a key outlives the call in freed heap memory. */

static void wipe_free(void *p)
{
	if (!p)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

static void *wipe_realloc(void *p, size_t size)
{
	size_t old;
	void *grown;

	if (!p)
		return malloc(size);
	if (size == 0) {
		wipe_free(p);
		return NULL;
	}
	/* realloc() could free the old block unwiped: copy and wipe instead. */
	old = malloc_usable_size(p);
	grown = malloc(size);
	if (!grown)
		return NULL;
	memcpy(grown, p, old < size ? old : size);
	wipe_free(p);
	return grown;
}

int llm_global_init(void)
{
	CURLcode rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, malloc, wipe_free, wipe_realloc, strdup,
					   calloc);

	return rc == CURLE_OK ? GK_OK : GK_ERR;
}

/* The client's handle, reset for a new call, or a new one when this process
 * has none of its own yet (llm.h says why an inherited one is left alone). */
static CURL *take_handle(struct llm_client *client)
{
	if (client->curl && client->pid == getpid()) {
		curl_easy_reset(client->curl);
		return client->curl;
	}
	client->curl = curl_easy_init();
	client->pid = getpid();
	return client->curl;
}

void llm_client_release(struct llm_client *client)
{
	if (client->curl && client->pid == getpid())
		curl_easy_cleanup(client->curl);
	client->curl = NULL;
}

void llm_global_cleanup(void)
{
	curl_global_cleanup();
}

const char *llm_result_name(enum llm_result result)
{
	switch (result) {
	case LLM_OK:
		return "ok";
	case LLM_REJECTED:
		return "key_rejected";
	case LLM_HTTP_ERROR:
		return "http_error";
	case LLM_BAD_REPLY:
		return "bad_reply";
	case LLM_TOO_LARGE:
		return "too_large";
	case LLM_UNREACHABLE:
		return "unreachable";
	case LLM_TIMEOUT:
		return "timeout";
	case LLM_REFUSED:
		return "refused";
	case LLM_CLIENT_GONE:
		return "client_gone";
	case LLM_INTERNAL:
		return "internal";
	}
	return "unknown";
}

static enum llm_result fail(struct llm_outcome *out, enum llm_result result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum llm_result fail(struct llm_outcome *out, enum llm_result result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
	out->result = result;
	return result;
}

/* ---- where calls may go -------------------------------------------------- */

static int loopback_host(const char *host)
{
	char addr[64];
	size_t len = strlen(host);
	unsigned char buf[16];

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, buf) == 1)
		return buf[0] == 127;
	/* libcurl gives IPv6 hosts in brackets. */
	if (len < 3 || len >= sizeof(addr) || host[0] != '[' || host[len - 1] != ']')
		return 0;
	memcpy(addr, host + 1, len - 2);
	addr[len - 2] = '\0';
	return inet_pton(AF_INET6, addr, buf) == 1 && memcmp(buf, &in6addr_loopback, 16) == 0;
}

int llm_url_allowed(const char *url, char *why, size_t whylen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = GK_ERR;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(why, whylen, "its base URL is not a valid URL");
		goto out;
	}
	if (strcmp(scheme, "https") == 0 || (strcmp(scheme, "http") == 0 && loopback_host(host)))
		rc = GK_OK;
	else if (strcmp(scheme, "http") == 0)
		snprintf(why, whylen,
			 "its base URL uses plain http to a host that is not loopback; use https");
	else
		snprintf(why, whylen, "its base URL must use https");
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* ---- request headers ------------------------------------------------------
 *
 * The list is built by hand in nodes that point into this struct, instead
 * of curl_slist_append(), which would leave a copy of the key in memory
 * nobody wipes. */

struct header_list {
	struct curl_slist nodes[LLM_HEADERS_MAX];
	size_t count;
	char auth[API_KEY_MAX + 64];
};

static int header_add(struct header_list *h, const char *line)
{
	if (h->count == LLM_HEADERS_MAX)
		return GK_ERR;
	h->nodes[h->count].data = (char *)line;
	h->nodes[h->count].next = NULL;
	if (h->count > 0)
		h->nodes[h->count - 1].next = &h->nodes[h->count];
	h->count++;
	return GK_OK;
}

/* A key from the environment file was never checked like a user's: one that
 * could break out of its header line is refused here. */
static int header_safe(const struct secret *key)
{
	if (key->len == 0 || key->len > API_KEY_MAX)
		return 0;
	for (size_t i = 0; i < key->len; i++)
		if ((unsigned char)key->value[i] <= 0x20 || (unsigned char)key->value[i] >= 0x7f)
			return 0;
	return 1;
}

static int headers_build(struct header_list *h, const struct wire_ops *ops, const struct secret *key,
			 int has_body, int stream)
{
	int n;

	memset(h, 0, sizeof(*h));
	n = snprintf(h->auth, sizeof(h->auth), "%s%s", ops->auth_prefix, key->value);
	if (n < 0 || (size_t)n >= sizeof(h->auth) || header_add(h, h->auth) != GK_OK)
		return GK_ERR;
	for (size_t i = 0; ops->headers && ops->headers[i]; i++)
		if (header_add(h, ops->headers[i]) != GK_OK)
			return GK_ERR;
	if (has_body && header_add(h, "Content-Type: application/json") != GK_OK)
		return GK_ERR;
	/* An empty "Expect:" stops libcurl from waiting for 100-continue. */
	if (header_add(h, "Expect:") != GK_OK)
		return GK_ERR;
	return header_add(h, stream ? "Accept: text/event-stream" : "Accept: application/json");
}

static void headers_wipe(struct header_list *h)
{
	sodium_memzero(h, sizeof(*h));
}

/* ---- one transfer -------------------------------------------------------- */

enum body_mode {
	BODY_REPLY,  /* keep a whole reply, up to LLM_REPLY_MAX, else fail */
	BODY_STREAM, /* relay server-sent events to the sink */
	BODY_PROBE,  /* keep the start of whatever comes, for an error message */
};

struct call {
	const struct llm_target *target;
	const struct wire_ops *ops;
	const struct llm_sink *sink;
	enum body_mode mode;
	CURL *curl;
	long status;
	struct buf body; /* its cap is set by the first piece: by the mode and status */
	struct sse_parser sse;
	size_t stream_bytes;
	struct chat_usage usage;
	int began;   /* begin() was called */
	int started; /* and succeeded: the client has the stream's headers */
	int client_gone;
	int too_large;
	int not_a_stream;
	int stream_failed;
	char stream_error[WIRE_ERROR_MAX];
};

static int ok_status(long status)
{
	return status >= 200 && status <= 299;
}

/* Keeps a piece of the reply, up to cap; past it, either the rest is
 * dropped (truncate) or the reply fails as too large (GK_TOOBIG). */
static int keep_body(struct call *c, const char *data, size_t len, size_t cap, int truncate)
{
	if (!c->body.data)
		buf_init(&c->body, cap);
	if (truncate && len > c->body.cap - c->body.len)
		len = c->body.cap - c->body.len;
	return buf_add(&c->body, data, len);
}

static int on_event(void *ctx, const char *event, const char *data, size_t len)
{
	struct call *c = ctx;
	struct wire_event ev;
	int rc = GK_OK;

	if (wire_parse_event(c->ops, data, len, &ev, &c->usage) != GK_OK) {
		c->stream_failed = 1;
		snprintf(c->stream_error, sizeof(c->stream_error), "%s",
			 ev.error[0] ? ev.error : "an event this service cannot read");
		return GK_ERR;
	}
	if (ev.delta && c->sink && c->sink->delta &&
	    c->sink->delta(c->sink->ctx, ev.delta, ev.delta_len) != 0) {
		c->client_gone = 1;
		rc = GK_ERR;
	}
	wire_event_release(&ev);
	return rc;
}

/* A 2xx reply to a stream request that is not an event stream (a proxy's
 * page, a provider ignoring "stream") is a failure, found before the
 * client is told anything. */
static int is_event_stream(CURL *curl)
{
	const char *type = NULL;

	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
	return type && strncasecmp(type, "text/event-stream", 17) == 0;
}

static int relay_stream(struct call *c, const char *data, size_t len)
{
	int rc;

	if (!c->began && !is_event_stream(c->curl)) {
		c->not_a_stream = 1;
		return GK_ERR;
	}
	if (!c->began) {
		c->began = 1;
		if (c->sink && c->sink->begin && c->sink->begin(c->sink->ctx) != 0) {
			c->client_gone = 1;
			return GK_ERR;
		}
		c->started = 1;
	}
	if (len > LLM_STREAM_MAX - c->stream_bytes) {
		c->too_large = 1;
		return GK_ERR;
	}
	c->stream_bytes += len;
	rc = sse_feed(&c->sse, data, len);
	if ((rc == GK_TOOBIG || rc == GK_NOMEM) && !c->client_gone && !c->stream_failed)
		c->too_large = 1;
	return rc;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct call *c = ctx;
	size_t len = size * nmemb;
	int rc;

	if (!c->status)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (!ok_status(c->status) || c->mode == BODY_PROBE)
		return keep_body(c, data, len, LLM_ERROR_BODY_MAX, 1) == GK_OK ? len : 0;
	if (c->mode == BODY_STREAM)
		return relay_stream(c, data, len) == GK_OK ? len : 0;
	rc = keep_body(c, data, len, LLM_REPLY_MAX, 0);
	if (rc == GK_TOOBIG || rc == GK_NOMEM)
		c->too_large = 1;
	return rc == GK_OK ? len : 0;
}

/* Polled by libcurl at least once a second, data or not. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct call *c = ctx;

	if (c->sink && c->sink->gone && c->sink->gone(c->sink->ctx)) {
		c->client_gone = 1;
		return 1;
	}
	return 0;
}

static int set_options(struct call *c, const char *url, const struct header_list *h, const char *body,
		       int timeout_s)
{
	CURL *curl = c->curl;
	int bad = 0;

	bad |= curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
	       CURLE_OK;
#endif
	bad |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, &h->nodes[0]) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_USERAGENT, LLM_USER_AGENT) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_VERBOSE, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)LLM_CONNECT_TIMEOUT_S) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)timeout_s) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, c) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
	bad |= curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c) != CURLE_OK;
	if (body) {
		bad |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body) != CURLE_OK;
		bad |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) !=
		       CURLE_OK;
	}
	return bad ? GK_ERR : GK_OK;
}

/* A reused connection reports no connect time: whether the request went
 * out at all is what tells a connect (or TLS) timeout from a slow answer. */
static int timed_out_connecting(CURL *curl)
{
	curl_off_t pretransfer_us = 0;

	curl_easy_getinfo(curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
	return pretransfer_us == 0;
}

static enum llm_result transport_failure(struct call *c, CURLcode code, struct llm_outcome *out)
{
	const char *name = c->target->provider->name;

	if (code == CURLE_OPERATION_TIMEDOUT) {
		if (timed_out_connecting(c->curl))
			return fail(out, LLM_TIMEOUT, "Could not connect to %s within %d seconds", name,
				    LLM_CONNECT_TIMEOUT_S);
		return fail(out, LLM_TIMEOUT, "%s did not answer within %d seconds", name,
			    c->target->timeout_s);
	}
	return fail(out, LLM_UNREACHABLE, "Could not reach %s: %s", name, curl_easy_strerror(code));
}

/* Turns what happened into the outcome, most specific cause first. */
static enum llm_result classify(struct call *c, CURLcode code, struct llm_outcome *out)
{
	const char *name = c->target->provider->name;
	char message[LLM_DETAIL_MAX / 2];

	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &out->http_status);
	out->usage = c->usage;
	if (c->client_gone)
		return fail(out, LLM_CLIENT_GONE, "The client went away; the call to %s was stopped", name);
	if (c->too_large)
		return fail(out, LLM_TOO_LARGE,
			    "%s sent a reply larger than this service accepts; it was cut off", name);
	if (c->not_a_stream)
		return fail(out, LLM_BAD_REPLY, "%s did not answer with an event stream", name);
	if (c->stream_failed)
		return fail(out, LLM_BAD_REPLY, "%s failed mid-reply: %s", name, c->stream_error);
	if (code != CURLE_OK)
		return transport_failure(c, code, out);
	if (ok_status(out->http_status)) {
		out->result = LLM_OK;
		return LLM_OK;
	}
	if (wire_key_rejected(c->ops, out->http_status, c->body.data ? c->body.data : "", c->body.len))
		return fail(out, LLM_REJECTED, "%s rejected the API key (HTTP %ld)", name, out->http_status);
	wire_error_message(c->body.data ? c->body.data : "", c->body.len, c->target->key->value,
			   c->target->key->len, message, sizeof(message));
	if (message[0])
		return fail(out, LLM_HTTP_ERROR, "%s answered HTTP %ld: %s", name, out->http_status, message);
	return fail(out, LLM_HTTP_ERROR, "%s answered HTTP %ld", name, out->http_status);
}

static const char *build_url(struct arena *arena, const char *base, const char *path)
{
	size_t len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	return arena_printf(arena, "%.*s%s", (int)len, base, path);
}

/* Sends one request (a POST of body, or a GET when body is NULL) and fills
 * out. The reply body stays in c->body for the caller; c->usage holds a
 * stream's counts. */
static enum llm_result perform(struct call *c, struct arena *arena, const char *path, const char *body,
			       int timeout_s, struct llm_outcome *out)
{
	const struct provider *p = c->target->provider;
	struct header_list *h = NULL;
	const char *url;
	char why[160];
	CURLcode code;
	enum llm_result rc;

	if (!c->ops)
		return fail(out, LLM_INTERNAL, "%s has a wire style this service cannot speak", p->name);
	if (llm_url_allowed(p->base_url, why, sizeof(why)) != GK_OK)
		return fail(out, LLM_REFUSED, "Calls to %s are refused: %s", p->name, why);
	if (!header_safe(c->target->key))
		return fail(out, LLM_REFUSED,
			    "The API key for %s holds characters that cannot travel in a header", p->id);
	url = build_url(arena, p->base_url, path);
	h = sodium_malloc(sizeof(*h));
	c->curl = take_handle(c->target->client);
	if (!url || !h || !c->curl) {
		rc = fail(out, LLM_INTERNAL, "Out of memory calling %s", p->name);
		goto out;
	}
	if (headers_build(h, c->ops, c->target->key, body != NULL, c->mode == BODY_STREAM) != GK_OK ||
	    set_options(c, url, h, body, timeout_s) != GK_OK) {
		rc = fail(out, LLM_INTERNAL, "Unable to prepare the call to %s", p->name);
		goto out;
	}
	code = curl_easy_perform(c->curl);
	/* The last event of a stream may lack its closing blank line. */
	if (code == CURLE_OK && c->mode == BODY_STREAM && c->started)
		sse_finish(&c->sse);
	rc = classify(c, code, out);
out:
	if (c->curl)
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	if (h) {
		headers_wipe(h);
		sodium_free(h);
	}
	return rc;
}

static void call_init(struct call *c, const struct llm_target *target, const struct llm_sink *sink,
		      enum body_mode mode)
{
	memset(c, 0, sizeof(*c));
	c->target = target;
	c->ops = wire_ops_for(target->provider->wire_style);
	c->sink = sink;
	c->mode = mode;
	sse_parser_init(&c->sse, LLM_EVENT_MAX, on_event, c);
}

static void call_release(struct call *c)
{
	sse_parser_release(&c->sse);
	/* An error body or event may have echoed the key. */
	buf_release(&c->body); /* wipes */
	sodium_memzero(c->stream_error, sizeof(c->stream_error));
}

/* The last step of every call: the detail may quote what the provider
 * said (an error body's message, a stream's error event), and the provider
 * may have echoed the key it was given, whole or in part. */
static void redact_detail(struct llm_outcome *out, const struct secret *key)
{
	static const char withheld[] = "The provider's message was withheld: it resembles the API key";
	char said[LLM_DETAIL_MAX];
	size_t len = strnlen(out->detail, sizeof(out->detail) - 1);

	memcpy(said, out->detail, len);
	said[len] = '\0';
	if (redact_key(said, len, key->value, key->len, out->detail, sizeof(out->detail)) == 0 && len > 0)
		redact_key(withheld, sizeof(withheld) - 1, key->value, key->len, out->detail,
			   sizeof(out->detail));
	sodium_memzero(said, sizeof(said));
}

static void outcome_init(struct llm_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = LLM_INTERNAL;
}

/* Posts wire; the reply is handled by c's mode. */
static enum llm_result post(struct call *c, const struct wire_request *wire, struct arena *arena,
			    int timeout_s, struct llm_outcome *out)
{
	const char *body = json_object_to_json_string_ext(wire->body, JSON_C_TO_STRING_PLAIN |
									      JSON_C_TO_STRING_NOSLASHESCAPE);

	if (!body)
		return fail(out, LLM_INTERNAL, "Out of memory calling %s", c->target->provider->name);
	return perform(c, arena, wire->path, body, timeout_s, out);
}

enum llm_result llm_chat(const struct llm_target *target, const struct wire_request *wire,
			 struct arena *arena, const struct llm_sink *sink, struct wire_reply *reply,
			 struct llm_outcome *out)
{
	struct call c;
	enum llm_result rc;

	outcome_init(out);
	memset(reply, 0, sizeof(*reply));
	call_init(&c, target, sink, BODY_REPLY);
	rc = post(&c, wire, arena, target->timeout_s, out);
	if (rc == LLM_OK) {
		if (wire_parse_reply(c.ops, c.body.data ? c.body.data : "", c.body.len, reply) != GK_OK)
			rc = fail(out, LLM_BAD_REPLY, "%s sent a reply this service cannot read",
				  target->provider->name);
		else
			out->usage = reply->usage;
	}
	call_release(&c);
	redact_detail(out, target->key);
	return rc;
}

enum llm_result llm_chat_stream(const struct llm_target *target, const struct wire_request *wire,
				struct arena *arena, const struct llm_sink *sink, struct llm_outcome *out)
{
	struct call c;
	enum llm_result rc;

	outcome_init(out);
	call_init(&c, target, sink, BODY_STREAM);
	rc = post(&c, wire, arena, target->timeout_s, out);
	out->stream_started = c.started;
	call_release(&c);
	redact_detail(out, target->key);
	return rc;
}

enum llm_result llm_verify(const struct llm_target *target, struct arena *arena, struct llm_outcome *out)
{
	const struct provider *p = target->provider;
	int timeout_s = target->timeout_s;
	struct chat_message hello = { CHAT_USER, VERIFY_PROMPT, sizeof(VERIFY_PROMPT) - 1 };
	struct chat_request req;
	struct wire_request wire;
	struct call c;
	char why[160];
	enum llm_result rc;

	/* A check is quick or it is not going to succeed. */
	if (timeout_s > LLM_VERIFY_TIMEOUT_MAX_S)
		timeout_s = LLM_VERIFY_TIMEOUT_MAX_S;
	outcome_init(out);
	call_init(&c, target, NULL, BODY_PROBE);
	if (!c.ops) {
		rc = fail(out, LLM_INTERNAL, "%s has a wire style this service cannot speak", p->name);
		goto out;
	}
	if (p->verify && strcmp(p->verify, "chat") == 0) {
		if (p->model_count == 0) {
			rc = fail(out, LLM_INTERNAL,
				  "%s cannot be checked: its registry entry lists no model", p->name);
			goto out;
		}
		/* The provider has no free authenticated request: one billed token. */
		memset(&req, 0, sizeof(req));
		req.model = p->models[0];
		req.messages = &hello;
		req.message_count = 1;
		req.max_tokens = 1;
		if (wire_build_chat(c.ops, &req, arena, &wire, why, sizeof(why)) != GK_OK) {
			rc = fail(out, LLM_INTERNAL, "%s cannot be checked: %s", p->name, why);
			goto out;
		}
		rc = post(&c, &wire, arena, timeout_s, out);
		wire_request_release(&wire);
	} else {
		rc = perform(&c, arena, p->verify ? p->verify : c.ops->models_path, NULL, timeout_s, out);
	}
out:
	call_release(&c);
	redact_detail(out, target->key);
	return rc;
}

int llm_http_status(const struct llm_outcome *o)
{
	switch (o->result) {
	case LLM_TIMEOUT:
		return 504;
	case LLM_CLIENT_GONE:
		return 499;
	default:
		return 502;
	}
}
