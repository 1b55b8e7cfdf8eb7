/* test_event_stream.c: the bytes of a streamed reply to the client, and a
 * failed write reported at once. */
#include "unit.h"

#include <json-c/json.h>

#include "event_stream.h"

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
	struct json_object *delta = json_object_new_object(), *done = json_object_new_object();

	json_object_object_add(delta, "delta", json_object_new_string("a\nb/\"c\""));
	json_object_object_add(done, "usage", json_object_new_object());
	assert_int_equal(event_stream_begin(&stream, NULL, 0), 0);
	assert_int_equal(event_stream_send(&stream, NULL, delta), 0);
	assert_int_equal(event_stream_send(&stream, "done", done), 0);
	assert_string_equal(s.data, "Status: 200 OK\r\n"
				    "Content-Type: text/event-stream\r\n"
				    "Cache-Control: no-store\r\n"
				    "X-Content-Type-Options: nosniff\r\n"
				    "X-Accel-Buffering: no\r\n"
				    "\r\n"
				    "data: {\"delta\":\"a\\nb/\\\"c\\\"\"}\n\n"
				    "event: done\ndata: {\"usage\":{}}\n\n");
	assert_int_equal(s.flushes, 3);
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
	assert_int_equal(event_stream_send(&stream, "error", json_object_new_object()), -1);
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
