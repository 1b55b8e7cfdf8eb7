/* http.h: one HTTP exchange as the API sees it, without libfcgi.
 *
 * The FastCGI layer (fcgi_server.c) fills a struct http_request from the
 * parameters nginx forwards and gives a way to read the body; the API layer
 * (api.c) answers with a struct http_response. Everything here that parses
 * bytes from the client is a pure function, so it is unit-tested and fuzzed
 * alone. */
#ifndef GK_HTTP_H
#define GK_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include "arena.h"

struct json_object;

#define HTTP_BODY_MAX_KIB 64 /* a number alone, for the message that quotes it */
#define HTTP_BODY_MAX (HTTP_BODY_MAX_KIB * 1024)

/* Reads up to len bytes of the request body; returns the count, 0 at the end,
 * -1 on error. */
typedef ssize_t (*http_body_reader)(void *ctx, char *buf, size_t len);

/* Writes raw response bytes and flushes them to the client; for streaming.
 * write and flush return 0, or -1 when the client's connection failed.
 * gone returns 1 once the client has gone away (nginx closed the
 * connection), so a long call made for it can be stopped. */
struct http_stream {
	int (*write)(void *ctx, const char *data, size_t len);
	int (*flush)(void *ctx);
	int (*gone)(void *ctx);
	void *ctx;
};

struct http_request {
	struct arena *arena;	    /* owns everything the request allocates */
	const char *method;	    /* REQUEST_METHOD */
	const char *path;	    /* decoded path without the query */
	const char *user;	    /* the identity parameter, NULL if absent */
	const char *origin;	    /* HTTP_ORIGIN, NULL if absent */
	const char *scheme;	    /* REQUEST_SCHEME, "http" if absent */
	const char *host;	    /* HTTP_HOST */
	const char *content_type;   /* CONTENT_TYPE */
	const char *content_length; /* CONTENT_LENGTH, raw */
	const char *authorization;  /* HTTP_AUTHORIZATION, NULL if absent */
	const char *remote_addr;    /* REMOTE_ADDR, the client as nginx saw it; NULL if absent */
	const char *query;	    /* REQUEST_URI after its '?', NULL if none */
	http_body_reader read_body;
	void *read_ctx;
	struct http_stream stream;
};

/* Headers a reply may carry beyond the fixed ones (Content-Type,
 * Cache-Control, X-Content-Type-Options, Content-Length). */
#define HTTP_HEADERS_MAX 12

struct http_header {
	const char *name;  /* a literal */
	const char *value; /* a literal or in the request's arena */
};

struct http_response {
	int status;
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t header_count;
	struct json_object *body; /* owned; released by http_response_release() */
	const char *raw_body;	  /* or the body already written out, in the arena */
	size_t raw_len;
	int streamed; /* the handler wrote the whole reply itself */
};

void http_response_init(struct http_response *resp);
/* Adds a header to the reply. The strings must outlive the response (a
 * literal, or the request's arena). Returns GK_ERR when HTTP_HEADERS_MAX
 * headers are set already. */
int http_header_add(struct http_response *resp, const char *name, const char *value);
void http_response_release(struct http_response *resp);

/* Sets resp to status with body {"detail": detail}. Returns GK_ERR, so a
 * handler can `return http_fail(...)`. */
int http_fail(struct http_response *resp, int status, const char *detail);
int http_failf(struct http_response *resp, struct arena *arena, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets a 200 reply whose body is the JSON text body[0..len), which lives in
 * the request's arena. */
int http_ok_raw(struct http_response *resp, const char *body, size_t len);
/* Sets a 200 reply whose body (owned from now on) is obj. */
int http_ok(struct http_response *resp, struct json_object *obj);

const char *http_reason(int status);

/* "application/json", optionally with parameters, compared without case. */
int http_content_type_is_json(const char *content_type);

/* Parses a CONTENT_LENGTH value: decimal digits only, no sign, no overflow.
 * NULL or "" means 0. Returns GK_OK or GK_ERR. */
int http_parse_content_length(const char *value, size_t *out);

/* Returns 1 when a state-changing request from origin may proceed: no Origin
 * header, an origin in the allowed list (space or comma separated), or, when
 * the list is NULL or empty, the request's own scheme://host. */
int http_origin_allowed(const char *origin, const char *scheme, const char *host, const char *allowed);
/* Returns 1 when origin is one of the entries of list (space or comma
 * separated, compared exactly). */
int http_origin_listed(const char *origin, const char *list);

/* Decides the body length from CONTENT_LENGTH before anything is read.
 * Returns GK_OK with *len set, or GK_ERR with resp set: 413 over
 * HTTP_BODY_MAX, 400 for a malformed value. */
int http_body_length(const struct http_request *req, struct http_response *resp, size_t *len);

/* Reads exactly len bytes of body into the request arena, NUL-terminated.
 * Returns GK_OK, or GK_ERR with resp set (400 when the body is short). */
int http_read_body(struct http_request *req, struct http_response *resp, size_t len, char **body);

#endif
