#include "fcgi_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "fcgi_params.h"
#include "http.h"
#include "identity.h"
#include "log.h"
#include "router.h"
#include "status.h"

int fcgi_listen(const char *spec, int backlog)
{
	if (FCGX_Init() != 0)
		return -1;
	return FCGX_OpenSocket(spec, backlog);
}

int fcgi_is_listener(int fd)
{
	int listening = 0, type = 0;
	socklen_t len = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0)
		return 0;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
		return 0;
	return listening && type == SOCK_STREAM;
}

static ssize_t read_body(void *ctx, char *buf, size_t len)
{
	FCGX_Request *rq = ctx;
	int n = FCGX_GetStr(buf, len > 65536 ? 65536 : (int)len, rq->in);

	return n < 0 ? -1 : n;
}

static int stream_write(void *ctx, const char *data, size_t len)
{
	FCGX_Request *rq = ctx;

	return FCGX_PutStr(data, (int)len, rq->out) == (int)len ? 0 : -1;
}

static int stream_flush(void *ctx)
{
	FCGX_Request *rq = ctx;

	return FCGX_FFlush(rq->out);
}

/* nginx closes the FastCGI connection when its client goes away (unless
 * fastcgi_ignore_client_abort is on). Readable data alone means nothing:
 * the end of the request body may still be unread. */
