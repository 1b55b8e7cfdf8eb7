/* test_http.c: the pure helpers of one HTTP exchange (product spec 4.1, 4.4):
 * content type, Content-Length, Origin, body length and reading, replies. */
#include "unit.h"

#include <json-c/json.h>

#include "http.h"
#include "status.h"

/* ---- Content-Type ---- */

struct ct_case {
	const char *value;
	int json;
};

static const struct ct_case ct_cases[] = {
	{ "application/json", 1 },
	{ "application/json; charset=utf-8", 1 },
	{ "application/json;charset=UTF-8", 1 },
	{ "application/json ; charset=utf-8", 1 },
	{ "application/json\t;charset=utf-8", 1 },
	{ "application/json;", 1 },
	{ "application/json ", 1 },
	{ " application/json", 1 },
	{ "\tapplication/json", 1 },
	{ "Application/JSON", 1 },
	{ "APPLICATION/JSON; CHARSET=UTF-8", 1 },
	{ NULL, 0 },
	{ "", 0 },
	{ " ", 0 },
	{ "application/jso", 0 },
	{ "application/", 0 },
	{ "application", 0 },
	{ "json", 0 },
	{ "application/jsonx", 0 },
	{ "application/json5", 0 },
	{ "application/json-patch+json", 0 },
	{ "application/ld+json", 0 },
	{ "application/vnd.api+json", 0 },
	{ "application/json, text/plain", 0 },
	{ "application/json text/plain", 0 },
	{ "application/x-www-form-urlencoded", 0 },
	{ "multipart/form-data; boundary=x", 0 },
	{ "text/json", 0 },
	{ "text/plain", 0 },
	{ "text/plain; x=application/json", 0 },
	{ "xapplication/json", 0 },
};

static void test_http_content_type(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ct_cases); i++)
		if (http_content_type_is_json(ct_cases[i].value) != ct_cases[i].json)
			fail_msg("case %zu '%s': want %d", i,
				 ct_cases[i].value ? ct_cases[i].value : "(null)", ct_cases[i].json);
}

/* ---- Content-Length ---- */

struct cl_case {
	const char *value;
	int rc;
	size_t want;
};

static const struct cl_case cl_cases[] = {
	{ NULL, GK_OK, 0 },
	{ "", GK_OK, 0 },
	{ "0", GK_OK, 0 },
	{ "1", GK_OK, 1 },
	{ "65536", GK_OK, 65536 },
	{ "65537", GK_OK, 65537 },
	{ "00012", GK_OK, 12 },
	{ "4294967296", GK_OK, 4294967296ULL }, /* no 32-bit truncation */
	{ "1844674407370955161", GK_OK, 1844674407370955161ULL },
	{ "18446744073709551616", GK_ERR, 0 }, /* 2^64 */
	{ "18446744073709551617", GK_ERR, 0 }, /* would wrap to 1 */
	{ "36893488147419103232", GK_ERR, 0 }, /* 2^65: would wrap to 0 */
	{ "99999999999999999999999999999999", GK_ERR, 0 },
	{ "-1", GK_ERR, 0 },
	{ "+1", GK_ERR, 0 },
	{ " 1", GK_ERR, 0 },
	{ "1 ", GK_ERR, 0 },
	{ "1\n", GK_ERR, 0 },
	{ "1a", GK_ERR, 0 },
	{ "a1", GK_ERR, 0 },
	{ "0x10", GK_ERR, 0 },
	{ "1.0", GK_ERR, 0 },
	{ "1e3", GK_ERR, 0 },
	{ "1,000", GK_ERR, 0 },
	{ "\xd9\xa1", GK_ERR, 0 }, /* ARABIC-INDIC DIGIT ONE */
};

static void test_http_content_length(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cl_cases); i++) {
		const struct cl_case *c = &cl_cases[i];
		size_t out = 777;
		int rc = http_parse_content_length(c->value, &out);

		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d", i, c->value ? c->value : "(null)", rc,
				 c->rc);
		if (rc == GK_OK && out != c->want)
			fail_msg("case %zu '%s': %zu, want %zu", i, c->value ? c->value : "(null)", out,
				 c->want);
	}
}

/* ---- Origin ---- */

struct origin_case {
	const char *origin, *scheme, *host, *allowed;
	int want;
};

