/* test_keystore.c: the Redis schema and the reply handling of the key
 * store, without a server: the key and field names it builds, the shape
 * an HMGET reply must have before keys are read out of it
 * (keystore_check_hmget), and how an HGETALL of a usage hash is read into
 * counters (keystore_usage_read). hiredis's redisReply is a public struct,
 * so the replies are built by hand: every shape a broken proxy or a
 * desynchronised connection could hand over, not only the ones a real
 * Redis sends. */
#include "unit.h"

#include <hiredis/hiredis.h>

#include "keystore.h"
#include "status.h"

#define KEY_NAME_MAX_TEST 600

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

static void init_store(struct keystore *ks, const char *prefix)
{
	struct redis_target target;

	memset(&target, 0, sizeof(target));
	keystore_init(ks, &target, prefix, 1000);
}

/* The names existing data is stored under: a change here loses every key
 * and every counter already in Redis. */
static void test_key_and_field_names(void **state)
{
	static const char *const fields[KEYSTORE_COUNTERS] = { "openai:requests", "openai:inputTokens",
							       "openai:outputTokens" };
	struct keystore ks;
	char buf[256];

	(void)state;
	init_store(&ks, "gk");
	assert_int_equal(keystore_user_key(&ks, "alice@example.org", buf, sizeof(buf)), GK_OK);
	assert_string_equal(buf, "gk:users:{alice@example.org}:apiKeys");
	assert_int_equal(keystore_usage_key(&ks, "alice@example.org", "2026-11", buf, sizeof(buf)), GK_OK);
	assert_string_equal(buf, "gk:usage:{alice@example.org}:2026-11");
	for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
		assert_int_equal(keystore_usage_field("openai", (enum keystore_counter)c, buf, sizeof(buf)),
				 GK_OK);
		assert_string_equal(buf, fields[c]);
	}
	assert_string_equal(keystore_counter_names[KEYSTORE_REQUESTS], "requests");
	assert_string_equal(keystore_counter_names[KEYSTORE_INPUT_TOKENS], "inputTokens");
	assert_string_equal(keystore_counter_names[KEYSTORE_OUTPUT_TOKENS], "outputTokens");
	assert_int_equal(keystore_usage_source_field("openai", KEYSTORE_SOURCE_USER, KEYSTORE_REQUESTS, buf,
						     sizeof(buf)),
			 GK_OK);
	assert_string_equal(buf, "openai:user:requests");
	assert_int_equal(keystore_usage_source_field("openai", KEYSTORE_SOURCE_SYSTEM, KEYSTORE_OUTPUT_TOKENS,
						     buf, sizeof(buf)),
			 GK_OK);
	assert_string_equal(buf, "openai:system:outputTokens");
	keystore_release(&ks);
}

/* A name that does not fit is refused, never cut short (a cut name is
 * another user's key). */
static void test_names_that_do_not_fit(void **state)
{
	struct keystore ks;
	char buf[sizeof("gk:users:{alice}:apiKeys")];

	(void)state;
	init_store(&ks, "gk");
	assert_int_equal(keystore_user_key(&ks, "alice", buf, sizeof(buf)), GK_OK);
	assert_int_equal(keystore_user_key(&ks, "alice2", buf, sizeof(buf)), GK_ERR);
	assert_int_equal(keystore_usage_key(&ks, "alice", "2026-11", buf, 10), GK_ERR);
	assert_int_equal(keystore_usage_field("openai", KEYSTORE_REQUESTS, buf, 8), GK_ERR);
	assert_int_equal(keystore_usage_source_field("openai", KEYSTORE_SOURCE_USER, KEYSTORE_REQUESTS, buf,
						     sizeof("openai:user:requests") - 1),
			 GK_ERR);
	keystore_release(&ks);
}

#define PAIR(f, v) string_reply(f), string_reply(v)

/* Each counter lands on its provider and counter, whatever the order of
 * the fields; fields of other providers (even ones whose id starts the
 * same), other counters and names cut short are left; what is absent
 * reads 0. */
