/* test_sentinel.c: reading the sentinels' and the master's replies
 * (sentinel_reply_address, sentinel_reply_is_master), from the RESP bytes
 * Redis sends, parsed by hiredis's own reader. */
#include "unit.h"

#include <hiredis/hiredis.h>

#include "sentinel.h"
#include "status.h"

static redisReply *parse(const char *resp)
{
	redisReader *r = redisReaderCreate();
	void *reply = NULL;

	assert_non_null(r);
	assert_int_equal(redisReaderFeed(r, resp, strlen(resp)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
	assert_non_null(reply);
	redisReaderFree(r);
	return reply;
}

static void test_sentinel_address(void **state)
{
	struct redis_address a;
	redisReply *reply;

	(void)state;
	reply = parse("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
	assert_int_equal(sentinel_reply_address(reply, &a), GK_OK);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 6380);
	freeReplyObject(reply);

	reply = parse("*2\r\n$7\r\nfe80::1\r\n$5\r\n65535\r\n");
	assert_int_equal(sentinel_reply_address(reply, &a), GK_OK);
	assert_string_equal(a.host, "fe80::1");
	assert_int_equal(a.port, 65535);
	freeReplyObject(reply);
}

static void test_sentinel_address_refused(void **state)
{
	static const char *const bad[] = {
		"*-1\r\n",				   /* the sentinel does not know the master */
		"$-1\r\n",				   /* nil in RESP2 form */
		"-IDONTKNOW No such master\r\n",	   /* an error */
		"*0\r\n",				   /* empty */
		"*1\r\n$9\r\n127.0.0.1\r\n",		   /* no port */
		"*3\r\n$1\r\nh\r\n$1\r\n1\r\n$1\r\n2\r\n", /* three elements */
		"*2\r\n$0\r\n\r\n$4\r\n6379\r\n",	   /* empty host */
		"*2\r\n$1\r\nh\r\n$0\r\n\r\n",		   /* empty port */
		"*2\r\n$1\r\nh\r\n$1\r\n0\r\n",		   /* port 0 */
		"*2\r\n$1\r\nh\r\n$5\r\n65536\r\n",	   /* port too large */
		"*2\r\n$1\r\nh\r\n$6\r\n026379\r\n",	   /* six digits */
		"*2\r\n$1\r\nh\r\n$3\r\n-12\r\n",	   /* a sign */
		"*2\r\n$1\r\nh\r\n:6379\r\n",		   /* an integer port */
		"*2\r\n:1\r\n$4\r\n6379\r\n",		   /* an integer host */
		"*2\r\n$3\r\na\0b\r\n$4\r\n6379\r\n",	   /* a NUL in the host */
		"+OK\r\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct redis_address a = { "untouched", 7 };
		redisReader *r = redisReaderCreate();
		void *reply = NULL;
		/* lengths by hand: one case holds a NUL */
		size_t len = i == 14 ? 23 : strlen(bad[i]);

		assert_int_equal(redisReaderFeed(r, bad[i], len), REDIS_OK);
		assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
		assert_non_null(reply);
		if (sentinel_reply_address(reply, &a) != GK_ERR)
			fail_msg("case %zu accepted: %s:%d", i, a.host, a.port);
		assert_string_equal(a.host, "untouched");
		freeReplyObject(reply);
		redisReaderFree(r);
	}
	assert_int_equal(sentinel_reply_address(NULL, NULL), GK_ERR);
}

static void test_sentinel_role(void **state)
{
	static const struct {
		const char *resp;
		int master;
	} cases[] = {
		{ "*3\r\n$6\r\nmaster\r\n:3129659\r\n*0\r\n", 1 },
		{ "*3\r\n$6\r\nmaster\r\n:1\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n9001\r\n$1\r\n1\r\n", 1 },
		{ "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:3167038\r\n", 0 },
		{ "*2\r\n$8\r\nsentinel\r\n*1\r\n$8\r\nmymaster\r\n", 0 },
		{ "*1\r\n$7\r\nmasters\r\n", 0 },
		{ "*1\r\n$5\r\nmaste\r\n", 0 },
		{ "*1\r\n$6\r\nMASTER\r\n", 0 },
		{ "*1\r\n+master\r\n", 1 }, /* a status reply (+) reads the same */
		{ "*0\r\n", 0 },
		{ "$6\r\nmaster\r\n", 0 },
		{ "-NOPERM this user has no permissions to run the 'role' command\r\n", 0 },
		{ "*-1\r\n", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		redisReply *reply = parse(cases[i].resp);

		if (sentinel_reply_is_master(reply) != cases[i].master)
			fail_msg("case %zu: expected %d", i, cases[i].master);
		freeReplyObject(reply);
	}
	assert_int_equal(sentinel_reply_is_master(NULL), 0);
}

/* No sentinel answers: every one is tried, the error names the last, and
 * the call comes back within the per-sentinel timeouts. */
static void test_sentinel_ask_unreachable(void **state)
{
	struct redis_target t;
	struct redis_address a;
	char err[256], why[400];
	int first = 5;

	(void)state;
	/* port 1 on loopback: nothing listens there, the connect is refused */
	assert_int_equal(redis_url_parse("redis-sentinel://127.0.0.1:1,127.0.0.1:2/m", &t, err, sizeof(err)),
			 GK_OK);
	assert_int_equal(sentinel_ask(&t, 200, &first, &a, why, sizeof(why)), GK_UNAVAILABLE);
	assert_non_null(strstr(why, "127.0.0.1:"));
	assert_true(first >= 0 && first < 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sentinel_address),
		cmocka_unit_test(test_sentinel_address_refused),
		cmocka_unit_test(test_sentinel_role),
		cmocka_unit_test(test_sentinel_ask_unreachable),
	};

	return cmocka_run_group_tests_name("sentinel", tests, NULL, NULL);
}
