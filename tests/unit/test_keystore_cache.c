/* test_keystore_cache.c: the key cache's bookkeeping and its reading of
 * invalidation messages, without a server. Replies are parsed by hiredis's
 * own reader from the bytes Redis sends (RESP2), so the shapes are the
 * real ones: an HMGET's array of strings and nils, the pub/sub messages of
 * CLIENT TRACKING's REDIRECT mode. */
#include "unit.h"

#include <hiredis/hiredis.h>

#include "keystore_cache.h"
#include "status.h"

#define KEY_A "gofannon:users:{alice}:apiKeys"
#define KEY_B "gofannon:users:{bob}:apiKeys"
#define AGE 10000

/* One reply parsed from raw RESP bytes, for freeReplyObject(). */
static redisReply *parse(const char *resp)
{
	redisReader *reader = redisReaderCreate();
	void *reply = NULL;

	assert_non_null(reader);
	assert_int_equal(redisReaderFeed(reader, resp, strlen(resp)), REDIS_OK);
	assert_int_equal(redisReaderGetReply(reader, &reply), REDIS_OK);
	assert_non_null(reply);
	redisReaderFree(reader);
	return reply;
}

/* What Redis answers HMGET key openaiApiKey openaiApiKey:updatedAt
 * anthropicApiKey anthropicApiKey:updatedAt for a user with one key. */
static const char hmget_reply[] = "*4\r\n$16\r\nv1.k1.AAAAsealed\r\n$20\r\n2026-11-28T10:00:00Z\r\n"
				  "$-1\r\n$-1\r\n";

static const char *hmget_argv(const char *key, int i)
{
	const char *argv[] = { "HMGET",		  key,
			       "openaiApiKey",	  "openaiApiKey:updatedAt",
			       "anthropicApiKey", "anthropicApiKey:updatedAt" };

	return argv[i];
}

static void fill_argv(const char **argv, const char *key)
{
	for (int i = 0; i < 6; i++)
		argv[i] = hmget_argv(key, i);
}

static struct keystore_cache *new_cache(size_t entries, size_t bytes)
{
	struct keystore_cache *c = keystore_cache_new(entries, bytes, AGE);

	assert_non_null(c);
	return c;
}

static void store(struct keystore_cache *c, const char *key, const char *resp, long long now)
{
	const char *argv[6];
	redisReply *r = parse(resp);

	fill_argv(argv, key);
	assert_int_equal(keystore_cache_store(c, key, 6, argv, r, now), GK_OK);
	freeReplyObject(r);
}

static int cached(struct keystore_cache *c, const char *key, long long now)
{
	const char *argv[6];

	fill_argv(argv, key);
	return keystore_cache_lookup(c, key, 6, argv, now) != NULL;
}

/* A hit is the whole reply that was stored, nils and lengths included,
 * lent by the cache: the caller frees nothing, and the entry stays. */
static void test_hit_is_the_stored_reply(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);
	const char *argv[6];
	const redisReply *r;

	(void)state;
	store(c, KEY_A, hmget_reply, 1000);
	assert_int_equal(keystore_cache_entries(c), 1);
	assert_true(keystore_cache_bytes(c) > sizeof(redisReply) * 5 + 33);
	fill_argv(argv, KEY_A);
	r = keystore_cache_lookup(c, KEY_A, 6, argv, 1001);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 4);
	assert_int_equal(r->element[0]->type, REDIS_REPLY_STRING);
	assert_int_equal(r->element[0]->len, 16);
	assert_string_equal(r->element[0]->str, "v1.k1.AAAAsealed");
	assert_string_equal(r->element[1]->str, "2026-11-28T10:00:00Z");
	assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
	assert_int_equal(r->element[3]->type, REDIS_REPLY_NIL);
	/* a second hit lends the same reply, still whole */
	assert_ptr_equal(keystore_cache_lookup(c, KEY_A, 6, argv, 1002), r);
	assert_string_equal(r->element[0]->str, "v1.k1.AAAAsealed");
	assert_true(cached(c, KEY_A, 1002));
	assert_false(cached(c, KEY_B, 1002));
	keystore_cache_free(c);
}

/* A read of other fields of the same hash never gets this read's answer. */
static void test_other_arguments_miss(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);
	const char *argv[6], *fewer[4], *renamed[6];

	(void)state;
	store(c, KEY_A, hmget_reply, 1000);
	fill_argv(argv, KEY_A);
	memcpy(fewer, argv, sizeof(fewer));
	memcpy(renamed, argv, sizeof(renamed));
	renamed[4] = "geminiApiKey";
	assert_null(keystore_cache_lookup(c, KEY_A, 4, fewer, 1001));
	assert_null(keystore_cache_lookup(c, KEY_A, 6, renamed, 1001));
	renamed[4] = "anthropicApiKeY";
	assert_null(keystore_cache_lookup(c, KEY_A, 6, renamed, 1001));
	renamed[0] = "HGETALL";
	renamed[4] = argv[4];
	assert_null(keystore_cache_lookup(c, KEY_A, 6, renamed, 1001));
	assert_true(cached(c, KEY_A, 1001));
	keystore_cache_free(c);
}

