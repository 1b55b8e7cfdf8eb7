/* test_event_stream.c: the bytes of a streamed reply to the client, and a
 * failed write reported at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arena.h"
#include "event_stream.h"
#include "jsonw.h"

struct sink {
	char data[1024];
	size_t len;
	int flushes;
	int fail_after; /* > 0: writes fail once this many bytes are written */
};

static int sink_write(void *ctx, const char *data, size_t len)
{
	struct sink *s = ctx;

	if (s->fail_after && s->len + len > (size_t)s->fail_after)
		return -1;
	assert_true(s->len + len < sizeof(s->data));
	memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
	return 0;
}

static int sink_flush(void *ctx)
{
	struct sink *s = ctx;

	s->flushes++;
	return 0;
}

static struct http_stream stream_to(struct sink *s)
{
	struct http_stream stream = { sink_write, sink_flush, NULL, s };

	memset(s, 0, sizeof(*s));
	return stream;
}

static void test_headers_then_events_each_flushed(void **state)
{
	struct sink s;
	struct http_stream stream = stream_to(&s);
	static const char done[] = "{\"usage\":{}}";
	struct arena arena;
	struct jsonw w;
	const char *delta;
	size_t len;

	/* The delta as the API writes it: its line break stays escaped. */
	arena_init(&arena, 64 * 1024);
	jsonw_init(&w, &arena, 1024);
	jsonw_object_begin(&w);
	jsonw_key(&w, "delta");
	jsonw_string_len(&w, "a\nb/\"c\"", 7);
	jsonw_object_end(&w);
	delta = jsonw_finish(&w, &len);
	assert_non_null(delta);
	assert_int_equal(event_stream_begin(&stream, NULL, 0), 0);
	assert_int_equal(event_stream_send(&stream, NULL, delta, len), 0);
	assert_int_equal(event_stream_send(&stream, "done", done, strlen(done)), 0);
	assert_string_equal(s.data, "Status: 200 OK\r\n"
				    "Content-Type: text/event-stream\r\n"
				    "Cache-Control: no-store\r\n"
				    "X-Content-Type-Options: nosniff\r\n"
				    "X-Accel-Buffering: no\r\n"
				    "\r\n"
				    "data: {\"delta\":\"a\\u000ab/\\\"c\\\"\"}\n\n"
				    "event: done\ndata: {\"usage\":{}}\n\n");
	assert_int_equal(s.flushes, 3);
	arena_release(&arena);
}

/* The reply's own headers (CORS) follow the fixed ones, before the blank
 * line, all in one flush. */
static void test_reply_headers_go_out_with_the_stream(void **state)
{
	static const struct http_header headers[] = {
		{ "Vary", "Origin" },
		{ "Access-Control-Allow-Origin", "https://app.example" },
	};
	struct sink s;
	struct http_stream stream = stream_to(&s);

	(void)state;
	assert_int_equal(event_stream_begin(&stream, headers, 2), 0);
	assert_string_equal(s.data, "Status: 200 OK\r\n"
				    "Content-Type: text/event-stream\r\n"
				    "Cache-Control: no-store\r\n"
				    "X-Content-Type-Options: nosniff\r\n"
				    "X-Accel-Buffering: no\r\n"
				    "Vary: Origin\r\n"
				    "Access-Control-Allow-Origin: https://app.example\r\n"
				    "\r\n");
	assert_int_equal(s.flushes, 1);
	/* a write failing in the middle of the extra headers is reported */
	stream = stream_to(&s);
	s.fail_after = 140;
	assert_int_equal(event_stream_begin(&stream, headers, 2), -1);
	assert_int_equal(s.flushes, 0);
}

static void test_a_failed_write_is_reported(void **state)
{
	struct sink s;
	struct http_stream stream = stream_to(&s);

	s.fail_after = 10;
	assert_int_equal(event_stream_begin(&stream, NULL, 0), -1);
	assert_int_equal(event_stream_send(&stream, "error", "{}", 2), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_then_events_each_flushed),
		cmocka_unit_test(test_reply_headers_go_out_with_the_stream),
		cmocka_unit_test(test_a_failed_write_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
