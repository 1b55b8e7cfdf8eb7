/* fcgi_server.c: the connection model.
 *
 * A worker serves one request at a time but holds several connections:
 * up to FCGI_KEEP_MAX that nginx keeps open between requests
 * (FCGI_KEEP_CONN: fastcgi_keep_conn with an upstream keepalive pool) and
 * up to FCGI_NEW_MAX accepted ones whose request has not arrived yet. Each
 * turn of the loop polls them all together with the listening socket,
 * serves every one that is readable, then accepts one new connection; so a
 * request never waits behind a silent connection, and the listener is
 * never starved. A worker that holds none waits in epoll instead, where a
 * new connection wakes one idle worker rather than all (listen_wait_open).
 * libfcgi only parses: it is handed one readable connection at a time
 * (ipcFd) and never accepts by itself.
 *
 * A connection is closed right after its reply when nginx did not ask to
 * keep it; when the worker needs room for another kept one (the one idle
 * the longest goes: nginx reuses the most recent first); when it stays
 * silent for GOFANNON_FCGI_TIMEOUT before a request or between two (nginx
 * should close idle ones first: its keepalive_timeout below ours); when a
 * request stops arriving midway (each read waits that long at most); and
 * when the worker stops or is recycled: it serves what nginx already sent,
 * then closes them all. Replies are written without a timeout, so a slow LLM
 * stream is never cut.
 *
 * LLM calls (chat, verify) wait on a provider for up to GOFANNON_LLM_TIMEOUT.
 * A worker that has read such a request's parameters forks a child that
 * serves it, body and reply, on the same connection, then exits; the
 * worker closes its copy and goes back to its loop at once. The child
 * closes the connection after its reply even when nginx asked to keep it,
 * holds nothing else of the worker's (the listener, the other connections,
 * the Redis connection: it opens its own), ignores the stop signals (its
 * request always completes) and dies with the worker (PR_SET_PDEATHSIG),
 * so the master's stop timeout bounds it. A worker has at most
 * llm_children_max children; beyond that it serves the call itself, as
 * without children. Before it exits it waits for them. */
#include "fcgi_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "fcgi_finish.h"
#include "fcgi_params.h"
#include "http.h"
#include "identity.h"
#include "log.h"
#include "num.h"
#include "peer.h"
#include "router.h"
#include "status.h"

/* "[ADDR]:PORT", which libfcgi's FCGX_OpenSocket does not parse: an IPv6
 * listener. "[::]" takes IPv4 peers too (as ::ffff:a.b.c.d) unless the
 * system sets net.ipv6.bindv6only. */
static int listen_ipv6(const char *spec, int backlog)
{
	const char *end = strchr(spec, ']');
	char addr[INET6_ADDRSTRLEN];
	struct sockaddr_in6 sa;
	long long port;
	int fd, one = 1, saved;

	memset(&sa, 0, sizeof(sa));
	if (!end || (size_t)(end - spec - 1) >= sizeof(addr) || end[1] != ':' ||
	    num_parse(end + 2, 1, 65535, &port, NULL, 0) != GK_OK)
		goto invalid;
	memcpy(addr, spec + 1, (size_t)(end - spec - 1));
	addr[end - spec - 1] = '\0';
	if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1)
		goto invalid;
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons((uint16_t)port);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, backlog) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
invalid:
	errno = EINVAL;
	return -1;
}