/* The age bound: an entry is served until it is AGE ms old, then dropped. */
static void test_age_bound(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);

	(void)state;
	store(c, KEY_A, hmget_reply, 1000);
	assert_true(cached(c, KEY_A, 1000 + AGE - 1));
	assert_false(cached(c, KEY_A, 1000 + AGE));
	assert_int_equal(keystore_cache_entries(c), 0);
	assert_int_equal(keystore_cache_bytes(c), 0);
	keystore_cache_free(c);
}

/* Storing a key again replaces its entry: one entry, the new reply. */
static void test_store_replaces(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);
	const char *argv[6];
	const redisReply *r;
	size_t one;

	(void)state;
	store(c, KEY_A, hmget_reply, 1000);
	one = keystore_cache_bytes(c);
	store(c, KEY_A, "*4\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n", 1001);
	assert_int_equal(keystore_cache_entries(c), 1);
	assert_true(keystore_cache_bytes(c) < one);
	fill_argv(argv, KEY_A);
	r = keystore_cache_lookup(c, KEY_A, 6, argv, 1002);
	assert_non_null(r);
	assert_int_equal(r->element[0]->type, REDIS_REPLY_NIL);
	keystore_cache_free(c);
}

static void user_key(char *out, size_t len, int i)
{
	snprintf(out, len, "gofannon:users:{user-%d}:apiKeys", i);
}

/* At most max_entries: the least recently used goes first, and a hit
 * counts as a use. */
static void test_entry_bound_drops_least_recently_used(void **state)
{
	struct keystore_cache *c = new_cache(4, 1 << 20);
	char key[64];

	(void)state;
	for (int i = 0; i < 4; i++) {
		user_key(key, sizeof(key), i);
		store(c, key, hmget_reply, 1000 + i);
	}
	user_key(key, sizeof(key), 0);
	assert_true(cached(c, key, 1010)); /* user-0 is now the most recent */
	user_key(key, sizeof(key), 4);
	store(c, key, hmget_reply, 1011);
	assert_int_equal(keystore_cache_entries(c), 4);
	user_key(key, sizeof(key), 1);
	assert_false(cached(c, key, 1012));
	for (int i = 0; i < 5; i++) {
		if (i == 1)
			continue;
		user_key(key, sizeof(key), i);
		assert_true(cached(c, key, 1012));
	}
	keystore_cache_free(c);
}

/* At most max_bytes; an entry over a quarter of them is not kept at all,
 * and the key's older entry is gone then too. */
static void test_byte_bound(void **state)
{
	struct keystore_cache *c;
	const char *argv[6];
	char key[64], *big;
	size_t one, head;
	redisReply *r;

	(void)state;
	c = new_cache(1024, 1 << 20);
	store(c, KEY_A, hmget_reply, 1000);
	one = keystore_cache_bytes(c);
	keystore_cache_free(c);

	c = new_cache(1024, 8 * one);
	for (int i = 0; i < 20; i++) {
		user_key(key, sizeof(key), i);
		store(c, key, hmget_reply, 1000 + i);
		assert_true(keystore_cache_bytes(c) <= 8 * one);
	}
	/* user-N keys are longer than KEY_A's by a byte or two */
	assert_true(keystore_cache_entries(c) >= 6 && keystore_cache_entries(c) <= 8);
	user_key(key, sizeof(key), 19);
	assert_true(cached(c, key, 1030));
	user_key(key, sizeof(key), 0);
	assert_false(cached(c, key, 1030));

	store(c, KEY_A, hmget_reply, 1031);
	assert_true(cached(c, KEY_A, 1032));
	big = malloc(4 * one + 64);
	assert_non_null(big);
	head = (size_t)snprintf(big, 64, "*1\r\n$%zu\r\n", 2 * one);
	memset(big + head, 'v', 2 * one);
	memcpy(big + head + 2 * one, "\r\n", 3);
	r = parse(big);
	free(big);
	fill_argv(argv, KEY_A);
	assert_int_equal(keystore_cache_store(c, KEY_A, 6, argv, r, 1033), GK_TOOBIG);
	freeReplyObject(r);
	assert_false(cached(c, KEY_A, 1034));
	keystore_cache_free(c);
}

