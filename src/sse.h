/* sse.h: server-sent events, read incrementally from a provider's stream.
 *
 * Bytes arrive in arbitrary pieces; sse_feed() collects lines ("\n", "\r\n"
 * or "\r"), gathers the "event:" and "data:" fields of one event (several
 * data lines are joined with "\n", as the EventSource rules say) and calls
 * the handler at each blank line. Comments (":...") and other fields are
 * ignored. The provider's bytes are untrusted: one event may hold at most
 * the cap its owner chose; a longer one is an error, never a bigger buffer.
 * No libcurl, no libfcgi: unit-tested and fuzzed alone. */
#ifndef GK_SSE_H
#define GK_SSE_H

#include <stddef.h>

#include "buf.h"

#define SSE_EVENT_NAME_MAX 64

/* Called once per complete event; data is NUL-terminated. Returning
 * anything but GK_OK stops sse_feed() with that code. */
typedef int (*sse_handler)(void *ctx, const char *event, const char *data, size_t len);

struct sse_parser {
	struct buf buf;	 /* the event's data lines so far, then the current line;
			  * its cap limits the two together */
	size_t data_len; /* bytes of joined data lines, at the start of buf */
	int has_data;
	int skip_lf; /* the last line ended in "\r": a "\n" next is part of it */
	char event[SSE_EVENT_NAME_MAX + 1];
	sse_handler handler;
	void *ctx;
};

void sse_parser_init(struct sse_parser *p, size_t cap, sse_handler handler, void *ctx);
void sse_parser_release(struct sse_parser *p);

/* Returns GK_OK; GK_TOOBIG when an event passes the cap; GK_NOMEM;
 * or the handler's code. After an error the parser must not be fed again. */
int sse_feed(struct sse_parser *p, const char *buf, size_t len);

/* At the end of the stream: an event not closed by a blank line is still
 * delivered, as providers do not always end with one. */
int sse_finish(struct sse_parser *p);

#endif