int fcgi_listen(const char *spec, int backlog)
{
	if (FCGX_Init() != 0)
		return -1;
	if (spec[0] == '[')
		return listen_ipv6(spec, backlog);
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

/* The query of the request URI nginx received (the parameters a GET
 * takes), or NULL when it has none. */
static const char *request_query(FCGX_Request *rq)
{
	const char *uri = FCGX_GetParam("REQUEST_URI", rq->envp);
	const char *q = uri ? strchr(uri, '?') : NULL;

	return q ? q + 1 : NULL;
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
	req->remote_addr = FCGX_GetParam("REMOTE_ADDR", rq->envp);
	req->query = request_query(rq);
	req->read_body = read_body;
	req->read_ctx = rq;
	req->stream.write = stream_write;
	req->stream.flush = stream_flush;
	req->stream.gone = stream_gone;
	req->stream.ctx = rq;
	if (!req->method)
		req->method = "";
}

/* Appends the len bytes of s at *at. */
static void head_put(char **at, const char *s, size_t len)
{
	memcpy(*at, s, len);
	*at += len;
}

#define HEAD_PUT_LITERAL(at, s) head_put(at, s, sizeof(s) - 1)

/* Appends n in decimal at *at. */
static void head_put_number(char **at, size_t n)
{
	char digits[24];
	size_t i = sizeof(digits);

	do
		digits[--i] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	head_put(at, digits + i, sizeof(digits) - i);
}

/* The reply's header block, "Status: ..." to the blank line, in the arena;
 * NULL when the arena is full. Put together with memcpy, not printf: it is
 * on every request (libfcgi's own printf knows few conversions anyway). */
static char *response_head(const struct http_response *resp, size_t body_len, struct arena *arena,
			   size_t *head_len)
{
	const char *reason = http_reason(resp->status);
	/* the fixed lines, two numbers of at most 20 digits, the reason */
	size_t need = 200 + strlen(reason);
	char *head, *at;

	for (size_t i = 0; i < resp->header_count; i++)
		need += strlen(resp->headers[i].name) + strlen(resp->headers[i].value) + 4;
	head = arena_alloc(arena, need);
	if (!head)
		return NULL;
	at = head;
	HEAD_PUT_LITERAL(&at, "Status: ");
	head_put_number(&at, resp->status > 0 ? (size_t)resp->status : 0);
	HEAD_PUT_LITERAL(&at, " ");
	head_put(&at, reason, strlen(reason));
	HEAD_PUT_LITERAL(&at, "\r\n");
	/* A 204 (a CORS preflight) has no body, so neither its type nor length. */
	if (resp->status != 204)
		HEAD_PUT_LITERAL(&at, "Content-Type: application/json\r\n");
	HEAD_PUT_LITERAL(&at, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
	for (size_t i = 0; i < resp->header_count; i++) {
		head_put(&at, resp->headers[i].name, strlen(resp->headers[i].name));
		HEAD_PUT_LITERAL(&at, ": ");
		head_put(&at, resp->headers[i].value, strlen(resp->headers[i].value));
		HEAD_PUT_LITERAL(&at, "\r\n");
	}
	if (resp->status != 204) {
		HEAD_PUT_LITERAL(&at, "Content-Length: ");
		head_put_number(&at, body_len);
		HEAD_PUT_LITERAL(&at, "\r\n");
	}
	HEAD_PUT_LITERAL(&at, "\r\n");
	*head_len = (size_t)(at - head);
	return head;
}

/* Writes the whole reply; with flush, at once (else it leaves with the
 * end of the request). Returns GK_OK, or GK_ERR when it could not be
 * built or nginx went away before taking it (the caller logs that). */
static int write_response(FCGX_Request *rq, const struct http_response *resp, struct arena *arena, int flush)
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
	if (resp->status == 204)
		body_len = 0;
	head = response_head(resp, body_len, arena, &head_len);
	if (!head)
		return GK_ERR;
	if (FCGX_PutStr(head, (int)head_len, rq->out) != (int)head_len ||
	    FCGX_PutStr(body, (int)body_len, rq->out) != (int)body_len ||
	    (flush && FCGX_FFlush(rq->out) != 0))
		return GK_ERR;
	return GK_OK;
}

/* Whether the reply is flushed before the request ends. Not for a request
 * without a body (every GET): what fits libfcgi's buffer then leaves with
 * the end of the request, the reply and its end records in one write and
 * one wakeup of nginx (a peer gone is then seen here only for a reply
 * larger than the buffer). A request with a body may have left some of it
 * unread (a PUT refused before its body was read): its reply goes at once,
 * not after the rest of the body is read to end the request. */
static int flush_reply(const struct http_request *req)
{
	return req->content_length && *req->content_length && strcmp(req->content_length, "0") != 0;
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
	if (!resp.streamed && write_response(rq, &resp, &arena, flush_reply(&req)) != GK_OK)
		log_event(LOG_WARN, "reply_not_sent", "route=%s status=%d reason=\"%s\"",
			  route.name ? route.name : "-", resp.status,
			  FCGX_GetError(rq->out) ? "client gone" : "reply too large");
	log_request(&req, &route, &resp, &start);
	http_response_release(&resp);
	arena_release(&arena);
}

/* ------------------------------------------------------------------------
 * The connections a worker holds, and the loop that serves them
 */

#define FCGI_KEEP_MAX 64 /* connections kept open for nginx, per worker */
#define FCGI_NEW_MAX 8	 /* accepted connections whose request has not come */
#define FCGI_HELD_MAX (FCGI_KEEP_MAX + FCGI_NEW_MAX)
#define DRAIN_MAX (4 * 1024 * 1024) /* unread body worth reading to keep a connection */
#define POLL_MAX_MS 1000	    /* the longest a turn sleeps */

struct conn {
	int fd;
	int fresh;	  /* accepted, no request read from it yet */
	int64_t since_ms; /* accepted, or its last request ended */
};

/* One process serves one listener: what it holds lives across calls of
 * fcgi_serve() (the in-process master returns to read its signals). */
static struct {
	struct conn conn[FCGI_HELD_MAX];
	size_t count;
} held;

struct server {
	struct app *app;
	FCGX_Request rq;
	int listen_fd;	 /* polled while connections are held (a stop dup2s /dev/null over it) */
	int accept_fd;	 /* the same listener, this loop's own: accepted from, in listen_wait */
	int listen_wait; /* epoll: accept_fd (exclusively) and wake_fd; -1: none */
	long queued_at;	 /* served when the listener was last added to listen_wait */
	int wake_fd;
	int64_t timeout_ms;
	long max_requests;
	long served;
	const volatile sig_atomic_t *wake;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_put(int fd, int fresh, int64_t since_ms)
{
	held.conn[held.count].fd = fd;
	held.conn[held.count].fresh = fresh;
	held.conn[held.count].since_ms = since_ms;
	held.count++;
}

/* Removes the connection on fd from the set and returns it. */
static struct conn conn_take(int fd)
{
	struct conn c = { -1, 0, 0 };

	for (size_t i = 0; i < held.count; i++) {
		if (held.conn[i].fd != fd)
			continue;
		c = held.conn[i];
		held.conn[i] = held.conn[--held.count];
		break;
	}
	return c;
}

static size_t conn_count(int fresh)
{
	size_t n = 0;

	for (size_t i = 0; i < held.count; i++)
		n += held.conn[i].fresh == fresh;
	return n;
}

/* Has the peer sent something (or hung up) since the last look? */
static int conn_readable(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) > 0;
}

/* Closes the connections silent for the timeout. One that became readable
 * since the turn's poll is left for the next turn: nginx may have just
 * sent a request on it. */
static void conn_close_silent(const struct server *srv, int64_t now)
{
	for (size_t i = held.count; i-- > 0;) {
		struct conn *c = &held.conn[i];

		if (now - c->since_ms < srv->timeout_ms || conn_readable(c->fd))
			continue;
		log_event(LOG_DEBUG, "connection_closed", "reason=%s", c->fresh ? "no_request" : "idle");
		close(conn_take(c->fd).fd);
	}
}

/* How long a turn may sleep: until the first silent connection is due. */
static int poll_timeout(const struct server *srv, int64_t now)
{
	int64_t wait = POLL_MAX_MS;

	for (size_t i = 0; i < held.count; i++) {
		int64_t left = held.conn[i].since_ms + srv->timeout_ms - now;

		if (left < wait)
			wait = left > 0 ? left : 0;
	}
	return (int)wait;
}

/* Reads what is left of the request body, so that the next request on a
 * kept connection starts at a record. A body far beyond anything the
 * service accepts is not worth reading: the connection is closed instead.
 * The buffer is wiped, as a body may hold a key. */
static int drain_input(FCGX_Request *rq)
{
	char buf[4096];
	size_t total = 0;
	int n, rc = GK_OK;

	while ((n = FCGX_GetStr(buf, sizeof(buf), rq->in)) > 0) {
		total += (size_t)n;
		if (total > DRAIN_MAX) {
			rc = GK_ERR;
			break;
		}
	}
	if (FCGX_GetError(rq->in) != 0)
		rc = GK_ERR;
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* ------------------------------------------------------------------------
 * LLM calls in child processes
 */

static int llm_children_max; /* 0: serve LLM calls in the worker */
static int llm_children;     /* alive, not yet reaped */

void fcgi_set_llm_children(int max)
{
	llm_children_max = max > 0 ? max : 0;
}

/* Reaps the children that ended; with block set, waits for all of them. */
static void llm_children_reap(int block)
{
	int status;

	while (llm_children > 0) {
		pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);

		if (pid == 0 || (pid < 0 && errno != EINTR && errno != ECHILD))
			return;
		if (pid < 0 && errno == ECHILD) {
			llm_children = 0;
			return;
		}
		if (pid > 0) {
			llm_children--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				log_event(LOG_WARN, "llm_child_failed", "child=%ld status=%d", (long)pid,
					  status);
		}
	}
}

/* Is the request on rq a provider call (chat or verify)? Decided from its
 * parameters alone, before its body is read. */
static int is_llm_call(FCGX_Request *rq)
{
	const char *method = FCGX_GetParam("REQUEST_METHOD", rq->envp);
	const char *path;
	struct route_result route;
	char buf[1024];

	/* Both are POST routes: any other method is not one, and the key
	 * endpoints' GETs are spared a second routing. */
	if (!method || strcmp(method, "POST") != 0)
		return 0;
	path = FCGX_GetParam("DOCUMENT_URI", rq->envp);
	if (!path || !*path) {
		const char *uri = FCGX_GetParam("REQUEST_URI", rq->envp);
		size_t len = uri ? strcspn(uri, "?") : 0;

		if (len >= sizeof(buf))
			return 0;
		if (len)
			memcpy(buf, uri, len);
		buf[len] = '\0';
		path = buf;
	}
	return router_match(method, path, &route) == ROUTE_FOUND &&
	       (route.id == ROUTE_LLM_CHAT || route.id == ROUTE_API_KEY_VERIFY);
}

/* The child: serves the one request on rq and exits. */
static void llm_child_main(struct server *srv, FCGX_Request *rq, pid_t worker) __attribute__((noreturn));
static void llm_child_main(struct server *srv, FCGX_Request *rq, pid_t worker)
{
	struct sigaction sa;

	/* Dies with its worker, which the master kills at the stop timeout;
	 * if the worker died before prctl() ran, no signal will come. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != worker)
		_exit(1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN; /* a stop lets the call finish */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	close(srv->listen_fd);
	if (srv->accept_fd != srv->listen_fd)
		close(srv->accept_fd);
	if (srv->listen_wait >= 0)
		close(srv->listen_wait);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	/* Kept connections the worker closes must close for nginx too. */
	while (held.count > 0)
		close(held.conn[--held.count].fd);
	/* The worker's Redis connection stays the worker's: closed here
	 * (hiredis sends nothing on free), opened anew on first use. */
	keystore_release(&srv->app->store);
	llm_children_max = 0;
	serve_one(srv->app, rq);
	rq->keepConnection = 0; /* one request per child */
	fcgi_finish(rq);
	/* _exit: the worker's atexit handlers and buffers are not the child's. */
	_exit(0);
}

/* Hands the request on rq to a child when a slot is free. Returns 1 when
 * a child took it (the worker's copy of the connection is closed), 0 when
 * the worker is to serve it itself. */
static int llm_hand_off(struct server *srv, FCGX_Request *rq)
{
	pid_t worker, pid;

	if (llm_children_max == 0 || !is_llm_call(rq))
		return 0;
	llm_children_reap(0);
	if (llm_children >= llm_children_max)
		return 0;
	worker = getpid(); /* a system call: only for the requests that fork */
	pid = fork();
	if (pid < 0) {
		log_event(LOG_WARN, "llm_fork_failed", "error=\"%s\"", strerror(errno));
		return 0;
	}
	if (pid == 0)
		llm_child_main(srv, rq, worker);
	llm_children++;
	/* Forget the request without a byte written: the child answers it. */
	FCGX_Free(rq, 0);
	close(rq->ipcFd);
	rq->ipcFd = -1;
	return 1;
}

/* Serves the request waiting on fd. Returns fd when nginx asked to keep
 * the connection (FCGI_KEEP_CONN) and its request was read to the end,
 * else -1: it was closed, also when it carried no request (nginx closing
 * an idle connection, a timeout, bytes that are not FastCGI). */
static int serve_connection(struct server *srv, int fd)
{
	FCGX_Request *rq = &srv->rq;
	int keep;

	/* With keepConnection set, FCGX_Accept_r() reads from the connection
	 * it is given instead of closing it; the begin-request record then
	 * sets keepConnection as nginx asked. detached: a connection that
	 * fails is closed at once, without libfcgi's 2 s lingering wait. */
	rq->ipcFd = fd;
	rq->keepConnection = 1;
	rq->detached = 1;
	if (FCGX_Accept_r(rq) < 0) {
		rq->ipcFd = -1;
		return -1;
	}
	rq->detached = 0;
	keep = rq->keepConnection;
	if (llm_hand_off(srv, rq)) {
		srv->served++;
		return -1;
	}
	serve_one(srv->app, rq);
	srv->served++;
	if (keep && drain_input(rq) != GK_OK)
		keep = 0;
	rq->keepConnection = keep;
	/* ends the request; unless kept, closes the connection plainly when it
	 * was read whole, else with libfcgi's lingering close (fcgi_finish.h) */
	fcgi_finish(rq);
	fd = rq->ipcFd;
	rq->ipcFd = -1;
	return fd;
}

/* Makes room for one more kept connection: closes the one idle the
 * longest, which nginx, reusing the most recent first, is the least
 * likely to pick; one that became readable is spared (nginx may just have
 * sent a request on it). Refusing the connection just served would be
 * worse: nginx reads the end of its request, may hand it the next one at
 * once, and only then see it close. */
static void conn_evict_idle(void)
{
	size_t oldest = held.count;

	for (size_t i = 0; i < held.count; i++) {
		if (held.conn[i].fresh ||
		    (oldest < held.count && held.conn[i].since_ms >= held.conn[oldest].since_ms))
			continue;
		if (!conn_readable(held.conn[i].fd))
			oldest = i;
	}
	if (oldest < held.count) {
		log_event(LOG_DEBUG, "connection_closed", "reason=too_many_kept");
		close(conn_take(held.conn[oldest].fd).fd);
	}
}

/* Holds a connection nginx keeps, within FCGI_KEEP_MAX when it can. */
static void conn_keep(int fd)
{
	if (conn_count(0) >= FCGI_KEEP_MAX)
		conn_evict_idle();
	if (held.count < FCGI_HELD_MAX)
		conn_put(fd, 0, now_ms());
	else
		close(fd);
}

/* Serves each connection in ready[] once; kept ones go back to the set. */
static void serve_ready(struct server *srv, const int *ready, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int fd = conn_take(ready[i]).fd;

		if (fd >= 0 && (fd = serve_connection(srv, fd)) >= 0)
			conn_keep(fd);
	}
}