static int stream_gone(void *ctx)
{
	FCGX_Request *rq = ctx;
	struct pollfd pfd = { rq->ipcFd, POLLRDHUP, 0 };

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

/* The path the API routes on: nginx's normalized $document_uri, or the raw
 * request URI up to its query when nginx does not send one. */
static const char *request_path(FCGX_Request *rq, struct arena *arena)
{
	const char *path = FCGX_GetParam("DOCUMENT_URI", rq->envp);
	const char *uri;

	if (path && *path)
		return path;
	uri = FCGX_GetParam("REQUEST_URI", rq->envp);
	if (!uri)
		return "";
	return arena_strndup(arena, uri, strcspn(uri, "?"));
}

static void build_request(struct app *app, FCGX_Request *rq, struct arena *arena, struct http_request *req)
{
	const char *scheme = FCGX_GetParam("REQUEST_SCHEME", rq->envp);

	memset(req, 0, sizeof(*req));
	req->arena = arena;
	req->method = FCGX_GetParam("REQUEST_METHOD", rq->envp);
	req->path = request_path(rq, arena);
	req->user = FCGX_GetParam(app->config->user_param, rq->envp);
	req->origin = FCGX_GetParam("HTTP_ORIGIN", rq->envp);
	req->scheme = scheme && *scheme ? scheme : "http";
	req->host = FCGX_GetParam("HTTP_HOST", rq->envp);
	req->content_type = FCGX_GetParam("CONTENT_TYPE", rq->envp);
	req->content_length = FCGX_GetParam("CONTENT_LENGTH", rq->envp);
	req->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", rq->envp);
	req->read_body = read_body;
	req->read_ctx = rq;
	req->stream.write = stream_write;
	req->stream.flush = stream_flush;
	req->stream.gone = stream_gone;
	req->stream.ctx = rq;
	if (!req->method)
		req->method = "";
}

/* The reply's header block, "Status: ..." to the blank line, in the arena;
 * NULL when the arena is full. libfcgi's own printf knows few conversions,
 * so the block is formatted here. */
static char *response_head(const struct http_response *resp, size_t body_len, struct arena *arena,
			   size_t *head_len)
{
	size_t need = 160;
	char *head, *at;
	int n;

	for (size_t i = 0; i < resp->header_count; i++)
		need += strlen(resp->headers[i].name) + strlen(resp->headers[i].value) + 4;
	head = arena_alloc(arena, need);
	if (!head)
		return NULL;
	n = snprintf(head, need,
		     "Status: %d %s\r\n"
		     "Content-Type: application/json\r\n"
		     "Cache-Control: no-store\r\n"
		     "X-Content-Type-Options: nosniff\r\n",
		     resp->status, http_reason(resp->status));
	at = head + n;
	for (size_t i = 0; i < resp->header_count; i++)
		at += snprintf(at, need - (size_t)(at - head), "%s: %s\r\n", resp->headers[i].name,
			       resp->headers[i].value);
	at += snprintf(at, need - (size_t)(at - head), "Content-Length: %zu\r\n\r\n", body_len);
	*head_len = (size_t)(at - head);
	return head;
}

/* Writes the whole reply. Returns GK_OK, or GK_ERR when it could not be
 * built or nginx went away before taking it (the caller logs that). */
static int write_response(FCGX_Request *rq, const struct http_response *resp, struct arena *arena)
{
	const char *body = "{}";
	size_t body_len, head_len;
	char *head;

	if (resp->raw_body)
		body = resp->raw_body;
	else if (resp->body)
		body = json_object_to_json_string_ext(resp->body, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE);
	body_len = resp->raw_body ? resp->raw_len : strlen(body);
	head = response_head(resp, body_len, arena, &head_len);
	if (!head)
		return GK_ERR;
	if (FCGX_PutStr(head, (int)head_len, rq->out) != (int)head_len ||
	    FCGX_PutStr(body, (int)body_len, rq->out) != (int)body_len || FCGX_FFlush(rq->out) != 0)
		return GK_ERR;
	return GK_OK;
}

static double elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) * 1e3 + (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* nginx's access log has every request; the service adds a line for the
 * ones it failed (5xx) at info, and for all of them at debug. */
static void log_request(const struct http_request *req, const struct route_result *route,
			const struct http_response *resp, const struct timespec *start)
{
	enum log_level level = resp->status >= 500 ? LOG_INFO : LOG_DEBUG;
	char user[LOG_ESCAPE_SIZE(IDENTITY_MAX)], method[16];

	if (!log_enabled(level))
		return;
	log_escape(req->user ? req->user : "-", user, sizeof(user));
	log_escape(req->method, method, sizeof(method));
	log_event(level, "request", "method=%s route=%s status=%d user=\"%s\" ms=%.2f", method,
		  route->name ? route->name : "-", resp->status, user, elapsed_ms(start));
}

static void serve_one(struct app *app, FCGX_Request *rq)
{
	struct arena arena;
	struct http_request req;
	struct http_response resp;
	struct route_result route = { 0 };
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	arena_init(&arena, REQUEST_ARENA_MAX);
	http_response_init(&resp);
	build_request(app, rq, &arena, &req);
	/* A decisive parameter sent twice: no handler runs, and neither value
	 * is named as the user, not even in the request's log line. */
	if (fcgi_params_check(rq->envp, app->config->user_param, &resp) == GK_OK)
		api_handle(app, &req, &resp, &route);
	else
		req.user = NULL;
	if (!resp.streamed && write_response(rq, &resp, &arena) != GK_OK)
		log_event(LOG_WARN, "reply_not_sent", "route=%s status=%d reason=\"%s\"",
			  route.name ? route.name : "-", resp.status,
			  FCGX_GetError(rq->out) ? "client gone" : "reply too large");
	log_request(&req, &route, &resp, &start);
	http_response_release(&resp);
	arena_release(&arena);
}

/* libfcgi's FCGI_WEB_SERVER_ADDRS: when set, the only IPv4 peers allowed
 * on a TCP listener (a comma-separated list of addresses). */
static int peer_allowed(const struct sockaddr_in *peer)
{
	const char *list = getenv("FCGI_WEB_SERVER_ADDRS");
	char addr[INET_ADDRSTRLEN];
	size_t len;

	if (peer->sin_family != AF_INET || !list || !*list)
		return 1;
	if (!inet_ntop(AF_INET, &peer->sin_addr, addr, sizeof(addr)))
		return 0;
	len = strlen(addr);
	for (const char *p = list; *p; p += strcspn(p, ","), p += *p == ',') {
		if (strncmp(p, addr, len) == 0 && (p[len] == ',' || p[len] == '\0'))
			return 1;
	}
	return 0;
}

/* Waits for the next connection. Returns it, or -1 with errno set when
 * accept() failed for a reason other than a client that gave up.
 *
 * Not libfcgi's accept: for a unix socket it then waits up to 2 s for the
 * first bytes and drops the connection if a signal interrupts that wait,
 * so a worker told to stop could throw away a request it had already
 * taken from the queue. Here, once accept() returns, the request is ours
 * and is served. */
static int accept_connection(int listen_fd)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_storage any;
	} peer;

	for (;;) {
		socklen_t len = sizeof(peer);
		int fd = accept4(listen_fd, &peer.sa, &len, SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EPROTO)
				continue;
			return -1;
		}
		if (peer.sa.sa_family != AF_INET)
			return fd;
		if (peer_allowed(&peer.in)) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
	}
}

long fcgi_serve(struct app *app, int listen_fd, long max_requests, const volatile sig_atomic_t *wake)
{
	FCGX_Request rq;
	long served = 0;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_event(LOG_ERROR, "fcgi_init_failed", NULL);
		return 0;
	}
	while (!*wake && (max_requests == 0 || served < max_requests)) {
		int fd = accept_connection(listen_fd);

		if (fd < 0) {
			if (errno == EINTR || *wake)
				continue;
			log_event(LOG_ERROR, "accept_failed", "error=\"%s\"", strerror(errno));
			break;
		}
		/* Hand libfcgi the open connection: with keepConnection set,
		 * FCGX_Accept_r() reads the request from it instead of closing
		 * it and accepting one of its own. The begin-request record
		 * then sets keepConnection as the web server asked. */
		rq.ipcFd = fd;
		rq.keepConnection = 1;
		if (FCGX_Accept_r(&rq) < 0) {
			if (errno == EINTR || *wake)
				continue;
			log_event(LOG_ERROR, "accept_failed", "error=\"%s\"", strerror(errno));
			break;
		}
		serve_one(app, &rq);
		FCGX_Finish_r(&rq);
		served++;
	}
	FCGX_Free(&rq, 1);
	return served;
}
