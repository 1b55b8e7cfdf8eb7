/* test_router.c: which handler a method and path belong to (product spec 4.4):
 * unknown path 404, known path with the wrong method 405 plus Allow, OPTIONS
 * on a known path a CORS preflight with the same methods. */
#include "unit.h"

#include "router.h"

#define KEYS "/api/users/me/api-keys"

enum {
	FOUND = ROUTE_FOUND,
	NOT_FOUND = ROUTE_NOT_FOUND,
	NOT_ALLOWED = ROUTE_METHOD_NOT_ALLOWED,
	PREFLIGHT = ROUTE_PREFLIGHT
};

struct route_case {
	const char *method;
	const char *path;
	int expect;
	enum route_id id;     /* FOUND */
	const char *provider; /* FOUND: the captured segment */
	const char *allow;    /* NOT_ALLOWED, PREFLIGHT: the methods served */
};

/* clang-format off */
#define ROUTE(m, p, id, prov) { m, p, FOUND, id, prov, NULL }
#define R405(m, p, allow) { m, p, NOT_ALLOWED, 0, NULL, allow }
#define R404(m, p) { m, p, NOT_FOUND, 0, NULL, NULL }
#define PRE(p, allow) { "OPTIONS", p, PREFLIGHT, 0, NULL, allow }
/* clang-format on */

static const struct route_case route_cases[] = {
	/* every route */
	ROUTE("GET", "/api/health", ROUTE_HEALTH, ""),
	ROUTE("GET", "/api/users/me", ROUTE_ME, ""),
	ROUTE("GET", KEYS, ROUTE_API_KEYS_GET, ""),
	ROUTE("PUT", KEYS, ROUTE_API_KEYS_PUT, ""),
	ROUTE("DELETE", KEYS "/openai", ROUTE_API_KEY_DELETE, "openai"),
	ROUTE("GET", KEYS "/openai/effective", ROUTE_API_KEY_EFFECTIVE, "openai"),
	ROUTE("POST", KEYS "/anthropic/verify", ROUTE_API_KEY_VERIFY, "anthropic"),
	ROUTE("GET", "/api/users/me/usage", ROUTE_USAGE, ""),
	ROUTE("GET", "/api/providers", ROUTE_PROVIDERS, ""),
	ROUTE("POST", "/api/llm/chat", ROUTE_LLM_CHAT, ""),
	ROUTE("GET", KEYS "/activity", ROUTE_API_KEY_ACTIVITY, ""),
	/* the capture takes one segment as it is; the registry decides later */
	ROUTE("DELETE", KEYS "/OpenAI", ROUTE_API_KEY_DELETE, "OpenAI"),
	ROUTE("DELETE", KEYS "/no-such", ROUTE_API_KEY_DELETE, "no-such"),
	ROUTE("DELETE", KEYS "/..", ROUTE_API_KEY_DELETE, ".."),
	ROUTE("DELETE", KEYS "/a.b", ROUTE_API_KEY_DELETE, "a.b"),
	ROUTE("DELETE", KEYS "/%2F", ROUTE_API_KEY_DELETE, "%2F"),
	ROUTE("DELETE", KEYS "/effective", ROUTE_API_KEY_DELETE, "effective"),
	ROUTE("GET", KEYS "/verify/effective", ROUTE_API_KEY_EFFECTIVE, "verify"),
	ROUTE("GET", KEYS "/gem\xc3\xadni/effective", ROUTE_API_KEY_EFFECTIVE, "gem\xc3\xadni"),
	ROUTE("DELETE", KEYS "/a b", ROUTE_API_KEY_DELETE, "a b"),
	/* known path, wrong method: 405 and the methods that path takes */
	R405("POST", "/api/health", "GET"),
	R405("HEAD", "/api/health", "GET"),
	R405("get", "/api/health", "GET"), /* methods are case-sensitive */
	R405("PUT", "/api/users/me", "GET"),
	R405("POST", KEYS, "GET, PUT"),
	R405("DELETE", KEYS, "GET, PUT"),
	R405("PATCH", KEYS, "GET, PUT"),
	R405("GET", KEYS "/openai", "DELETE"),
	R405("PUT", KEYS "/openai", "DELETE"),
	R405("POST", KEYS "/openai/effective", "GET"),
	R405("DELETE", KEYS "/openai/effective", "GET"),
	R405("GET", KEYS "/openai/verify", "POST"),
	R405("DELETE", "/api/users/me/usage", "GET"),
	R405("POST", "/api/providers", "GET"),
	R405("GET", "/api/llm/chat", "POST"),
	/* a literal path is its route's alone, not a {provider} */
	R405("DELETE", KEYS "/activity", "GET"),
	R405("POST", KEYS "/activity", "GET"),
	R405("options", "/api/llm/chat", "POST"),
	R405("", "/api/health", "GET"),
	/* OPTIONS on every known path: a preflight, answered with its methods */
	PRE("/api/health", "GET"),
	PRE("/api/users/me", "GET"),
	PRE(KEYS, "GET, PUT"),
	PRE(KEYS "/openai", "DELETE"),
	PRE(KEYS "/no-such", "DELETE"),
	PRE(KEYS "/openai/effective", "GET"),
	PRE(KEYS "/openai/verify", "POST"),
	PRE(KEYS "/activity", "GET"),
	PRE("/api/users/me/usage", "GET"),
	PRE("/api/providers", "GET"),
	PRE("/api/llm/chat", "POST"),
	/* unknown paths */
	R404("GET", ""),
	R404("GET", "/"),
	R404("GET", "/api"),
	R404("GET", "/api/"),
	R404("GET", "/api/health/"),
	R404("GET", "/api/healthz"),
	R404("GET", "/api/healt"),
	R404("GET", "/API/health"),
	R404("GET", "//api/health"),
	R404("GET", "api/health"),
	R404("GET", "/api/health?x=1"), /* the query is stripped before routing */
	R404("GET", "/api/users"),
	R404("GET", "/api/users/me/"),
	R404("GET", "/api/users/you"),
	R404("GET", "/api/users/me/api-key"),
	R404("GET", KEYS "/"), /* empty {provider} */
	R404("DELETE", KEYS "/"),
	R404("GET", KEYS "//effective"),
	R404("POST", KEYS "//verify"),
	R404("DELETE", KEYS "/openai/"),
	R404("GET", KEYS "/openai/effective/"),
	R404("GET", KEYS "/openai/effective/x"),
	R404("GET", KEYS "/openai/other"),
	R404("POST", KEYS "/a/b/verify"),  /* {provider} is one segment */
	R404("GET", "/users/me/api-keys"), /* the /api prefix is nginx's business */
	R404("GET", "/api/llm"),
	R404("OPTIONS", "/api/llm"), /* no preflight for a path nobody serves */
	R404("OPTIONS", KEYS "/"),
	R404("OPTIONS", "/users/me/api-keys"),
	R404("POST", "/api/llm/chat/"),
};