/* Takes the next connection from the listener. Returns it, or -1 with
 * errno set: EAGAIN when another worker was faster.
 *
 * Not libfcgi's accept: for a unix socket it then waits up to 2 s for the
 * first bytes and drops the connection if a signal interrupts that wait,
 * so a worker told to stop could throw away a request it had already
 * taken from the queue. Here, once accept() returns, the connection is
 * held, and its request is served even when a stop comes first. */
static int accept_connection(int listen_fd)
{
	union {
		struct sockaddr sa;
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
		if (peer.sa.sa_family != AF_INET && peer.sa.sa_family != AF_INET6)
			return fd;
		if (peer_allowed(getenv("FCGI_WEB_SERVER_ADDRS"), &peer.sa)) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
	}
}

/* Each read of a request waits this long at most; writes never time out. */
static void set_read_timeout(int fd, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Accepts one connection into the set. Returns GK_ERR when accept()
 * failed for a reason that will not pass (logged). */
static int take_connection(struct server *srv)
{
	int fd = accept_connection(srv->accept_fd);

	if (fd < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || *srv->wake)
			return GK_OK;
		log_event(LOG_ERROR, "accept_failed", "error=\"%s\"", strerror(errno));
		return GK_ERR;
	}
	set_read_timeout(fd, srv->timeout_ms);
	conn_put(fd, 1, now_ms());
	return GK_OK;
}

