/* test_fcgi_finish.c: ending a FastCGI request with a plain close when it
 * was read whole, and with libfcgi's lingering close when a body was left
 * unread. The web server's side is a socketpair end that writes the
 * records by hand and reads the reply. */
#include "unit.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "fcgi_finish.h"

#define REQUEST_ID 1

struct conn {
	int server; /* the worker's end */
	int web;    /* nginx's end */
	FCGX_Request rq;
};

static void put_record(int fd, int type, const void *data, size_t len)
{
	unsigned char head[8] = { 1,
				  (unsigned char)type,
				  0,
				  REQUEST_ID,
				  (unsigned char)(len >> 8),
				  (unsigned char)(len & 0xff),
				  0,
				  0 };

	assert_int_equal(write(fd, head, sizeof(head)), (ssize_t)sizeof(head));
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
}

/* BEGIN_REQUEST (responder, no keep-conn), the params, and stdin: body
 * when given, and its end record when complete is set. */
static void send_request(int fd, const char *content_length, const char *body, int complete)
{
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	unsigned char params[256];
	size_t n = 0;
	const char *pairs[][2] = { { "REQUEST_METHOD", body ? "PUT" : "GET" },
				   { "CONTENT_LENGTH", content_length } };

	put_record(fd, 1, begin, sizeof(begin));
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		size_t nl = strlen(pairs[i][0]), vl = strlen(pairs[i][1]);

		params[n++] = (unsigned char)nl;
		params[n++] = (unsigned char)vl;
		memcpy(params + n, pairs[i][0], nl);
		memcpy(params + n + nl, pairs[i][1], vl);
		n += nl + vl;
	}
	put_record(fd, 4, params, n);
	put_record(fd, 4, NULL, 0);
	if (body)
		put_record(fd, 5, body, strlen(body));
	if (complete)
		put_record(fd, 5, NULL, 0);
}

/* nginx sends the request, the worker takes it. */
static void accept_request(struct conn *c, const char *content_length, const char *body, int complete)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->server = sv[0];
	c->web = sv[1];
	send_request(c->web, content_length, body, complete);
	assert_int_equal(FCGX_Init(), 0);
	assert_int_equal(FCGX_InitRequest(&c->rq, c->server, 0), 0);
	/* as fcgi_server.c hands libfcgi an accepted connection */
	c->rq.ipcFd = c->server;
	c->rq.keepConnection = 1;
	assert_true(FCGX_Accept_r(&c->rq) >= 0);
}

/* Reads nginx's side to the end: returns 1 when it held the reply body and
 * the end-request record and then a clean end of stream (no reset). */
static int reply_complete(int fd, const char *body)
{
	unsigned char buf[8192];
	size_t got = 0;
	ssize_t n;
	int ended = 0;
	const unsigned char *p = buf;

	while ((n = read(fd, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	if (n < 0)
		return 0;
	while (p + 8 <= buf + got) {
		size_t len = ((size_t)p[4] << 8) | p[5];

		if (p[1] == 3)
			ended = 1;
		p += 8 + len + p[6];
	}
	return ended && memmem(buf, got, body, strlen(body)) != NULL;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A GET: the empty stdin record is read, the close is plain and at once
 * (nginx's end still open: a lingering close would wait for it), and
 * nginx reads the whole reply. */
static void test_fcgi_finish_get_plain(void **state)
{
	struct conn c;
	struct timespec start;

	(void)state;
	accept_request(&c, "", NULL, 1);
	FCGX_PutS("Status: 200 OK\r\n\r\n{\"get\":1}", c.rq.out);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(fcgi_finish(&c.rq), 1);
	assert_true(seconds_since(&start) < 1.0);
	assert_int_equal(c.rq.ipcFd, -1);
	assert_true(reply_complete(c.web, "{\"get\":1}"));
	close(c.web);
	FCGX_Free(&c.rq, 1);
}

/* A body the handler read, or one it did not read that is within the
 * limit: both are drained and closed plainly. */
static void test_fcgi_finish_body_plain(void **state)
{
	struct conn c;
	char buf[16];

	(void)state;
	accept_request(&c, "5", "hello", 1);
	assert_int_equal(FCGX_GetStr(buf, sizeof(buf), c.rq.in), 5);
	FCGX_PutS("Status: 200 OK\r\n\r\n{\"put\":1}", c.rq.out);
	assert_int_equal(fcgi_finish(&c.rq), 1);
	assert_true(reply_complete(c.web, "{\"put\":1}"));
	close(c.web);

	accept_request(&c, "5", "hello", 1);
	FCGX_PutS("Status: 422 Unprocessable Entity\r\n\r\n{}", c.rq.out);
	assert_int_equal(fcgi_finish(&c.rq), 1);
	assert_true(reply_complete(c.web, "422"));
	close(c.web);
	FCGX_Free(&c.rq, 1);
}

/* A declared body over the limit (a 413, answered before reading it):
 * the lingering close, which reads what nginx still sends until it
 * closes, so the reply is never followed by a reset. */
static void test_fcgi_finish_unread_body_lingers(void **state)
{
	struct conn c;

	(void)state;
	accept_request(&c, "1000000", "the first bytes of a large body", 0);
	FCGX_PutS("Status: 413 Payload Too Large\r\n\r\n{\"big\":1}", c.rq.out);
	/* nginx would send the rest and then close; here it stops sending at
	 * once, so the lingering read ends without its 2 s wait */
	shutdown(c.web, SHUT_WR);
	assert_int_equal(fcgi_finish(&c.rq), 0);
	assert_true(reply_complete(c.web, "{\"big\":1}"));
	close(c.web);
	FCGX_Free(&c.rq, 1);
}

/* The request stream ends early (nginx gone mid-body): no plain close. */
static void test_fcgi_finish_drain_stops_at_error(void **state)
{
	struct conn c;

	(void)state;
	accept_request(&c, "100", "only part", 0);
	shutdown(c.web, SHUT_WR);
	assert_int_equal(fcgi_finish_drain(&c.rq, FCGI_FINISH_DRAIN_MAX), 0);
	FCGX_Finish_r(&c.rq);
	close(c.web);
	FCGX_Free(&c.rq, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fcgi_finish_get_plain),
		cmocka_unit_test(test_fcgi_finish_body_plain),
		cmocka_unit_test(test_fcgi_finish_unread_body_lingers),
		cmocka_unit_test(test_fcgi_finish_drain_stops_at_error),
	};

	return cmocka_run_group_tests_name("fcgi_finish", tests, NULL, NULL);
}
