/* test_body.c: request bodies are untrusted JSON (product spec 4.4): not JSON
 * or not an object, a missing or non-string field: 422 naming the field. */
#include "unit.h"

#include <json-c/json.h>

#include "body.h"
#include "status.h"

enum {
	OBJECT,
	NOT_JSON,
	NOT_OBJECT,
	REFUSED /* either sentence */
};

struct parse_case {
	const char *body;
	size_t len; /* 0: strlen(body) */
	int expect;
};

static const struct parse_case parse_cases[] = {
	{ "{}", 0, OBJECT },
	{ "{\"provider\":\"openai\",\"apiKey\":\"sk-abc\"}", 0, OBJECT },
	{ "  \t\r\n{}", 0, OBJECT },
	{ "{}\n", 0, OBJECT }, /* curl -d @file keeps the newline */
	{ "{}\r\n  \t", 0, OBJECT },
	{ "{ \"a\" : [ 1, 2.5, -3e2, true, false, null, {\"b\":\"\\u2022\"} ] }", 0, OBJECT },
	{ "{\"a\":\"\\u0000\"}", 0, OBJECT },
	{ "{\"a\":\"\xe2\x80\xa2\"}", 0, OBJECT }, /* UTF-8 in a string */
	/* not JSON (json-c's strict mode still lets single-quoted names, NaN,
	 * Infinity and raw control characters in strings through: see the report) */
	{ "{\"a\":'x'}", 0, NOT_JSON },
	{ "", 0, NOT_JSON },
	{ " ", 0, NOT_JSON },
	{ "{", 0, NOT_JSON },
	{ "}", 0, NOT_JSON },
	{ "{\"a\":}", 0, NOT_JSON },
	{ "{\"a\"}", 0, NOT_JSON },
	{ "{\"a\":1,}", 0, NOT_JSON }, /* trailing comma */
	{ "{,}", 0, NOT_JSON },
	{ "{a:1}", 0, NOT_JSON }, /* bare key */
	{ "{\"a\":01}", 0, NOT_JSON },
	{ "{\"a\":\"\\x41\"}", 0, NOT_JSON }, /* not a JSON escape */
	{ "{\"a\":1} x", 0, NOT_JSON },	      /* trailing garbage */
	{ "{}{}", 0, NOT_JSON },
	{ "{} {}", 0, NOT_JSON },
	{ "{}]", 0, NOT_JSON },
	{ "{}\0", 3, NOT_JSON },		 /* a NUL after the object */
	{ "{\"a\":\"\xff\"}", 0, NOT_JSON },	 /* invalid UTF-8 */
	{ "{\"a\":\"\xe2\x80\"}", 0, NOT_JSON }, /* truncated UTF-8 */
	{ "\xef\xbb\xbf{}", 0, NOT_JSON },	 /* a byte order mark is not JSON */
	{ "{/*c*/}", 0, NOT_JSON },
	{ "provider=openai&apiKey=sk", 0, NOT_JSON },
	/* JSON, but not an object */
	{ "[]", 0, NOT_OBJECT },
	{ "[{\"provider\":\"openai\"}]", 0, NOT_OBJECT },
	{ "\"openai\"", 0, NOT_OBJECT },
	{ "42 ", 0, NOT_OBJECT },
	{ "42", 0, REFUSED }, /* json-c cannot tell that a bare number has ended */
	{ "true ", 0, NOT_OBJECT },
	{ "true", 0, REFUSED },
	{ "null", 0, REFUSED }, /* json-c parses null as a NULL object */
	{ "null ", 0, REFUSED },
};

static void test_body_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		size_t len = c->len ? c->len : strlen(c->body);
		struct json_object *root = (struct json_object *)&root;
		const char *why = NULL;
		int rc = body_parse_object(c->body, len, &root, &why);

		switch (c->expect) {
		case OBJECT:
			if (rc != GK_OK)
				fail_msg("case %zu '%s': refused (%s)", i, c->body, why);
			assert_true(json_object_is_type(root, json_type_object));
			break;
		case NOT_JSON:
		case NOT_OBJECT:
		case REFUSED:
			if (rc != GK_ERR)
				fail_msg("case %zu '%s': accepted", i, c->body);
			assert_null(root);
			assert_non_null(why);
			if (c->expect != REFUSED &&
			    strstr(why, c->expect == NOT_JSON ? "valid JSON" : "JSON object") == NULL)
				fail_msg("case %zu '%s': why '%s'", i, c->body, why);
			break;
		}
		body_free(root);
	}
}