static void test_router_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(route_cases); i++) {
		const struct route_case *c = &route_cases[i];
		struct route_result out;
		enum route_match got;

		memset(&out, 0x5a, sizeof(out));
		got = router_match(c->method, c->path, &out);
		if ((int)got != c->expect)
			fail_msg("case %zu %s '%s': got %d, want %d", i, c->method, c->path, got, c->expect);
		switch (got) {
		case ROUTE_FOUND:
			if (out.id != c->id)
				fail_msg("case %zu %s '%s': route %d, want %d", i, c->method, c->path, out.id,
					 c->id);
			if (strcmp(out.provider, c->provider) != 0)
				fail_msg("case %zu: provider '%s', want '%s'", i, out.provider, c->provider);
			assert_string_equal(out.allow, "");
			assert_non_null(out.name);
			assert_int_equal(out.needs_identity, c->id != ROUTE_HEALTH);
			break;
		case ROUTE_METHOD_NOT_ALLOWED:
		case ROUTE_PREFLIGHT:
			if (strcmp(out.allow, c->allow) != 0)
				fail_msg("case %zu %s '%s': Allow '%s', want '%s'", i, c->method, c->path,
					 out.allow, c->allow);
			assert_string_equal(out.provider, "");
			assert_non_null(out.name);
			assert_int_equal(out.needs_identity, 0);
			break;
		case ROUTE_NOT_FOUND:
			assert_string_equal(out.allow, "");
			assert_string_equal(out.provider, "");
			break;
		}
	}
}

/* Each route id is reachable, and only the health check needs no identity. */
static void test_router_every_route_reachable(void **state)
{
	int seen[ROUTE_COUNT] = { 0 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(route_cases); i++) {
		struct route_result out;

		if (router_match(route_cases[i].method, route_cases[i].path, &out) == ROUTE_FOUND)
			seen[out.id] = 1;
	}
	for (int id = 0; id < ROUTE_COUNT; id++)
		if (!seen[id])
			fail_msg("route %d is never matched", id);
}