/* A worker takes a new connection while it has room for one whose request
 * has not come (silent ones leave after the timeout) and, near its request
 * limit, no more than it has requests left to serve. */
static int may_accept(const struct server *srv)
{
	long fresh = (long)conn_count(1);

	if (*srv->wake || fresh >= FCGI_NEW_MAX)
		return 0;
	return srv->max_requests == 0 || srv->served + fresh < srv->max_requests;
}

enum turn {
	TURN_ON,
	TURN_WOKEN,
	TURN_FAILED,
};

/* Every worker waits on the same listener. poll() on it wakes them all for
 * each new connection, and all but one find nothing to accept: on a
 * machine with few cores, that herd of wakeups cost more than a GET. A
 * worker instead waits in an epoll set that holds the listener with
 * EPOLLEXCLUSIVE (and wake_fd), where a connection wakes one of the idle
 * workers; a worker that holds connections polls the listener with them,
 * as before (it is busy: a wakeup it did not need costs little). Returns
 * the set, or -1 (the listener is then always polled). */
static int listen_wait_open(int listen_fd, int wake_fd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0)
		goto fail;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = wake_fd };
	if (wake_fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &ev) != 0)
		goto fail;
	return ep;
fail:
	log_event(LOG_WARN, "listen_wait_unavailable", "error=\"%s\"", strerror(errno));
	close(ep);
	return -1;
}