static void test_usage_counters_read(void **state)
{
	struct provider providers[] = { { .id = "openai" }, { .id = "anthropic" }, { .id = "gemini" } };
	struct registry reg = { .providers = providers, .count = ARRAY_SIZE(providers) };
	redisReply r[] = {
		PAIR("anthropic:outputTokens", "7"),
		PAIR("openai:requests", "3"),
		PAIR("openai2:requests", "100"),
		PAIR("openai:inputTokens", "30"),
		PAIR("openai:costCents", "5"),
		PAIR("openai:outputTokens", "12"),
		PAIR("anthropic:requests", "1"),
		PAIR("x:openai:requests", "50"),
		PAIR("gemini:inputTokens", "9223372036854775807"),
		PAIR("gemini:request", "4"),
		PAIR("gemini:", "4"),
		PAIR("openai:system:inputTokens", "20"),
		PAIR("openai:user:inputTokens", "10"),
		PAIR("openai:system:requests", "2"),
		PAIR("openai:env:requests", "9"),
		PAIR("anthropic:user:outputTokens", "7"),
	};
	redisReply *elements[ARRAY_SIZE(r)];
	redisReply all, empty = array_of(NULL, 0);
	struct keystore_usage out[3];
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(r); i++)
		elements[i] = &r[i];
	all = array_of(elements, ARRAY_SIZE(r));
	memset(out, 0xff, sizeof(out));
	assert_int_equal(keystore_usage_read(&all, &reg, out, &why), GK_OK);
	assert_int_equal(out[0].count[KEYSTORE_REQUESTS], 3);
	assert_int_equal(out[0].count[KEYSTORE_INPUT_TOKENS], 30);
	assert_int_equal(out[0].count[KEYSTORE_OUTPUT_TOKENS], 12);
	assert_int_equal(out[1].count[KEYSTORE_REQUESTS], 1);
	assert_int_equal(out[1].count[KEYSTORE_INPUT_TOKENS], 0);
	assert_int_equal(out[1].count[KEYSTORE_OUTPUT_TOKENS], 7);
	assert_int_equal(out[2].count[KEYSTORE_REQUESTS], 0);
	assert_true(out[2].count[KEYSTORE_INPUT_TOKENS] == 9223372036854775807LL);
	assert_int_equal(out[2].count[KEYSTORE_OUTPUT_TOKENS], 0);
	/* the sources beside the totals; an unknown source is left */
	assert_int_equal(out[0].by_source[KEYSTORE_SOURCE_SYSTEM][KEYSTORE_INPUT_TOKENS], 20);
	assert_int_equal(out[0].by_source[KEYSTORE_SOURCE_USER][KEYSTORE_INPUT_TOKENS], 10);
	assert_int_equal(out[0].by_source[KEYSTORE_SOURCE_SYSTEM][KEYSTORE_REQUESTS], 2);
	assert_int_equal(out[0].by_source[KEYSTORE_SOURCE_USER][KEYSTORE_REQUESTS], 0);
	assert_int_equal(out[1].by_source[KEYSTORE_SOURCE_USER][KEYSTORE_OUTPUT_TOKENS], 7);
	assert_int_equal(out[1].by_source[KEYSTORE_SOURCE_SYSTEM][KEYSTORE_OUTPUT_TOKENS], 0);
	assert_int_equal(out[2].by_source[KEYSTORE_SOURCE_SYSTEM][KEYSTORE_INPUT_TOKENS], 0);
	/* a month with nothing counted: an empty hash reads as an empty array */
	memset(out, 0xff, sizeof(out));
	assert_int_equal(keystore_usage_read(&empty, &reg, out, &why), GK_OK);
	for (size_t i = 0; i < 3; i++)
		for (int c = 0; c < KEYSTORE_COUNTERS; c++)
			assert_int_equal(out[i].count[c], 0);
}

static int usage_read_refused(const redisReply *reply, const struct registry *reg)
{
	struct keystore_usage out[1] = { { { 1, 2, 3 } } };
	const char *why = NULL;
	int rc = keystore_usage_read(reply, reg, out, &why);

	if (rc == GK_OK)
		return 0;
	assert_non_null(why);
	for (int c = 0; c < KEYSTORE_COUNTERS; c++)
		assert_int_equal(out[0].count[c], 0);
	return 1;
}

/* A counter that is not exactly a whole number, or a reply of another
 * shape, is refused: no count is made up from it. */
static void test_usage_counters_refused(void **state)
{
	static const char *const bad_values[] = { "",	 "abc", "12abc", " 12", "12 ",
						  "+12", "1.5", "0x10",	 "-",	"99999999999999999999" };
	struct provider providers[] = { { .id = "openai" } };
	struct registry reg = { .providers = providers, .count = 1 };
	redisReply field = string_reply("openai:requests"), ok = string_reply("3"),
		   nil = typed(REDIS_REPLY_NIL);
	redisReply number = typed(REDIS_REPLY_INTEGER),
		   embedded = { .type = REDIS_REPLY_STRING, .len = 3, .str = "1\0002" };
	redisReply *odd[] = { &field, &ok, &field };
	redisReply *nil_value[] = { &field, &nil };
	redisReply *number_value[] = { &field, &number };
	redisReply *number_field[] = { &number, &ok };
	redisReply *null_element[] = { &field, NULL };
	redisReply *with_nul[] = { &field, &embedded };
	redisReply shapes[] = {
		string_reply("OK"),
		nil,
		number,
		array_of(odd, 3),
		array_of(nil_value, 2),
		array_of(number_value, 2),
		array_of(number_field, 2),
		array_of(null_element, 2),
		array_of(with_nul, 2),
	};

	(void)state;
	assert_true(usage_read_refused(NULL, &reg));
	for (size_t i = 0; i < ARRAY_SIZE(shapes); i++)
		if (!usage_read_refused(&shapes[i], &reg))
			fail_msg("shape %zu was read as counters", i);
	for (size_t i = 0; i < ARRAY_SIZE(bad_values); i++) {
		redisReply value = string_reply(bad_values[i]);
		redisReply *pair[] = { &field, &value };
		redisReply reply = array_of(pair, 2);

		if (!usage_read_refused(&reply, &reg))
			fail_msg("counter value \"%s\" was read as a number", bad_values[i]);
	}
}

