#include "fcgi_finish.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The body length nginx declared: 0 when there is none or it is unreadable
 * (then the drain's own bound decides). */
static size_t declared_length(FCGX_Request *rq)
{
	const char *text = FCGX_GetParam("CONTENT_LENGTH", rq->envp);
	char *end;
	unsigned long long n;

	if (!text || !*text)
		return 0;
	n = strtoull(text, &end, 10);
	if (*end || n > (unsigned long long)SIZE_MAX)
		return SIZE_MAX;
	return (size_t)n;
}

int fcgi_finish_drain(FCGX_Request *rq, size_t max)
{
	char scrap[4096];
	size_t left = max, used = 0;

	if (!rq->in)
		return 0;
	/* nginx buffers the request body (fastcgi_request_buffering on) and
	 * writes the whole request at once, so these reads find bytes already
	 * sent; libfcgi's lingering close would read them too. */
	while (!FCGX_HasSeenEOF(rq->in) && FCGX_GetError(rq->in) == 0) {
		int want = left < sizeof(scrap) ? (int)left : (int)sizeof(scrap);
		int n;

		if (want == 0)
			break;
		n = FCGX_GetStr(scrap, want, rq->in);
		if (n <= 0 || FCGX_GetError(rq->in))
			break;
		left -= (size_t)n;
		used = (size_t)n > used ? (size_t)n : used;
	}
	/* a body may hold a key; a GET leaves nothing to wipe */
	explicit_bzero(scrap, used);
	/* libfcgi marks a stream that failed as ended too */
	return FCGX_HasSeenEOF(rq->in) && FCGX_GetError(rq->in) == 0 ? 1 : 0;
}

int fcgi_finish(FCGX_Request *rq)
{
	int plain = 0;

	/* A kept connection is not closed at all; a body over the limit is
	 * not worth reading: both go to libfcgi as they are. */
	if (!rq->keepConnection && rq->ipcFd >= 0 && declared_length(rq) <= FCGI_FINISH_DRAIN_MAX)
		plain = fcgi_finish_drain(rq, FCGI_FINISH_DRAIN_MAX);
	/* libfcgi closes a detached request's connection with a plain
	 * close() (OS_IpcClose without shutdown) once it has written the
	 * end-request record. */
	if (plain)
		rq->detached = 1;
	FCGX_Finish_r(rq);
	return plain;
}