/* The kernel wakes the first idle worker in the listener's queue, so the
 * one started first would take every connection that finds them all
 * idle. A worker that has served since it joined the queue joins it again
 * at the end before it waits: idle workers take turns, first come first
 * served, as they do blocked in accept(). */
static void listen_wait_requeue(struct server *srv)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = srv->accept_fd };

	if (srv->queued_at == srv->served || *srv->wake)
		return;
	srv->queued_at = srv->served;
	if (epoll_ctl(srv->listen_wait, EPOLL_CTL_DEL, srv->accept_fd, NULL) != 0 ||
	    epoll_ctl(srv->listen_wait, EPOLL_CTL_ADD, srv->accept_fd, &ev) != 0) {
		log_event(LOG_WARN, "listen_wait_unavailable", "error=\"%s\"", strerror(errno));
		close(srv->listen_wait);
		srv->listen_wait = -1; /* the listener is polled itself from now on */
	}
}

/* The wait of a worker that holds no connection: epoll_wait() on the set,
 * its events reported in pfd[0] (the listener) and pfd[1] (wake_fd) as
 * poll() would. */
static int wait_idle(struct server *srv, struct pollfd *pfd, int timeout_ms)
{
	struct epoll_event ev[2];
	int n;

	listen_wait_requeue(srv);
	if (srv->listen_wait < 0)
		return poll(pfd, 2, timeout_ms);
	n = epoll_wait(srv->listen_wait, ev, 2, timeout_ms);

	for (int i = 0; i < n; i++)
		pfd[ev[i].data.fd == srv->accept_fd ? 0 : 1].revents = POLLIN;
	return n;
}

