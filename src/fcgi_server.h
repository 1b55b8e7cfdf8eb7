/* fcgi_server.h: the libfcgi side of a worker.
 *
 * Accepts FastCGI requests on a listening socket, turns each into a struct
 * http_request, lets api_handle() answer it, writes the reply and logs one
 * line. Nothing else in the project includes fcgiapp.h. */
#ifndef GK_FCGI_SERVER_H
#define GK_FCGI_SERVER_H

#include <signal.h>

#include "app.h"

/* Per-request arena cap: a 64 KiB body, the keys fetched, the reply. */
#define REQUEST_ARENA_MAX (1024 * 1024)

/* Opens "--listen PATH|HOST:PORT|[IPV6]:PORT" as a listening socket.
 * Returns the fd or -1. */
int fcgi_listen(const char *spec, int backlog);

/* Returns 1 when fd is a listening stream socket (as spawn-fcgi hands fd 0). */
int fcgi_is_listener(int fd);

/* Serves until *wake becomes non-zero, or after max_requests (0: no limit),
 * then serves what the web server already sent on the connections it holds
 * and closes them. A signal handler that sets *wake ends the wait for the
 * next request; the request in progress always completes. Also returns when
 * wake_fd (-1: none) becomes readable, without reading it and keeping its
 * connections for the next call; called with *wake already set, it only
 * finishes them. Returns the number served. See fcgi_server.c for how
 * connections are held, kept (FCGI_KEEP_CONN) and timed out. */
/* Lets this process (a worker) fork up to max children, each serving one
 * LLM call (chat, verify) apart from the worker (fcgi_server.c); 0, the
 * default, serves them in the process. Call before fcgi_serve(). */
void fcgi_set_llm_children(int max);

long fcgi_serve(struct app *app, int listen_fd, long max_requests, const volatile sig_atomic_t *wake,
		int wake_fd);

#endif
