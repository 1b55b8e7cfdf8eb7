/* test_keystore.c: the shape an HMGET reply must have before the key store
 * reads keys out of it (keystore_check_hmget). hiredis's redisReply is a
 * public struct, so the replies are built by hand: every shape a broken
 * proxy or a desynchronised connection could hand over, not only the ones
 * a real Redis sends. */
#include "unit.h"

#include <hiredis/hiredis.h>

#include "keystore.h"
#include "status.h"

static redisReply string_reply(const char *s)
{
	redisReply r = { .type = REDIS_REPLY_STRING, .len = strlen(s), .str = (char *)s };

	return r;
}

static redisReply typed(int type)
{
	redisReply r = { .type = type };

	return r;
}

static redisReply array_of(redisReply **elements, size_t count)
{
	redisReply r = { .type = REDIS_REPLY_ARRAY, .elements = count, .element = elements };

	return r;
}

static int check(const redisReply *reply, size_t fields)
{
	const char *why = NULL;
	int rc = keystore_check_hmget(reply, fields, &why);

	if (rc != GK_OK)
		assert_non_null(why);
	return rc;
}

/* What Redis answers: one string or nil per field asked for. */
static void test_hmget_shapes_that_are_read(void **state)
{
	redisReply sealed = string_reply("v1:k1:AAAA"), when = string_reply("2026-11-28T10:00:00Z");
	redisReply nil = typed(REDIS_REPLY_NIL);
	redisReply *some[] = { &sealed, &when, &nil, &nil };
	redisReply *none[] = { &nil, &nil };
	redisReply a = array_of(some, 4), b = array_of(none, 2);

	(void)state;
	assert_int_equal(check(&a, 4), GK_OK);
	assert_int_equal(check(&b, 2), GK_OK);
}

/* Anything else is refused, so that no key reads as "no key stored". */
static void test_hmget_shapes_that_are_refused(void **state)
{
	redisReply sealed = string_reply("v1:k1:AAAA"), nil = typed(REDIS_REPLY_NIL);
	redisReply number = typed(REDIS_REPLY_INTEGER), status = typed(REDIS_REPLY_STATUS);
	redisReply error = typed(REDIS_REPLY_ERROR), empty_array = array_of(NULL, 0);
	redisReply *pair[] = { &sealed, &nil };
	redisReply inner = array_of(pair, 2);
	redisReply *with_number[] = { &sealed, &number };
	redisReply *with_status[] = { &status, &nil };
	redisReply *with_error[] = { &sealed, &error };
	redisReply *with_array[] = { &inner, &nil };
	redisReply *with_null[] = { &sealed, NULL };
	redisReply *three[] = { &sealed, &nil, &nil };
	struct {
		redisReply reply;
		size_t fields;
	} refused[] = {
		{ string_reply("OK"), 2 },	 /* not an array at all */
		{ nil, 2 },			 /* nil instead of an array */
		{ number, 2 },			 /* an integer */
		{ status, 2 },			 /* a status */
		{ empty_array, 2 },		 /* an array too short */
		{ array_of(pair, 2), 4 },	 /* an array too short */
		{ array_of(three, 3), 2 },	 /* an array too long */
		{ array_of(with_number, 2), 2 }, /* an integer element */
		{ array_of(with_status, 2), 2 }, /* a status element */
		{ array_of(with_error, 2), 2 },	 /* an error element */
		{ array_of(with_array, 2), 2 },	 /* a nested array */
		{ array_of(with_null, 2), 2 },	 /* a missing element */
	};

	(void)state;
	assert_int_equal(check(NULL, 2), GK_ERR);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (check(&refused[i].reply, refused[i].fields) != GK_ERR)
			fail_msg("case %zu was read as a reply", i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmget_shapes_that_are_read),
		cmocka_unit_test(test_hmget_shapes_that_are_refused),
	};

	return cmocka_run_group_tests_name("keystore", tests, NULL, NULL);
}