/* One turn: wait for any held connection, the listener or wake_fd; serve
 * every connection that is readable; accept one new connection. */
static enum turn serve_turn(struct server *srv)
{
	struct pollfd pfd[FCGI_HELD_MAX + 2];
	int ready[FCGI_HELD_MAX];
	size_t n = 0, nready = 0;
	int timeout = poll_timeout(srv, now_ms()), rc, chosen = 0;

	pfd[n++] = (struct pollfd){ srv->listen_fd, POLLIN, 0 };
	pfd[n++] = (struct pollfd){ srv->wake_fd, POLLIN, 0 }; /* poll() skips -1 */
	for (size_t i = 0; i < held.count; i++)
		pfd[n++] = (struct pollfd){ held.conn[i].fd, POLLIN, 0 };
	if (held.count == 0 && srv->listen_wait >= 0) {
		rc = wait_idle(srv, pfd, timeout);
		/* The kernel woke this worker and no other for the connection:
		 * it takes it even if told to stop meanwhile (and serves it
		 * before it leaves), or it would wait for the next one. */
		chosen = rc > 0 && pfd[0].revents;
	} else {
		rc = poll(pfd, n, timeout);
	}
	if (rc < 0) {
		if (errno == EINTR)
			return TURN_ON;
		log_event(LOG_ERROR, "poll_failed", "error=\"%s\"", strerror(errno));
		return TURN_FAILED;
	}
	if (pfd[1].revents)
		return TURN_WOKEN;
	for (size_t i = 2; i < n; i++)
		if (pfd[i].revents)
			ready[nready++] = pfd[i].fd;
	serve_ready(srv, ready, nready);
	llm_children_reap(0);
	conn_close_silent(srv, now_ms());
	if ((pfd[0].revents & POLLIN) && (chosen || may_accept(srv)) && take_connection(srv) != GK_OK)
		return TURN_FAILED;
	return TURN_ON;
}