static const struct origin_case origin_cases[] = {
	/* no Origin header: not a browser cross-site request */
	{ NULL, "http", "example.com", NULL, 1 },
	{ NULL, "https", "example.com", "https://other.example", 1 },
	/* default: the request's own scheme and host */
	{ "http://example.com", "http", "example.com", NULL, 1 },
	{ "http://example.com", "http", "example.com", "", 1 },
	{ "https://example.com", "https", "example.com", NULL, 1 },
	{ "http://example.com", NULL, "example.com", NULL, 1 }, /* scheme defaults to http */
	{ "http://example.com", "", "example.com", NULL, 1 },
	{ "https://example.com", NULL, "example.com", NULL, 0 },
	{ "http://EXAMPLE.com", "http", "example.com", NULL, 1 }, /* host names ignore case */
	{ "HTTP://example.com", "http", "example.com", NULL, 1 },
	{ "http://127.0.0.1:8080", "http", "127.0.0.1:8080", NULL, 1 },
	{ "https://example.com", "http", "example.com", NULL, 0 },
	{ "http://example.com", "https", "example.com", NULL, 0 },
	{ "http://example.com:8080", "http", "example.com", NULL, 0 },
	{ "http://example.com", "http", "example.com:8080", NULL, 0 },
	{ "http://example.com.evil.org", "http", "example.com", NULL, 0 },
	{ "http://evil.org", "http", "example.com", NULL, 0 },
	{ "http://evilexample.com", "http", "example.com", NULL, 0 },
	{ "http://example.co", "http", "example.com", NULL, 0 },
	{ "http://example.com/", "http", "example.com", NULL, 0 },
	{ "http:/example.com", "http", "example.com", NULL, 0 },
	{ "http//example.com", "http", "example.com", NULL, 0 },
	{ "example.com", "http", "example.com", NULL, 0 },
	{ "null", "http", "example.com", NULL, 0 },
	{ "", "http", "example.com", NULL, 0 },
	{ "http://", "http", "", NULL, 0 },
	{ "http://example.com", "http", NULL, NULL, 0 },
	{ "http://example.com", "http", "", NULL, 0 },
	/* GOFANNON_ALLOWED_ORIGINS: space or comma separated, exact entries */
	{ "https://app.example", "http", "example.com", "https://app.example", 1 },
	{ "https://b.example", "http", "x", "https://a.example https://b.example", 1 },
	{ "https://b.example", "http", "x", "https://a.example,https://b.example", 1 },
	{ "https://b.example", "http", "x", "https://a.example, https://b.example", 1 },
	{ "https://b.example", "http", "x", " ,https://a.example ,\thttps://b.example, ", 1 },
	{ "https://a.example", "http", "x", "https://a.example,", 1 },
	{ "https://c.example", "http", "x", "https://a.example https://b.example", 0 },
	{ "https://a.example.evil", "http", "x", "https://a.example", 0 },
	{ "https://a.exampl", "http", "x", "https://a.example", 0 },
	{ "https://a.example", "http", "x", "https://a.example.com", 0 },
	{ "https://a.example", "http", "x", "xhttps://a.example", 0 },
	{ "https://a", "http", "x", "https://a.example", 0 },
	/* a list replaces the default: the own origin must then be listed */
	{ "http://example.com", "http", "example.com", "https://app.example", 0 },
	{ "http://example.com", "http", "example.com", ",,, ", 0 },
	{ "", "http", "example.com", ",,, ", 0 },
};

static void test_http_origin(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(origin_cases); i++) {
		const struct origin_case *c = &origin_cases[i];
		int got = http_origin_allowed(c->origin, c->scheme, c->host, c->allowed);

		if (got != c->want)
			fail_msg("case %zu origin '%s' host '%s' allowed '%s': got %d, want %d", i,
				 c->origin ? c->origin : "(null)", c->host ? c->host : "(null)",
				 c->allowed ? c->allowed : "(null)", got, c->want);
	}
}

/* ---- replies ---- */

static const char *detail_of(const struct http_response *resp)
{
	struct json_object *detail;

	assert_non_null(resp->body);
	assert_true(json_object_is_type(resp->body, json_type_object));
	assert_int_equal(json_object_object_length(resp->body), 1);
	assert_true(json_object_object_get_ex(resp->body, "detail", &detail));
	assert_true(json_object_is_type(detail, json_type_string));
	return json_object_get_string(detail);
}

static void test_http_header_add_caps(void **state)
{
	struct http_response resp;

	(void)state;
	http_response_init(&resp);
	for (size_t i = 0; i < HTTP_HEADERS_MAX; i++)
		assert_int_equal(http_header_add(&resp, "Vary", "Origin"), GK_OK);
	assert_int_equal(http_header_add(&resp, "Vary", "Origin"), GK_ERR);
	assert_int_equal(resp.header_count, HTTP_HEADERS_MAX);
	assert_string_equal(resp.headers[0].name, "Vary");
	http_response_release(&resp);
	assert_int_equal(resp.header_count, 0);
}