/* Log lines get the pattern, never the raw path (which may carry anything). */
static void test_router_name_is_pattern(void **state)
{
	struct route_result out;

	(void)state;
	assert_int_equal(router_match("DELETE", KEYS "/openai", &out), ROUTE_FOUND);
	assert_string_equal(out.name, KEYS "/{provider}");
	assert_int_equal(router_match("GET", KEYS "/x/effective", &out), ROUTE_FOUND);
	assert_string_equal(out.name, KEYS "/{provider}/effective");
	assert_int_equal(router_match("GET", "/api/health", &out), ROUTE_FOUND);
	assert_string_equal(out.name, "/api/health");
}

/* {provider} captures 1..ROUTE_SEGMENT_MAX bytes; longer is an unknown path. */
static void test_router_capture_limits(void **state)
{
	char *seg = unit_repeat('p', ROUTE_SEGMENT_MAX + 1);
	char path[ROUTE_SEGMENT_MAX + 64];
	struct route_result out;

	(void)state;
	seg[ROUTE_SEGMENT_MAX] = '\0';
	snprintf(path, sizeof(path), KEYS "/%s", seg);
	assert_int_equal(router_match("DELETE", path, &out), ROUTE_FOUND);
	assert_int_equal(strlen(out.provider), ROUTE_SEGMENT_MAX);
	assert_string_equal(out.provider, seg);
	snprintf(path, sizeof(path), KEYS "/%s/effective", seg);
	assert_int_equal(router_match("GET", path, &out), ROUTE_FOUND);
	assert_string_equal(out.provider, seg);

	seg[ROUTE_SEGMENT_MAX] = 'p';
	snprintf(path, sizeof(path), KEYS "/%s", seg);
	assert_int_equal(router_match("DELETE", path, &out), ROUTE_NOT_FOUND);
	assert_string_equal(out.provider, "");
	snprintf(path, sizeof(path), KEYS "/%s/verify", seg);
	assert_int_equal(router_match("POST", path, &out), ROUTE_NOT_FOUND);
	free(seg);
}

/* A very long path or method is just unknown. */
static void test_router_long_input(void **state)
{
	char *path = unit_repeat('/', 100000);
	char *method = unit_repeat('G', 100000);
	struct route_result out;

	(void)state;
	assert_int_equal(router_match("GET", path, &out), ROUTE_NOT_FOUND);
	memcpy(path, KEYS "/", sizeof(KEYS));
	memset(path + sizeof(KEYS), 'x', 100000 - sizeof(KEYS));
	assert_int_equal(router_match("DELETE", path, &out), ROUTE_NOT_FOUND);
	assert_int_equal(router_match(method, "/api/health", &out), ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(out.allow, "GET");
	free(path);
	free(method);
}

static void test_router_null_input(void **state)
{
	struct route_result out;

	(void)state;
	assert_int_equal(router_match(NULL, "/api/health", &out), ROUTE_NOT_FOUND);
	assert_int_equal(router_match("GET", NULL, &out), ROUTE_NOT_FOUND);
	assert_int_equal(router_match(NULL, NULL, &out), ROUTE_NOT_FOUND);
}

/* A result reused for the next request carries nothing over. */
static void test_router_result_reset(void **state)
{
	struct route_result out;

	(void)state;
	assert_int_equal(router_match("GET", KEYS "/openai/effective", &out), ROUTE_FOUND);
	assert_string_equal(out.provider, "openai");
	assert_int_equal(router_match("GET", "/api/providers", &out), ROUTE_FOUND);
	assert_string_equal(out.provider, "");
	assert_int_equal(router_match("POST", KEYS, &out), ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(out.allow, "GET, PUT");
	assert_int_equal(router_match("GET", KEYS, &out), ROUTE_FOUND);
	assert_string_equal(out.allow, "");
	assert_int_equal(router_match("POST", KEYS "/x/effective", &out), ROUTE_METHOD_NOT_ALLOWED);
	assert_string_equal(out.provider, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router_table),
		cmocka_unit_test(test_router_every_route_reachable),
		cmocka_unit_test(test_router_name_is_pattern),
		cmocka_unit_test(test_router_capture_limits),
		cmocka_unit_test(test_router_long_input),
		cmocka_unit_test(test_router_null_input),
		cmocka_unit_test(test_router_result_reset),
	};

	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
