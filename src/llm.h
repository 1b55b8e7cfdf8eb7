/* llm.h: calls to an LLM provider with the effective key (libcurl).
 *
 * One blocking call per request, on a libcurl easy handle each worker
 * keeps (so connections to providers are reused). TLS peer and host
 * verification are always on; plain http is allowed only to loopback hosts
 * (127.0.0.0/8, ::1, localhost), which is how the tests reach their mock.
 * Connect timeout LLM_CONNECT_TIMEOUT_S, total the caller's timeout; no
 * redirects; replies are capped. The key travels only in a request header
 * built in a buffer that is wiped after the call; it is never in a URL,
 * never logged (CURLOPT_VERBOSE stays off), and libcurl's own copies are
 * wiped when libcurl frees them (llm_global_init).
 *
 * The outcome's detail is a sentence for the client: it may quote the
 * provider's error message, so every detail passes through redact_key()
 * with the call's key before a call returns, whatever produced it. It is
 * still not logged: it is the provider's text, not ours. */
#ifndef GK_LLM_H
#define GK_LLM_H

#include <stddef.h>
#include <sys/types.h>

#include "arena.h"
#include "chat.h"
#include "registry.h"
#include "secret.h"
#include "wire.h"

#define LLM_CONNECT_TIMEOUT_S 5
#define LLM_VERIFY_TIMEOUT_MAX_S 30
#define LLM_REPLY_MAX (4 * 1024 * 1024)	  /* a whole reply */
#define LLM_EVENT_MAX (1024 * 1024)	  /* one stream event */
#define LLM_STREAM_MAX (64 * 1024 * 1024) /* all of a stream */
#define LLM_ERROR_BODY_MAX (64 * 1024)	  /* an error reply: kept this far */
#define LLM_DETAIL_MAX 256

enum llm_result {
	LLM_OK,
	LLM_REJECTED,	 /* the provider refused the key */
	LLM_HTTP_ERROR,	 /* any other status but 2xx */
	LLM_BAD_REPLY,	 /* 2xx, but not the wire style's shape, or an error event */
	LLM_TOO_LARGE,	 /* cut off at a cap */
	LLM_UNREACHABLE, /* name resolution, connection or TLS failed */
	LLM_TIMEOUT,	 /* connect or total timeout */
	LLM_REFUSED,	 /* the base URL is not allowed */
	LLM_CLIENT_GONE, /* the client went away; the transfer was aborted */
	LLM_INTERNAL,
};

/* A process's libcurl easy handle, kept from one call to the next so that
 * connections to a provider are reused. It lives in struct app beside the
 * Redis connection. Made on first use in the process that uses it: one
 * inherited across fork() shares its sockets with the parent, so a child
 * leaves it alone (never uses or cleans it up) and makes its own. */
struct llm_client {
	void *curl; /* CURL *, NULL until the first call */
	pid_t pid;  /* the process that made it */
};

/* Frees the handle if this process made it. */
void llm_client_release(struct llm_client *client);

struct llm_target {
	const struct provider *provider;
	const struct secret *key;
	int timeout_s;
	struct llm_client *client;
};

struct llm_outcome {
	enum llm_result result;
	long http_status; /* the provider's, 0 when none came */
	struct chat_usage usage;
	int stream_started;	     /* the sink's begin() succeeded */
	char detail[LLM_DETAIL_MAX]; /* for the client, not the log */
};

/* Where a call reports to. begin() is called once, when the provider has
 * answered 2xx and sent its first bytes; delta() for each piece of text of
 * a stream; gone() is polled during the call and returns 1 when the client
 * went away. A non-zero return from begin() or delta() (the client's
 * connection failed) aborts the transfer. Any member may be NULL. */
struct llm_sink {
	int (*begin)(void *ctx);
	int (*delta)(void *ctx, const char *text, size_t len);
	int (*gone)(void *ctx);
	void *ctx;
};

/* Once per process, before workers are forked and before any other libcurl
 * call. Returns GK_OK or GK_ERR. */
int llm_global_init(void);
void llm_global_cleanup(void);

/* GK_OK when a call may go to url: https, or http to a loopback host.
 * Otherwise GK_ERR with why set. */
int llm_url_allowed(const char *url, char *why, size_t whylen);

/* Posts a completion request already translated for the provider's wire
 * style (wire_build_chat) and reads the whole reply into *reply (release
 * with wire_reply_release) on LLM_OK. sink may be NULL; only its gone() is
 * used. Returns out->result. */
enum llm_result llm_chat(const struct llm_target *target, const struct wire_request *wire,
			 struct arena *arena, const struct llm_sink *sink, struct wire_reply *reply,
			 struct llm_outcome *out);

/* The same for a streamed completion (built with stream set): each piece
 * of text goes to sink->delta() as it arrives; out->usage holds the counts
 * the provider reported. */
enum llm_result llm_chat_stream(const struct llm_target *target, const struct wire_request *wire,
				struct arena *arena, const struct llm_sink *sink, struct llm_outcome *out);

/* The cheapest authenticated request of the provider: its "verify" entry
 * (a path to GET, or "chat" for a billed 1-token completion with its first
 * model), else the wire style's model list. LLM_OK: the key works. */
enum llm_result llm_verify(const struct llm_target *target, struct arena *arena, struct llm_outcome *out);

const char *llm_result_name(enum llm_result result);

/* The HTTP status that answers a failed call: 504 for a timeout, 499
 * (nginx's code; nobody reads the reply) when the client left, else 502,
 * the provider's refusal of the key included. */
int llm_http_status(const struct llm_outcome *o);

#endif