static void test_http_fail_and_ok(void **state)
{
	struct http_response resp;

	(void)state;
	http_response_init(&resp);
	assert_int_equal(resp.status, 500);
	assert_null(resp.body);
	assert_int_equal(resp.header_count, 0);
	assert_int_equal(resp.streamed, 0);

	assert_int_equal(http_fail(&resp, 422, "Field 'provider' is required"), GK_ERR);
	assert_int_equal(resp.status, 422);
	assert_string_equal(detail_of(&resp), "Field 'provider' is required");

	/* a second failure replaces the first (no leak: ASan watches) */
	assert_int_equal(http_fail(&resp, 400, "Unknown provider: x"), GK_ERR);
	assert_int_equal(resp.status, 400);
	assert_string_equal(detail_of(&resp), "Unknown provider: x");

	assert_int_equal(http_ok(&resp, json_object_new_object()), GK_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(json_object_object_length(resp.body), 0);

	http_response_release(&resp);
	assert_null(resp.body);
	assert_int_equal(resp.status, 500);
	http_response_release(&resp); /* twice is harmless */
}

static void test_http_failf(void **state)
{
	struct http_response resp;
	struct arena arena;

	(void)state;
	arena_init(&arena, 4096);
	http_response_init(&resp);
	assert_int_equal(http_failf(&resp, &arena, 400, "Unknown provider: %s", "nope"), GK_ERR);
	assert_int_equal(resp.status, 400);
	assert_string_equal(detail_of(&resp), "Unknown provider: nope");
	/* the detail is a string even when it looks like something else */
	assert_int_equal(http_failf(&resp, &arena, 422, "%s", "[\"a\",\"b\"]"), GK_ERR);
	assert_string_equal(detail_of(&resp), "[\"a\",\"b\"]");
	arena_release(&arena);

	/* no room for the sentence: the reason phrase stands in */
	arena_init(&arena, 0);
	assert_int_equal(http_failf(&resp, &arena, 503, "Key store %s", "unavailable"), GK_ERR);
	assert_int_equal(resp.status, 503);
	assert_string_equal(detail_of(&resp), "Service Unavailable");
	arena_release(&arena);
	http_response_release(&resp);
}

static void test_http_reason(void **state)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 200, "OK" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		assert_string_equal(http_reason(reasons[i].status), reasons[i].reason);
	assert_non_null(http_reason(299));
	assert_non_null(http_reason(-1));
}

/* ---- body length and reading ---- */

struct body_length_case {
	const char *content_length;
	int rc;
	size_t len; /* GK_OK */
	int status; /* GK_ERR: 413 or 400; 0 accepts either */
};

static const struct body_length_case body_length_cases[] = {
	{ NULL, GK_OK, 0, 0 },
	{ "", GK_OK, 0, 0 },
	{ "0", GK_OK, 0, 0 },
	{ "42", GK_OK, 42, 0 },
	{ "65536", GK_OK, 65536, 0 }, /* exactly 64 KiB */
	{ "65537", GK_ERR, 0, 413 },
	{ "1048576", GK_ERR, 0, 413 },
	{ "4294967296", GK_ERR, 0, 413 },
	{ "18446744073709551616", GK_ERR, 0, 0 },
	{ "abc", GK_ERR, 0, 400 },
	{ "-1", GK_ERR, 0, 400 },
	{ "1 2", GK_ERR, 0, 400 },
};

static void test_http_body_length(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(body_length_cases); i++) {
		const struct body_length_case *c = &body_length_cases[i];
		struct http_request req = { .content_length = c->content_length };
		struct http_response resp;
		size_t len = 999;
		int rc;

		http_response_init(&resp);
		rc = http_body_length(&req, &resp, &len);
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d", i,
				 c->content_length ? c->content_length : "(null)", rc, c->rc);
		if (rc == GK_OK) {
			assert_int_equal(len, c->len);
			assert_null(resp.body);
		} else {
			if (c->status ? resp.status != c->status : resp.status != 400 && resp.status != 413)
				fail_msg("case %zu '%s': status %d", i, c->content_length, resp.status);
			assert_true(strlen(detail_of(&resp)) > 0);
		}
		http_response_release(&resp);
	}
}

/* A body source for http_read_body: hands out data in chunks of at most
 * chunk bytes, then 0 (end) or -1 (error). */
struct reader {
	const char *data;
	size_t len, pos, chunk;
	int fail_at_end;
	int calls;
};

static ssize_t read_chunks(void *ctx, char *buf, size_t len)
{
	struct reader *r = ctx;
	size_t n = r->len - r->pos;

	r->calls++;
	if (n == 0)
		return r->fail_at_end ? -1 : 0;
	if (n > len)
		n = len;
	if (r->chunk && n > r->chunk)
		n = r->chunk;
	memcpy(buf, r->data + r->pos, n);
	r->pos += n;
	return (ssize_t)n;
}

