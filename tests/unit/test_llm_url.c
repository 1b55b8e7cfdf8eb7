/* test_llm_url.c: where provider calls may go. TLS always; plain http only
 * to loopback (127.0.0.0/8, ::1, localhost), which is how tests reach a
 * mock provider. */
#include "unit.h"

#include "llm.h"
#include "status.h"

struct url_case {
	const char *url;
	int allowed;
};

static const struct url_case cases[] = {
	{ "https://api.openai.com/v1", 1 },
	{ "HTTPS://api.anthropic.com", 1 },
	{ "https://10.0.0.5:8443/v1", 1 },
	{ "http://127.0.0.1:8080/openai/v1", 1 },
	{ "http://127.255.0.9/", 1 },
	{ "http://localhost:9000", 1 },
	{ "http://LOCALHOST", 1 },
	{ "http://[::1]:9000/x", 1 },
	{ "http://api.openai.com/v1", 0 },
	{ "http://10.0.0.5/v1", 0 },
	{ "http://128.0.0.1/", 0 },
	{ "http://[::2]/", 0 },
	{ "http://[::ffff:127.0.0.1]/", 0 },
	{ "http://127.0.0.1.example.com/", 0 },
	{ "http://localhost.example.com/", 0 },
	{ "http://example.com#@127.0.0.1/", 0 },
	{ "ftp://127.0.0.1/", 0 },
	{ "file:///etc/passwd", 0 },
	{ "not a url", 0 },
	{ "", 0 },
};

static void test_which_base_urls_are_allowed(void **state)
{
	char why[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		why[0] = '\0';
		rc = llm_url_allowed(cases[i].url, why, sizeof(why));
		if ((rc == GK_OK) != cases[i].allowed)
			fail_msg("'%s': %s", cases[i].url, cases[i].allowed ? "refused" : "allowed");
		if (rc != GK_OK)
			assert_true(why[0] != '\0');
	}
}

static void test_the_refusal_says_why(void **state)
{
	char why[160];

	assert_int_equal(llm_url_allowed("http://api.example.com", why, sizeof(why)), GK_ERR);
	assert_non_null(strstr(why, "plain http"));
	assert_int_equal(llm_url_allowed("gopher://x", why, sizeof(why)), GK_ERR);
	assert_non_null(strstr(why, "https"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_which_base_urls_are_allowed),
		cmocka_unit_test(test_the_refusal_says_why),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
