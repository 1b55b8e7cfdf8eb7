#include "event_stream.h"

#include <stdio.h>
#include <string.h>

/* "event: <name>\ndata: " for the few names this service sends. */
#define EVENT_HEAD_MAX 64

static int write_str(const struct http_stream *s, const char *str)
{
	return s->write(s->ctx, str, strlen(str));
}

int event_stream_begin(const struct http_stream *s, const struct http_header *headers, size_t count)
{
	static const char head[] = "Status: 200 OK\r\n"
				   "Content-Type: text/event-stream\r\n"
				   "Cache-Control: no-store\r\n"
				   "X-Content-Type-Options: nosniff\r\n"
				   "X-Accel-Buffering: no\r\n";

	if (s->write(s->ctx, head, sizeof(head) - 1) != 0)
		return -1;
	for (size_t i = 0; i < count; i++)
		if (write_str(s, headers[i].name) != 0 || write_str(s, ": ") != 0 ||
		    write_str(s, headers[i].value) != 0 || write_str(s, "\r\n") != 0)
			return -1;
	return write_str(s, "\r\n") != 0 || s->flush(s->ctx) != 0 ? -1 : 0;
}

int event_stream_send(const struct http_stream *s, const char *name, const char *json, size_t len)
{
	char head[EVENT_HEAD_MAX];
	int n = snprintf(head, sizeof(head), "%s%s%sdata: ", name ? "event: " : "", name ? name : "",
			 name ? "\n" : "");

	if (!json || n < 0 || (size_t)n >= sizeof(head) || s->write(s->ctx, head, (size_t)n) != 0 ||
	    s->write(s->ctx, json, len) != 0 || s->write(s->ctx, "\n\n", 2) != 0 || s->flush(s->ctx) != 0)
		return -1;
	return 0;
}