static int read_body(struct arena *arena, struct reader *r, size_t len, char **body, int *status)
{
	struct http_request req = { .arena = arena, .read_body = read_chunks, .read_ctx = r };
	struct http_response resp;
	int rc;

	http_response_init(&resp);
	rc = http_read_body(&req, &resp, len, body);
	*status = rc == GK_OK ? 200 : resp.status;
	if (rc != GK_OK)
		assert_true(strlen(detail_of(&resp)) > 0);
	http_response_release(&resp);
	return rc;
}

static void test_http_read_body(void **state)
{
	const char data[] = "{\"provider\":\"openai\",\"apiKey\":\"sk-abc\"}";
	struct reader r = { .data = data, .len = sizeof(data) - 1 };
	struct arena arena;
	char *body = NULL;
	int status;

	(void)state;
	arena_init(&arena, HTTP_BODY_MAX * 2);
	assert_int_equal(read_body(&arena, &r, r.len, &body, &status), GK_OK);
	assert_string_equal(body, data);
	assert_true(arena.used > r.len); /* the body lives in the request arena */

	/* one byte at a time */
	r = (struct reader){ .data = data, .len = sizeof(data) - 1, .chunk = 1 };
	assert_int_equal(read_body(&arena, &r, r.len, &body, &status), GK_OK);
	assert_string_equal(body, data);
	assert_int_equal(r.calls, (int)r.len);

	/* reads exactly Content-Length bytes, even when more are on offer */
	r = (struct reader){ .data = data, .len = sizeof(data) - 1 };
	assert_int_equal(read_body(&arena, &r, 5, &body, &status), GK_OK);
	assert_string_equal(body, "{\"pro");

	/* an empty body reads nothing */
	r = (struct reader){ .data = data, .len = sizeof(data) - 1 };
	assert_int_equal(read_body(&arena, &r, 0, &body, &status), GK_OK);
	assert_string_equal(body, "");
	assert_int_equal(r.calls, 0);

	/* shorter than announced: 400 */
	r = (struct reader){ .data = data, .len = 10 };
	assert_int_equal(read_body(&arena, &r, 20, &body, &status), GK_ERR);
	assert_int_equal(status, 400);

	/* a read error: 400 as well */
	r = (struct reader){ .data = data, .len = 10, .fail_at_end = 1, .chunk = 3 };
	assert_int_equal(read_body(&arena, &r, 20, &body, &status), GK_ERR);
	assert_int_equal(status, 400);
	arena_release(&arena);

	/* the arena's cap holds */
	arena_init(&arena, 16);
	r = (struct reader){ .data = data, .len = sizeof(data) - 1 };
	assert_int_equal(read_body(&arena, &r, r.len, &body, &status), GK_ERR);
	assert_int_equal(status, 500);
	arena_release(&arena);
}

static void test_http_read_body_without_reader(void **state)
{
	struct arena arena;
	struct http_request req = { .arena = &arena };
	struct http_response resp;
	char *body = NULL;

	(void)state;
	arena_init(&arena, 4096);
	http_response_init(&resp);
	assert_int_equal(http_read_body(&req, &resp, 0, &body), GK_OK);
	assert_string_equal(body, "");
	assert_int_equal(http_read_body(&req, &resp, 3, &body), GK_ERR);
	assert_int_equal(resp.status, 400);
	http_response_release(&resp);
	arena_release(&arena);
}

/* A full 64 KiB body with bytes of every value arrives intact. */
static void test_http_read_body_max(void **state)
{
	char *data = malloc(HTTP_BODY_MAX);
	struct reader r = { .data = data, .len = HTTP_BODY_MAX, .chunk = 1000 };
	struct arena arena;
	char *body = NULL;
	int status;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < HTTP_BODY_MAX; i++)
		data[i] = (char)(i * 7);
	arena_init(&arena, HTTP_BODY_MAX + 64);
	assert_int_equal(read_body(&arena, &r, HTTP_BODY_MAX, &body, &status), GK_OK);
	assert_memory_equal(body, data, HTTP_BODY_MAX);
	assert_int_equal(body[HTTP_BODY_MAX], '\0');
	arena_release(&arena);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_content_type),
		cmocka_unit_test(test_http_content_length),
		cmocka_unit_test(test_http_origin),
		cmocka_unit_test(test_http_fail_and_ok),
		cmocka_unit_test(test_http_header_add_caps),
		cmocka_unit_test(test_http_failf),
		cmocka_unit_test(test_http_reason),
		cmocka_unit_test(test_http_body_length),
		cmocka_unit_test(test_http_read_body),
		cmocka_unit_test(test_http_read_body_without_reader),
		cmocka_unit_test(test_http_read_body_max),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