/* XADD's arguments: the cap, then only the fields the entry has. */
static void test_activity_entry_arguments(void **state)
{
	struct keystore_event ev = {
		"2026-11-28T22:54:18Z", "verified", "openai", "user", "user", "", "valid", NULL
	};
	static const char *const want[] = { "XADD",   "k",	  "MAXLEN",   "~",
					    "100",    "*",	  "at",	      "2026-11-28T22:54:18Z",
					    "action", "verified", "provider", "openai",
					    "source", "user",	  "by",	      "user",
					    "client", "",	  "result",   "valid" };
	const char *argv[KEYSTORE_XADD_ARGS];
	struct keystore ks;
	char key[KEY_NAME_MAX_TEST];
	int argc;

	(void)state;
	argc = keystore_activity_argv("k", &ev, argv);
	assert_int_equal(argc, ARRAY_SIZE(want));
	for (int i = 0; i < argc; i++)
		assert_string_equal(argv[i], want[i]);
	memset(&ks, 0, sizeof(ks));
	strcpy(ks.prefix, "gofannon");
	assert_int_equal(keystore_activity_key(&ks, "alice", key, sizeof(key)), GK_OK);
	assert_string_equal(key, "gofannon:users:{alice}:activity");
	assert_int_equal(keystore_activity_key(&ks, "alice", key, 20), GK_ERR);
}

static redisReply entry_of(redisReply *parts, redisReply **two)
{
	two[0] = &parts[0];
	two[1] = &parts[1];
	return array_of(two, 2);
}

/* XREVRANGE's answer: [id, [field, value, ...]] per entry. Fields it
 * does not know are left; absent ones are NULL. */
static void test_activity_read(void **state)
{
	redisReply f1[] = { string_reply("action"), string_reply("added"),
			    string_reply("color"),  string_reply("blue"),
			    string_reply("at"),	    string_reply("2026-11-28T22:54:18Z") };
	redisReply *f1p[ARRAY_SIZE(f1)];
	redisReply parts1[2], *two1[2], e1, all;
	redisReply *entries[1];
	struct keystore_entry out[2];
	struct arena arena;
	const char *why = NULL;
	size_t count = 99;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(f1); i++)
		f1p[i] = &f1[i];
	parts1[0] = string_reply("1795906458596-0");
	parts1[1] = array_of(f1p, ARRAY_SIZE(f1));
	e1 = entry_of(parts1, two1);
	entries[0] = &e1;
	all = array_of(entries, 1);
	arena_init(&arena, 4096);
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_OK);
	assert_int_equal(count, 1);
	assert_string_equal(out[0].id, "1795906458596-0");
	assert_string_equal(out[0].value[0], "2026-11-28T22:54:18Z");
	assert_string_equal(out[0].value[1], "added");
	for (int f = 2; f < KEYSTORE_EVENT_FIELDS; f++)
		assert_null(out[0].value[f]);
	/* more than asked for, an odd field list, a value not a string, not an array */
	assert_int_equal(keystore_activity_parse(&all, &arena, 0, out, &count, &why), GK_ERR);
	assert_int_equal(count, 0);
	parts1[1] = array_of(f1p, ARRAY_SIZE(f1) - 1);
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_ERR);
	parts1[1] = array_of(f1p, ARRAY_SIZE(f1));
	f1[1] = typed(REDIS_REPLY_INTEGER);
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_ERR);
	assert_non_null(why);
	f1[1] = string_reply("added");
	parts1[0] = typed(REDIS_REPLY_NIL);
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_ERR);
	/* the longest id Redis can give, both parts 2^64-1, is read, not
	 * taken for a broken reply (that made the whole trail 503) */
	parts1[0] = string_reply("18446744073709551615-18446744073709551615");
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_OK);
	assert_string_equal(out[0].id, "18446744073709551615-18446744073709551615");
	parts1[0] = string_reply("18446744073709551615-184467440737095516150");
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_ERR);
	all = typed(REDIS_REPLY_NIL);
	assert_int_equal(keystore_activity_parse(&all, &arena, 2, out, &count, &why), GK_ERR);
	arena_release(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmget_shapes_that_are_read),
		cmocka_unit_test(test_hmget_shapes_that_are_refused),
		cmocka_unit_test(test_key_and_field_names),
		cmocka_unit_test(test_names_that_do_not_fit),
		cmocka_unit_test(test_usage_counters_read),
		cmocka_unit_test(test_usage_counters_refused),
		cmocka_unit_test(test_activity_entry_arguments),
		cmocka_unit_test(test_activity_read),
	};

	return cmocka_run_group_tests_name("keystore", tests, NULL, NULL);
}
