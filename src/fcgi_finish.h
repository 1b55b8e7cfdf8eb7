/* fcgi_finish.h: end a FastCGI request without libfcgi's lingering close.
 *
 * FCGX_Finish_r() closes a connection nginx did not ask to keep with
 * shutdown(), then reads until nginx closes its end (up to 2 s per read):
 * the worker sits idle for a round trip through nginx's event loop on
 * every request. That wait exists so that bytes still unread never make
 * the kernel reset the connection before nginx has the reply (a unix
 * socket closed with unread data hands its peer ECONNRESET, TCP sends a
 * RST). fcgi_finish() reads the rest of the request itself when what is
 * left is small (a GET's empty stdin record, a body the handler already
 * read) and then closes plainly; a request whose body was left unread (a
 * 413 for a body over the limit) keeps the lingering close. A peer that
 * never ends its stdin holds the worker here as one that never sends its
 * parameters would: the connection's read timeout (SO_RCVTIMEO) bounds
 * both, and a read that times out falls back to the lingering close.
 *
 * Self-contained (libfcgi only), so that the bench's trivial responder
 * ends its requests the same way and the ceiling it measures is real. */
#ifndef GK_FCGI_FINISH_H
#define GK_FCGI_FINISH_H

#include <fcgiapp.h>
#include <stddef.h>

/* Most a request may still hold unread for the plain close: the largest
 * body the service reads (HTTP_BODY_MAX) plus the records around it. */
#define FCGI_FINISH_DRAIN_MAX (64 * 1024 + 1024)

/* Ends rq as FCGX_Finish_r() does (end-request record, streams freed,
 * connection closed unless kept). Returns 1 when the connection was
 * closed plainly, 0 when kept or closed with libfcgi's lingering close. */
int fcgi_finish(FCGX_Request *rq);

/* Reads what is left of rq's stdin, at most max bytes. Returns 1 when it
 * reached the end of the stream (all of the request is read), else 0. */
int fcgi_finish_drain(FCGX_Request *rq, size_t max);

#endif