/* len bounds the body: bytes after it are not read. */
static void test_body_parse_respects_len(void **state)
{
	const char buf[] = "{\"a\":1}garbage";
	struct json_object *root;
	const char *why;

	(void)state;
	assert_int_equal(body_parse_object(buf, 7, &root, &why), GK_OK);
	body_free(root);
	assert_int_equal(body_parse_object(buf, 6, &root, &why), GK_ERR);
	assert_int_equal(body_parse_object(buf, sizeof(buf) - 1, &root, &why), GK_ERR);
}

/* Builds {"a": [[[ ... ]]]} with depth levels of nesting in all. */
static char *nested(size_t depth, char open, char close)
{
	size_t inner = depth - 1;
	char *s = malloc(inner * 2 + 16);
	size_t n = 0;

	assert_non_null(s);
	n += (size_t)sprintf(s, "{\"a\":");
	memset(s + n, open, inner);
	n += inner;
	memset(s + n, close, inner);
	n += inner;
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void test_body_depth_limit(void **state)
{
	struct json_object *root;
	const char *why;
	char *ok = nested(BODY_DEPTH_MAX, '[', ']');
	char *deep = nested(BODY_DEPTH_MAX + 1, '[', ']');
	char *very_deep = nested(200000, '[', ']');
	char *open_only = unit_repeat('[', 200000);

	(void)state;
	assert_int_equal(body_parse_object(ok, strlen(ok), &root, &why), GK_OK);
	body_free(root);
	assert_int_equal(body_parse_object(deep, strlen(deep), &root, &why), GK_ERR);
	assert_null(root);
	assert_int_equal(body_parse_object(very_deep, strlen(very_deep), &root, &why), GK_ERR);
	assert_int_equal(body_parse_object(open_only, strlen(open_only), &root, &why), GK_ERR);
	free(ok);
	free(deep);
	free(very_deep);
	free(open_only);
}

/* Objects nest the same way as arrays. */
static void test_body_depth_limit_objects(void **state)
{
	char buf[BODY_DEPTH_MAX * 8 + 16];
	struct json_object *root;
	const char *why;

	(void)state;
	for (int depth = BODY_DEPTH_MAX; depth <= BODY_DEPTH_MAX + 1; depth++) {
		size_t n = 0;

		for (int i = 0; i < depth - 1; i++)
			n += (size_t)sprintf(buf + n, "{\"a\":");
		n += (size_t)sprintf(buf + n, "{}");
		for (int i = 0; i < depth - 1; i++)
			buf[n++] = '}';
		buf[n] = '\0';
		assert_int_equal(body_parse_object(buf, n, &root, &why),
				 depth <= BODY_DEPTH_MAX ? GK_OK : GK_ERR);
		body_free(root);
	}
}

/* ---- fields ---- */

struct field_case {
	const char *body;
	const char *name, *alt;
	int required;
	int rc;
	const char *value; /* GK_OK: want (NULL: absent) */
	const char *why;   /* GK_ERR: the whole sentence */
};

static const struct field_case field_cases[] = {
	{ "{\"provider\":\"openai\"}", "provider", NULL, 1, GK_OK, "openai", NULL },
	{ "{\"provider\":\"\"}", "provider", NULL, 1, GK_OK, "", NULL },
	{ "{}", "provider", NULL, 1, GK_ERR, NULL, "Field 'provider' is required" },
	{ "{}", "provider", NULL, 0, GK_OK, NULL, NULL },
	{ "{\"provider\":null}", "provider", NULL, 1, GK_ERR, NULL, "Field 'provider' is required" },
	{ "{\"provider\":null}", "provider", NULL, 0, GK_OK, NULL, NULL },
	{ "{\"provider\":1}", "provider", NULL, 1, GK_ERR, NULL, "Field 'provider' must be a string" },
	{ "{\"provider\":1}", "provider", NULL, 0, GK_ERR, NULL, "Field 'provider' must be a string" },
	{ "{\"provider\":true}", "provider", NULL, 1, GK_ERR, NULL, "Field 'provider' must be a string" },
	{ "{\"provider\":[\"openai\"]}", "provider", NULL, 1, GK_ERR, NULL,
	  "Field 'provider' must be a string" },
	{ "{\"provider\":{\"id\":\"openai\"}}", "provider", NULL, 1, GK_ERR, NULL,
	  "Field 'provider' must be a string" },
	{ "{\"Provider\":\"openai\"}", "provider", NULL, 1, GK_ERR, NULL,
	  "Field 'provider' is required" }, /* names are case-sensitive */
	{ "{\"nested\":{\"provider\":\"openai\"}}", "provider", NULL, 1, GK_ERR, NULL,
	  "Field 'provider' is required" },
	/* apiKey, with api_key as a synonym (Gofannon's front end) */
	{ "{\"apiKey\":\"sk-a\"}", "apiKey", "api_key", 1, GK_OK, "sk-a", NULL },
	{ "{\"api_key\":\"sk-b\"}", "apiKey", "api_key", 1, GK_OK, "sk-b", NULL },
	{ "{\"apiKey\":\"sk-a\",\"api_key\":\"sk-b\"}", "apiKey", "api_key", 1, GK_OK, "sk-a", NULL },
	{ "{\"api_key\":\"sk-b\",\"apiKey\":\"sk-a\"}", "apiKey", "api_key", 1, GK_OK, "sk-a", NULL },
	{ "{}", "apiKey", "api_key", 1, GK_ERR, NULL, "Field 'apiKey' is required" },
	{ "{\"api_key\":null}", "apiKey", "api_key", 1, GK_ERR, NULL, "Field 'apiKey' is required" },
	{ "{\"api_key\":42}", "apiKey", "api_key", 1, GK_ERR, NULL,
	  "Field 'api_key' must be a string" }, /* names the field actually sent */
	{ "{\"apiKey\":42,\"api_key\":\"sk-b\"}", "apiKey", "api_key", 1, GK_ERR, NULL,
	  "Field 'apiKey' must be a string" },
	{ "{\"apikey\":\"sk\"}", "apiKey", "api_key", 1, GK_ERR, NULL, "Field 'apiKey' is required" },
	{ "{\"api_key\":\"sk-b\"}", "apiKey", NULL, 1, GK_ERR, NULL, "Field 'apiKey' is required" },
	/* escapes arrive decoded */
	{ "{\"apiKey\":\"\\u2022\\u2022\"}", "apiKey", NULL, 1, GK_OK, "\xe2\x80\xa2\xe2\x80\xa2", NULL },
	{ "{\"apiKey\":\"a\\/b\\\"c\\\\d\"}", "apiKey", NULL, 1, GK_OK, "a/b\"c\\d", NULL },
	{ "{\"apiKey\":\" sk \\n\"}", "apiKey", NULL, 1, GK_OK, " sk \n", NULL },
};

static void test_body_field_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(field_cases); i++) {
		const struct field_case *c = &field_cases[i];
		struct json_object *root;
		const char *parse_why, *value = (const char *)1;
		size_t len = 99;
		char why[128] = "";
		int rc;

		assert_int_equal(body_parse_object(c->body, strlen(c->body), &root, &parse_why), GK_OK);
		rc = body_get_string(root, c->name, c->alt, c->required, &value, &len, why, sizeof(why));
		if (rc != c->rc)
			fail_msg("case %zu %s: rc %d, want %d (%s)", i, c->body, rc, c->rc, why);
		if (rc == GK_OK && c->value) {
			if (!value || len != strlen(c->value) || memcmp(value, c->value, len) != 0)
				fail_msg("case %zu %s: value '%s', want '%s'", i, c->body,
					 value ? value : "(null)", c->value);
			assert_int_equal(value[len], '\0');
		} else if (rc == GK_OK) {
			assert_null(value);
			assert_int_equal(len, 0);
		} else if (strcmp(why, c->why) != 0) {
			fail_msg("case %zu %s: why '%s', want '%s'", i, c->body, why, c->why);
		}
		body_free(root);
	}
}

