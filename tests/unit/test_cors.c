/* test_cors.c: which CORS headers a reply carries, for a listed origin, an
 * unlisted one, none, and the default of no list at all (same origin). */
#include "unit.h"

#include "cors.h"
#include "http.h"
#include "status.h"

#define LIST "https://app.example, http://127.0.0.1:5173 https://b.example"

/* The value of header name in resp, or NULL; fails when it is there twice. */
static const char *header_of(const struct http_response *resp, const char *name)
{
	const char *found = NULL;

	for (size_t i = 0; i < resp->header_count; i++) {
		if (strcmp(resp->headers[i].name, name) != 0)
			continue;
		if (found)
			fail_msg("header %s twice", name);
		found = resp->headers[i].value;
	}
	return found;
}

struct listed_case {
	const char *origin;
	const char *list;
	int listed;
};

static const struct listed_case listed_cases[] = {
	{ "https://app.example", LIST, 1 },
	{ "http://127.0.0.1:5173", LIST, 1 },
	{ "https://b.example", LIST, 1 },
	{ "https://app.example", "https://app.example", 1 },
	{ "https://app.example", ",,https://app.example,,", 1 },
	{ "https://app.example", "\thttps://app.example\t", 1 },
	/* exact comparison: no prefix, suffix, case folding, port or path games */
	{ "https://app.exampl", LIST, 0 },
	{ "https://app.example.evil", LIST, 0 },
	{ "https://app.example/", LIST, 0 },
	{ "https://APP.example", LIST, 0 },
	{ "http://app.example", LIST, 0 },
	{ "https://app.example:443", LIST, 0 },
	{ "http://127.0.0.1:51730", LIST, 0 },
	{ "http://127.0.0.1", LIST, 0 },
	{ "null", LIST, 0 },
	{ "https://app.example, http://127.0.0.1:5173", LIST, 0 },
	{ "", LIST, 0 },
	{ NULL, LIST, 0 },
	/* no list: same origin only, which never needs CORS */
	{ "https://app.example", NULL, 0 },
	{ "https://app.example", "", 0 },
	{ "https://app.example", " , ", 0 },
};

static void test_cors_origin_listed(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(listed_cases); i++) {
		const struct listed_case *c = &listed_cases[i];

		if (cors_origin_listed(c->origin, c->list) != c->listed)
			fail_msg("case %zu: origin '%s' list '%s': want %d", i,
				 c->origin ? c->origin : "(null)", c->list ? c->list : "(null)", c->listed);
	}
}

/* A listed origin is echoed, with credentials; Vary: Origin always. */
static void test_cors_reply_for_a_listed_origin(void **state)
{
	struct http_response resp;

	(void)state;
	http_response_init(&resp);
	assert_int_equal(cors_reply_headers(&resp, "http://127.0.0.1:5173", LIST), GK_OK);
	assert_int_equal(resp.header_count, 3);
	assert_string_equal(header_of(&resp, "Vary"), "Origin");
	assert_string_equal(header_of(&resp, "Access-Control-Allow-Origin"), "http://127.0.0.1:5173");
	assert_string_equal(header_of(&resp, "Access-Control-Allow-Credentials"), "true");
	assert_null(header_of(&resp, "Access-Control-Allow-Methods"));
}

/* Unlisted, absent, or no list: Vary: Origin and nothing else. */
static void test_cors_reply_for_anyone_else(void **state)
{
	static const char *const origins[] = { "https://evil.example", "null", "", NULL,
					       "https://app.example" };
	static const char *const lists[] = { LIST, LIST, LIST, LIST, NULL };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(origins); i++) {
		struct http_response resp;

		http_response_init(&resp);
		assert_int_equal(cors_reply_headers(&resp, origins[i], lists[i]), GK_OK);
		assert_int_equal(resp.header_count, 1);
		assert_string_equal(header_of(&resp, "Vary"), "Origin");
	}
}

static void test_cors_preflight_for_a_listed_origin(void **state)
{
	struct http_response resp;

	(void)state;
	http_response_init(&resp);
	assert_int_equal(cors_reply_headers(&resp, "https://b.example", LIST), GK_OK);
	assert_int_equal(cors_preflight_headers(&resp, "https://b.example", LIST, "GET, PUT"), GK_OK);
	assert_int_equal(resp.header_count, 6);
	assert_string_equal(header_of(&resp, "Access-Control-Allow-Origin"), "https://b.example");
	assert_string_equal(header_of(&resp, "Access-Control-Allow-Credentials"), "true");
	assert_string_equal(header_of(&resp, "Access-Control-Allow-Methods"), "GET, PUT");
	assert_string_equal(header_of(&resp, "Access-Control-Allow-Headers"), "Authorization, Content-Type");
	assert_string_equal(header_of(&resp, "Access-Control-Max-Age"), "600");
}

static void test_cors_preflight_for_anyone_else(void **state)
{
	struct http_response resp;

	(void)state;
	http_response_init(&resp);
	assert_int_equal(cors_preflight_headers(&resp, "https://evil.example", LIST, "GET, PUT"), GK_OK);
	assert_int_equal(cors_preflight_headers(&resp, NULL, LIST, "GET, PUT"), GK_OK);
	assert_int_equal(cors_preflight_headers(&resp, "https://app.example", "", "GET, PUT"), GK_OK);
	assert_int_equal(resp.header_count, 0);
}

/* A reply with no room left says so instead of dropping a header quietly. */
static void test_cors_full_reply_is_an_error(void **state)
{
	struct http_response resp;

	(void)state;
	http_response_init(&resp);
	while (resp.header_count < HTTP_HEADERS_MAX - 2)
		assert_int_equal(http_header_add(&resp, "X-Filler", "1"), GK_OK);
	assert_int_equal(cors_reply_headers(&resp, "https://app.example", LIST), GK_ERR);
	http_response_init(&resp);
	while (resp.header_count < HTTP_HEADERS_MAX - 1)
		assert_int_equal(http_header_add(&resp, "X-Filler", "1"), GK_OK);
	assert_int_equal(cors_preflight_headers(&resp, "https://app.example", LIST, "GET"), GK_ERR);
	http_response_init(&resp);
	while (resp.header_count < HTTP_HEADERS_MAX)
		assert_int_equal(http_header_add(&resp, "X-Filler", "1"), GK_OK);
	assert_int_equal(cors_reply_headers(&resp, NULL, NULL), GK_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cors_origin_listed),
		cmocka_unit_test(test_cors_reply_for_a_listed_origin),
		cmocka_unit_test(test_cors_reply_for_anyone_else),
		cmocka_unit_test(test_cors_preflight_for_a_listed_origin),
		cmocka_unit_test(test_cors_preflight_for_anyone_else),
		cmocka_unit_test(test_cors_full_reply_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