/* While finishing: serves the connection if it has a request (looking
 * again just before closing it: nginx may just have sent one), leaves a
 * new one its timeout to bring its request, closes the rest. */
static void finish_connection(struct server *srv, const struct pollfd *pfd)
{
	struct conn c = conn_take(pfd->fd);
	int fd = c.fd;

	if (pfd->revents || conn_readable(fd)) {
		fd = serve_connection(srv, fd);
	} else if (c.fresh && now_ms() - c.since_ms < srv->timeout_ms) {
		conn_put(c.fd, 1, c.since_ms);
		return;
	}
	if (fd >= 0)
		close(fd);
}

/* Stopping, or the request limit reached: serves what nginx already sent
 * on the held connections, and the requests of new ones as they come
 * within the timeout (nginx took them as accepted), then closes every one.
 * nginx opens new connections to the workers that remain. */
static void serve_remaining(struct server *srv)
{
	while (held.count > 0) {
		struct pollfd pfd[FCGI_HELD_MAX];
		size_t n = held.count;

		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ held.conn[i].fd, POLLIN, 0 };
		if (poll(pfd, n, conn_count(1) ? poll_timeout(srv, now_ms()) : 0) < 0 && errno != EINTR) {
			while (held.count > 0)
				close(conn_take(held.conn[0].fd).fd);
			return;
		}
		for (size_t i = 0; i < n; i++)
			finish_connection(srv, &pfd[i]);
	}
}

long fcgi_serve(struct app *app, int listen_fd, long max_requests, const volatile sig_atomic_t *wake,
		int wake_fd)
{
	struct server srv = { 0 };
	enum turn turn = TURN_ON;
	int flags;

	srv.app = app;
	srv.listen_fd = listen_fd;
	/* A stop dup2s /dev/null over listen_fd, so that a poll() about to
	 * start returns at once; a worker the kernel has already woken for a
	 * connection still accepts it on its own descriptor. */
	srv.accept_fd = fcntl(listen_fd, F_DUPFD_CLOEXEC, 3);
	if (srv.accept_fd < 0)
		srv.accept_fd = listen_fd;
	srv.listen_wait = listen_wait_open(srv.accept_fd, wake_fd);
	srv.wake_fd = wake_fd;
	srv.timeout_ms = (int64_t)app->config->fcgi_timeout_s * 1000;
	srv.max_requests = max_requests;
	srv.wake = wake;
	/* No libfcgi accept (listen_sock -1): when a connection fails,
	 * FCGX_Accept_r() returns instead of waiting on the listener. */
	if (FCGX_Init() != 0 || FCGX_InitRequest(&srv.rq, -1, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_event(LOG_ERROR, "fcgi_init_failed", NULL);
		return 0;
	}
	/* Every worker polls the listener; the ones that lose the race for a
	 * connection must not block in accept() while their own are waiting. */
	flags = fcntl(listen_fd, F_GETFL);
	if (flags >= 0 && !(flags & O_NONBLOCK))
		fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK);
	while (!*wake && (max_requests == 0 || srv.served < max_requests) && turn == TURN_ON)
		turn = serve_turn(&srv);
	if (turn != TURN_WOKEN) {
		serve_remaining(&srv);
		llm_children_reap(1); /* a worker's children finish their calls first */
	}
	FCGX_Free(&srv.rq, 0);
	if (srv.listen_wait >= 0)
		close(srv.listen_wait);
	if (srv.accept_fd != listen_fd)
		close(srv.accept_fd);
	return srv.served;
}