/* "\u0000" inside a string is refused, so "openai\u0000junk" never passes
 * for "openai" where a C string is compared. */
static void test_body_string_with_nul(void **state)
{
	const char *body = "{\"provider\":\"openai\\u0000junk\",\"api_key\":\"sk\\u0000abc\"}";
	struct json_object *root;
	const char *parse_why, *value;
	size_t len;
	char why[64];

	(void)state;
	assert_int_equal(body_parse_object(body, strlen(body), &root, &parse_why), GK_OK);
	assert_int_equal(body_get_string(root, "provider", NULL, 1, &value, &len, why, sizeof(why)), GK_ERR);
	assert_string_equal(why, "Field 'provider' must not contain NUL characters");
	assert_null(value);
	assert_int_equal(body_get_string(root, "apiKey", "api_key", 1, &value, &len, why, sizeof(why)),
			 GK_ERR);
	assert_string_equal(why, "Field 'api_key' must not contain NUL characters");
	body_free(root);
}

/* A short why buffer is truncated, never overrun. */
static void test_body_why_truncated(void **state)
{
	struct json_object *root;
	const char *parse_why, *value;
	size_t len;
	char why[12];

	(void)state;
	memset(why, 'X', sizeof(why));
	assert_int_equal(body_parse_object("{}", 2, &root, &parse_why), GK_OK);
	assert_int_equal(body_get_string(root, "provider", NULL, 1, &value, &len, why, 8), GK_ERR);
	assert_string_equal(why, "Field '");
	assert_int_equal(why[8], 'X');
	body_free(root);
}