/* Only the kinds of a RESP2 read are kept: an error never is. */
static void test_kinds_kept(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);
	const char *argv[6];
	const redisReply *hit;
	redisReply *r;

	(void)state;
	fill_argv(argv, KEY_A);
	r = parse("-NOPERM no\r\n");
	assert_int_equal(keystore_cache_store(c, KEY_A, 6, argv, r, 1000), GK_ERR);
	freeReplyObject(r);
	r = parse("*2\r\n$1\r\na\r\n-ERR inside\r\n");
	assert_int_equal(keystore_cache_store(c, KEY_A, 6, argv, r, 1000), GK_ERR);
	freeReplyObject(r);
	assert_int_equal(keystore_cache_entries(c), 0);
	assert_int_equal(keystore_cache_bytes(c), 0);
	store(c, KEY_A, "*3\r\n:7\r\n+OK\r\n*1\r\n$0\r\n\r\n", 1000);
	hit = keystore_cache_lookup(c, KEY_A, 6, argv, 1001);
	assert_non_null(hit);
	assert_int_equal(hit->element[0]->integer, 7);
	assert_string_equal(hit->element[1]->str, "OK");
	assert_int_equal(hit->element[2]->element[0]->len, 0);
	keystore_cache_free(c);
}

/* Evicting and clearing give every byte back. */
static void test_evict_and_clear(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);

	(void)state;
	store(c, KEY_A, hmget_reply, 1000);
	store(c, KEY_B, hmget_reply, 1000);
	keystore_cache_evict(c, KEY_A, strlen(KEY_A));
	keystore_cache_evict(c, KEY_A, strlen(KEY_A) - 1); /* a prefix is another name */
	assert_int_equal(keystore_cache_entries(c), 1);
	assert_false(cached(c, KEY_A, 1001));
	assert_true(cached(c, KEY_B, 1001));
	keystore_cache_clear(c);
	assert_int_equal(keystore_cache_entries(c), 0);
	assert_int_equal(keystore_cache_bytes(c), 0);
	assert_false(cached(c, KEY_B, 1001));
	keystore_cache_free(c);
}

static int apply(struct keystore_cache *c, const char *resp)
{
	redisReply *msg = parse(resp);
	int rc = keystore_cache_apply(c, msg);

	freeReplyObject(msg);
	return rc;
}

#define MSG_HEAD "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
#define ALICE "$30\r\n" KEY_A "\r\n"

/* The messages of RESP2 REDIRECT mode: an array of key names, or a null
 * for a flush; the SUBSCRIBE's own confirmation changes nothing. */
static void test_invalidation_messages(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);

	(void)state;
	store(c, KEY_A, hmget_reply, 1000);
	store(c, KEY_B, hmget_reply, 1000);
	assert_int_equal(apply(c, "*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n"), GK_OK);
	assert_int_equal(keystore_cache_entries(c), 2);
	/* a key this worker never cached: nothing to do */
	assert_int_equal(apply(c, MSG_HEAD "*1\r\n$5\r\nother\r\n"), GK_OK);
	assert_int_equal(keystore_cache_entries(c), 2);
	assert_int_equal(apply(c, MSG_HEAD "*2\r\n$5\r\nother\r\n" ALICE), GK_OK);
	assert_false(cached(c, KEY_A, 1001));
	assert_true(cached(c, KEY_B, 1001));
	store(c, KEY_A, hmget_reply, 1002);
	/* one name as a bulk string, as Redis 6.0 sent it */
	assert_int_equal(apply(c, MSG_HEAD ALICE), GK_OK);
	assert_false(cached(c, KEY_A, 1003));
	store(c, KEY_A, hmget_reply, 1004);
	assert_int_equal(apply(c, MSG_HEAD "$-1\r\n"), GK_OK); /* FLUSHALL */
	assert_int_equal(keystore_cache_entries(c), 0);
	assert_int_equal(apply(c, MSG_HEAD "*-1\r\n"), GK_OK); /* a null array reads as nil too */
	keystore_cache_free(c);
}

/* Anything else is out of step: GK_ERR, for the caller to drop it all. */
static void test_messages_not_understood(void **state)
{
	struct keystore_cache *c = new_cache(16, 1 << 20);
	const char *bad[] = {
		"+PONG\r\n",
		"*2\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n",
		"*3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n*1\r\n$1\r\nk\r\n",
		"*3\r\n$8\r\npmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n",
		"*3\r\n$11\r\nunsubscribe\r\n$20\r\n__redis__:invalidate\r\n:0\r\n",
		MSG_HEAD ":5\r\n",
		MSG_HEAD "*2\r\n$1\r\nk\r\n:1\r\n",
		"-ERR no\r\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(apply(c, bad[i]), GK_ERR);
	assert_int_equal(keystore_cache_apply(c, NULL), GK_ERR);
	keystore_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_is_the_stored_reply),
		cmocka_unit_test(test_other_arguments_miss),
		cmocka_unit_test(test_age_bound),
		cmocka_unit_test(test_store_replaces),
		cmocka_unit_test(test_entry_bound_drops_least_recently_used),
		cmocka_unit_test(test_byte_bound),
		cmocka_unit_test(test_kinds_kept),
		cmocka_unit_test(test_evict_and_clear),
		cmocka_unit_test(test_invalidation_messages),
		cmocka_unit_test(test_messages_not_understood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
