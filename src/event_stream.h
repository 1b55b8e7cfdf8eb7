/* event_stream.h: a streamed reply to the client, as server-sent events.
 *
 *   Status: 200 OK, Content-Type: text/event-stream, X-Accel-Buffering: no
 *   data: {"delta":"..."}            one per piece of text
 *   event: done / event: error       the last one
 *
 * Written CGI-style through struct http_stream (the handler then sets
 * resp->streamed), each event flushed at once so nginx passes it on as it
 * comes. Every function returns 0, or -1 when the client's connection
 * failed. */
#ifndef GK_EVENT_STREAM_H
#define GK_EVENT_STREAM_H

#include <stddef.h>

#include "http.h"

/* The status line and the fixed headers, then headers[0..count) (the CORS
 * headers the API set on its reply), flushed. */
int event_stream_begin(const struct http_stream *s, const struct http_header *headers, size_t count);

/* One event: "event: <name>\n" when name is not NULL, then "data: " and
 * json[0..len) (jsonw's text, which escapes every line break, so it is one
 * line) and a blank line. */
int event_stream_send(const struct http_stream *s, const char *name, const char *json, size_t len);

#endif
