/* test_sse.c: server-sent events read from a provider's stream in pieces
 * of any size: line ends, joined data lines, comments, the cap. */
#include "unit.h"

#include "sse.h"
#include "status.h"

/* What the handler saw, one "name|data" per event, joined by ";". */
struct seen {
	char text[4096];
	int stop_after; /* > 0: fail on that event */
	int count;
};

static int record(void *ctx, const char *event, const char *data, size_t len)
{
	struct seen *s = ctx;
	size_t used = strlen(s->text);

	assert_int_equal(strlen(data), len);
	snprintf(s->text + used, sizeof(s->text) - used, "%s%s|%s", used ? ";" : "", event, data);
	s->count++;
	return s->stop_after && s->count == s->stop_after ? GK_ERR : GK_OK;
}

struct sse_case {
	const char *input;
	const char *events;
};

static const struct sse_case cases[] = {
	{ "data: hello\n\n", "|hello" },
	{ "data:hello\n\n", "|hello" }, /* the space is optional */
	{ "data:  two\n\n", "| two" },	/* only one is removed */
	{ "event: delta\ndata: {\"a\":1}\n\n", "delta|{\"a\":1}" },
	{ "data: a\ndata: b\n\n", "|a\nb" },	   /* joined with a line feed */
	{ "data: a\r\n\r\ndata: b\r\r", "|a;|b" }, /* CRLF and CR */
	{ ": comment\ndata: x\n\n", "|x" },
	{ "id: 7\nretry: 10\ndata: x\n\n", "|x" }, /* other fields are ignored */
	{ "event: ping\n\n", "" },		   /* no data, no event */
	{ "data\n\n", "|" },			   /* a field name alone */
	{ "data: one\n\nevent: e\ndata: two\n\n", "|one;e|two" },
	{ "event: e1\n\ndata: x\n\n", "|x" }, /* the name ends with its event */
	{ "data: [DONE]\n\n", "|[DONE]" },
	{ "data: unterminated", "|unterminated" }, /* sse_finish delivers it */
	{ "", "" },
	/* a blank line before anything else, when no buffer exists yet
	 * (found by fuzz_sse: UBSan flagged NULL + 0 in end_line) */
	{ "\n", "" },
	{ "\r\n\r\ndata: x\n\n", "|x" },
	{ "\rdata: x\r\r", "|x" },
};

static void feed_in_pieces(const char *input, size_t piece, struct seen *seen)
{
	struct sse_parser p;
	size_t len = strlen(input);

	memset(seen, 0, sizeof(*seen));
	sse_parser_init(&p, 1024, record, seen);
	for (size_t at = 0; at < len; at += piece)
		assert_int_equal(sse_feed(&p, input + at, len - at < piece ? len - at : piece), GK_OK);
	assert_int_equal(sse_finish(&p), GK_OK);
	sse_parser_release(&p);
}

static void test_events_whatever_the_piece_size(void **state)
{
	struct seen seen;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t piece = 1; piece <= strlen(cases[i].input) + 1; piece++) {
			feed_in_pieces(cases[i].input, piece, &seen);
			if (strcmp(seen.text, cases[i].events) != 0)
				fail_msg("case %zu, pieces of %zu: got '%s', want '%s'", i, piece, seen.text,
					 cases[i].events);
		}
	}
}

static void test_an_event_over_the_cap_is_an_error(void **state)
{
	struct sse_parser p;
	struct seen seen;
	char big[200];

	memset(&seen, 0, sizeof(seen));
	memset(big, 'x', sizeof(big));
	sse_parser_init(&p, 100, record, &seen);
	assert_int_equal(sse_feed(&p, "data: ", 6), GK_OK);
	assert_int_equal(sse_feed(&p, big, sizeof(big)), GK_TOOBIG);
	sse_parser_release(&p);
	assert_int_equal(seen.count, 0);

	/* many short data lines count together */
	sse_parser_init(&p, 100, record, &seen);
	for (int i = 0; i < 12; i++)
		if (sse_feed(&p, "data: 0123456789\n", 17) != GK_OK)
			break;
	assert_int_equal(sse_feed(&p, "data: 0123456789\n", 17), GK_TOOBIG);
	sse_parser_release(&p);
}

static void test_a_handler_error_stops_the_feed(void **state)
{
	struct sse_parser p;
	struct seen seen;
	const char *input = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	sse_parser_init(&p, 1024, record, &seen);
	assert_int_equal(sse_feed(&p, input, strlen(input)), GK_ERR);
	sse_parser_release(&p);
	assert_string_equal(seen.text, "|1;|2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_whatever_the_piece_size),
		cmocka_unit_test(test_an_event_over_the_cap_is_an_error),
		cmocka_unit_test(test_a_handler_error_stops_the_feed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