/* body_free wipes every string before freeing: a key kept alive by another
 * reference shows the wipe. */
static void test_body_free_wipes_strings(void **state)
{
	const char *body = "{\"apiKey\":\"sk-SECRET-0123456789\",\"n\":{\"deep\":[\"sk-OTHER\"]}}";
	struct json_object *root, *key, *n, *deep, *item;
	const char *why;

	(void)state;
	assert_int_equal(body_parse_object(body, strlen(body), &root, &why), GK_OK);
	assert_true(json_object_object_get_ex(root, "apiKey", &key));
	assert_true(json_object_object_get_ex(root, "n", &n));
	assert_true(json_object_object_get_ex(n, "deep", &deep));
	item = json_object_array_get_idx(deep, 0);
	json_object_get(key);
	json_object_get(item);
	body_free(root);
	for (int i = 0; i < json_object_get_string_len(key); i++)
		assert_int_equal(json_object_get_string(key)[i], '\0');
	for (int i = 0; i < json_object_get_string_len(item); i++)
		assert_int_equal(json_object_get_string(item)[i], '\0');
	json_object_put(key);
	json_object_put(item);
	body_free(NULL);
}

/* A body of the maximum size with a long key parses. */
static void test_body_large(void **state)
{
	size_t keylen = 60000;
	char *body = malloc(keylen + 64);
	struct json_object *root;
	const char *parse_why, *value;
	size_t len, n;
	char why[64];

	(void)state;
	assert_non_null(body);
	n = (size_t)sprintf(body, "{\"provider\":\"openai\",\"apiKey\":\"");
	memset(body + n, 'k', keylen);
	n += keylen;
	n += (size_t)sprintf(body + n, "\"}");
	assert_int_equal(body_parse_object(body, n, &root, &parse_why), GK_OK);
	assert_int_equal(body_get_string(root, "apiKey", NULL, 1, &value, &len, why, sizeof(why)), GK_OK);
	assert_int_equal(len, keylen);
	body_free(root);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_parse_table),   cmocka_unit_test(test_body_parse_respects_len),
		cmocka_unit_test(test_body_depth_limit),   cmocka_unit_test(test_body_depth_limit_objects),
		cmocka_unit_test(test_body_field_table),   cmocka_unit_test(test_body_string_with_nul),
		cmocka_unit_test(test_body_why_truncated), cmocka_unit_test(test_body_free_wipes_strings),
		cmocka_unit_test(test_body_large),
	};

	return cmocka_run_group_tests_name("body", tests, NULL, NULL);
}
