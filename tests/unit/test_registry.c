/* test_registry.c: the provider registry (product spec 4.2): the built-in
 * default, a replacement file, each validation error, <ID>_BASE_URL. */
#include "unit.h"

#include "registry.h"
#include "status.h"

static const char *const base_url_vars[] = {
	"OPENAI_BASE_URL",     "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL", "PERPLEXITY_BASE_URL",
	"OPENROUTER_BASE_URL", "MY_LLM_BASE_URL",    "X_BASE_URL",
};

/* Every test starts without base URL overrides from the outside world. */
static int clear_overrides(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(base_url_vars); i++)
		unsetenv(base_url_vars[i]);
	return 0;
}

struct default_provider {
	const char *id, *name, *env_var, *field;
	enum wire_style wire;
	const char *base_url;
};

/* The table of product spec 4.2, in display order. */
static const struct default_provider defaults[] = {
	{ "openai", "OpenAI", "OPENAI_API_KEY", "openaiApiKey", WIRE_OPENAI, "https://api.openai.com/v1" },
	{ "anthropic", "Anthropic", "ANTHROPIC_API_KEY", "anthropicApiKey", WIRE_ANTHROPIC,
	  "https://api.anthropic.com" },
	{ "gemini", "Google Gemini", "GEMINI_API_KEY", "geminiApiKey", WIRE_GEMINI,
	  "https://generativelanguage.googleapis.com" },
	{ "perplexity", "Perplexity", "PERPLEXITYAI_API_KEY", "perplexityApiKey", WIRE_OPENAI,
	  "https://api.perplexity.ai" },
	{ "openrouter", "OpenRouter", "OPENROUTER_API_KEY", "openrouterApiKey", WIRE_OPENAI,
	  "https://openrouter.ai/api/v1" },
};

static void check_defaults(const struct registry *reg)
{
	assert_int_equal(reg->count, ARRAY_SIZE(defaults));
	for (size_t i = 0; i < reg->count; i++) {
		const struct provider *p = &reg->providers[i];
		const struct default_provider *d = &defaults[i];

		assert_string_equal(p->id, d->id);
		assert_string_equal(p->name, d->name);
		assert_string_equal(p->env_var, d->env_var);
		assert_string_equal(p->user_key_field, d->field);
		assert_int_equal(p->wire_style, d->wire);
		assert_string_equal(p->base_url, d->base_url);
		assert_non_null(p->description);
		assert_true(strlen(p->description) > 0);
		assert_true(p->model_count > 0);
		assert_non_null(p->models);
		for (size_t m = 0; m < p->model_count; m++)
			assert_true(strlen(p->models[m]) > 0);
		assert_null(p->models[p->model_count]);
		assert_ptr_equal(registry_find(reg, d->id), p);
	}
}

static void test_registry_default(void **state)
{
	struct registry reg;
	char err[256] = "";

	(void)state;
	if (registry_load(&reg, NULL, err, sizeof(err)) != GK_OK)
		fail_msg("default registry: %s", err);
	check_defaults(&reg);
	registry_release(&reg);
	assert_null(reg.providers);
	assert_int_equal(reg.count, 0);
}

/* The shipped file is the built-in registry (it is compiled in from it). */
static void test_registry_file_matches_default(void **state)
{
	const char *srcdir = getenv("GK_TEST_SRCDIR");
	char path[PATH_MAX];
	struct registry reg;
	char err[PATH_MAX + 256] = "";

	(void)state;
	if (!srcdir)
		skip();
	unit_path(path, srcdir, "src/providers.json");
	if (registry_load(&reg, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	check_defaults(&reg);
	registry_release(&reg);
}

static void test_registry_find(void **state)
{
	static const char *const misses[] = {
		"OpenAI", "OPENAI", "openai ", " openai", "open", "openai2", "", "openai/x",
	};
	struct registry reg;
	char err[256];

	(void)state;
	assert_int_equal(registry_load(&reg, NULL, err, sizeof(err)), GK_OK);
	for (size_t i = 0; i < ARRAY_SIZE(misses); i++)
		if (registry_find(&reg, misses[i]))
			fail_msg("'%s' found, ids are matched exactly", misses[i]);
	registry_release(&reg);
}

static void test_wire_style_name(void **state)
{
	(void)state;
	assert_string_equal(wire_style_name(WIRE_OPENAI), "openai");
	assert_string_equal(wire_style_name(WIRE_ANTHROPIC), "anthropic");
	assert_string_equal(wire_style_name(WIRE_GEMINI), "gemini");
	assert_string_equal(wire_style_name((enum wire_style)42), "unknown");
}

/* <ID>_BASE_URL replaces one provider's base URL and no other. */
static void test_registry_base_url_override(void **state)
{
	struct registry reg;
	char err[256] = "";

	(void)state;
	assert_int_equal(setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1", 1), 0);
	assert_int_equal(setenv("GEMINI_BASE_URL", "", 1), 0); /* empty counts as unset */
	assert_int_equal(setenv("openai_BASE_URL", "http://wrong.example", 1), 0);
	if (registry_load(&reg, NULL, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_string_equal(registry_find(&reg, "openai")->base_url, "http://127.0.0.1:9999/v1");
	assert_string_equal(registry_find(&reg, "anthropic")->base_url, "https://api.anthropic.com");
	assert_string_equal(registry_find(&reg, "gemini")->base_url,
			    "https://generativelanguage.googleapis.com");
	registry_release(&reg);

	assert_int_equal(setenv("PERPLEXITY_BASE_URL", "https://mock.local", 1), 0);
	assert_int_equal(registry_load(&reg, NULL, err, sizeof(err)), GK_OK);
	assert_string_equal(registry_find(&reg, "perplexity")->base_url, "https://mock.local");
	assert_string_equal(registry_find(&reg, "openai")->base_url, "http://127.0.0.1:9999/v1");
	registry_release(&reg);

	/* an override is checked like the file's own value */
	assert_int_equal(setenv("ANTHROPIC_BASE_URL", "ftp://127.0.0.1", 1), 0);
	assert_int_equal(registry_load(&reg, NULL, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "anthropic"));
	assert_non_null(strstr(err, "base URL"));
	unsetenv("openai_BASE_URL");
	clear_overrides(NULL);
}

/* An id with '-' maps to '_' in the variable name; a missing baseUrl can come
 * from the environment alone. */
static void test_registry_base_url_override_id_mapping(void **state)
{
	const char *json = "{\"providers\":[{\"id\":\"my-llm\",\"name\":\"Mine\","
			   "\"wireStyle\":\"openai\"}]}";
	struct registry reg;
	char err[256] = "";

	(void)state;
	assert_int_equal(registry_parse(&reg, json, strlen(json), err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "base URL"));
	assert_int_equal(setenv("MY_LLM_BASE_URL", "http://localhost:1234", 1), 0);
	if (registry_parse(&reg, json, strlen(json), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_string_equal(reg.providers[0].base_url, "http://localhost:1234");
	registry_release(&reg);
	unsetenv("MY_LLM_BASE_URL");
}

/* Optional fields: description "", no envVar, no userKeyField, no models. */
static void test_registry_minimal_entry(void **state)
{
	const char *json = "{\"providers\":[{\"id\":\"x\",\"name\":\"X\",\"wireStyle\":\"gemini\","
			   "\"baseUrl\":\"http://h\",\"envVar\":null,\"models\":null,"
			   "\"somethingNew\":[1,2,3]}]}";
	struct registry reg;
	char err[256] = "";
	const struct provider *p;

	(void)state;
	if (registry_parse(&reg, json, strlen(json), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	p = &reg.providers[0];
	assert_string_equal(p->description, "");
	assert_null(p->env_var);
	assert_null(p->user_key_field);
	assert_int_equal(p->wire_style, WIRE_GEMINI);
	assert_int_equal(p->model_count, 0);
	assert_non_null(p->models);
	assert_null(p->models[0]);
	registry_release(&reg);
}

/* A registry of n providers with ids p0..p<n-1> and distinct key fields. */
static char *many_providers(size_t n)
{
	size_t cap = 64 + n * 160, used = 0;
	char *json = malloc(cap);

	assert_non_null(json);
	used += (size_t)snprintf(json, cap, "{\"providers\":[");
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(json + used, cap - used,
					 "%s{\"id\":\"p%zu\",\"name\":\"P%zu\",\"userKeyField\":\"p%zuKey\","
					 "\"wireStyle\":\"openai\",\"baseUrl\":\"https://p%zu.example\"}",
					 i ? "," : "", i, i, i, i);
	snprintf(json + used, cap - used, "]}");
	return json;
}

static void test_registry_provider_count(void **state)
{
	char *json64 = many_providers(REGISTRY_MAX_PROVIDERS);
	char *json65 = many_providers(REGISTRY_MAX_PROVIDERS + 1);
	struct registry reg;
	char err[256] = "";

	(void)state;
	if (registry_parse(&reg, json64, strlen(json64), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(reg.count, REGISTRY_MAX_PROVIDERS);
	assert_string_equal(reg.providers[63].id, "p63"); /* order kept */
	registry_release(&reg);
	assert_int_equal(registry_parse(&reg, json65, strlen(json65), err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "1 to 64"));
	assert_null(reg.providers);
	assert_int_equal(reg.count, 0);
	free(json64);
	free(json65);
}

#define GOOD_REST "\"name\":\"N\",\"wireStyle\":\"openai\",\"baseUrl\":\"https://h\""
#define ENTRY(fields) "{\"providers\":[{" fields "}]}"
#define WITH(fields) ENTRY("\"id\":\"p\"," GOOD_REST "," fields)

struct error_case {
	const char *json;
	const char *err; /* what the message must contain */
};

static const struct error_case error_cases[] = {
	{ "", "not valid JSON" },
	{ "nope", "not valid JSON" },
	{ "{\"providers\":[]", "not valid JSON" },
	{ "{\"providers\":[]} x", "not valid JSON" },
	{ "{}", "'providers' array" },
	{ "[]", "'providers' array" },
	{ "{\"providers\":{}}", "'providers' array" },
	{ "{\"providers\":\"openai\"}", "'providers' array" },
	{ "{\"providers\":null}", "'providers' array" },
	{ "{\"providers\":[]}", "1 to 64" },
	{ "{\"providers\":[1]}", "provider #1 is not an object" },
	{ "{\"providers\":[[]]}", "provider #1 is not an object" },
	{ "{\"providers\":[{\"id\":\"a\"," GOOD_REST "},\"b\"]}", "provider #2 is not an object" },
	/* id */
	{ ENTRY(GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":null," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":7," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"OpenAI\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"-x\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"_x\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"a b\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"a.b\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"a/b\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"caf\xc3\xa9\"," GOOD_REST), "provider #1: 'id'" },
	{ ENTRY("\"id\":\"abcdefghijklmnopqrstuvwxyz0123456\"," GOOD_REST), "provider #1: 'id'" },
	/* the API's own path segment, /api/users/me/api-keys/activity */
	{ ENTRY("\"id\":\"activity\"," GOOD_REST),
	  "provider #1: 'id' must not be 'activity', a reserved word" },
	/* name */
	{ ENTRY("\"id\":\"p\",\"wireStyle\":\"openai\",\"baseUrl\":\"https://h\""),
	  "provider 'p': 'name' is required" },
	{ ENTRY("\"id\":\"p\",\"name\":\"\",\"wireStyle\":\"openai\",\"baseUrl\":\"https://h\""),
	  "provider 'p': 'name' is required" },
	{ ENTRY("\"id\":\"p\",\"name\":1,\"wireStyle\":\"openai\",\"baseUrl\":\"https://h\""),
	  "provider 'p': every field except 'models' and 'systemKeyMonthlyTokens' must be a string" },
	/* other fields that must be strings */
	{ WITH("\"description\":[]"), "provider 'p': every field except 'models'" },
	{ WITH("\"envVar\":true"), "provider 'p': every field except 'models'" },
	{ WITH("\"userKeyField\":{}"), "provider 'p': every field except 'models'" },
	/* envVar */
	{ WITH("\"envVar\":\"openai_api_key\""), "provider 'p': 'envVar'" },
	{ WITH("\"envVar\":\"\""), "provider 'p': 'envVar'" },
	{ WITH("\"envVar\":\"1KEY\""), "provider 'p': 'envVar'" },
	{ WITH("\"envVar\":\"A-B\""), "provider 'p': 'envVar'" },
	{ WITH("\"envVar\":\"A B\""), "provider 'p': 'envVar'" },
	{ WITH("\"envVar\":\"A=B\""), "provider 'p': 'envVar'" },
	/* userKeyField */
	{ WITH("\"userKeyField\":\"\""), "provider 'p': 'userKeyField'" },
	{ WITH("\"userKeyField\":\"bad-field\""), "provider 'p': 'userKeyField'" },
	{ WITH("\"userKeyField\":\"1abc\""), "provider 'p': 'userKeyField'" },
	{ WITH("\"userKeyField\":\"a:b\""), "provider 'p': 'userKeyField'" },
	{ WITH("\"userKeyField\":\"_x\""), "provider 'p': 'userKeyField'" },
	/* wireStyle */
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"baseUrl\":\"https://h\""), "provider 'p': 'wireStyle'" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"OpenAI\",\"baseUrl\":\"https://h\""),
	  "provider 'p': 'wireStyle'" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"cohere\",\"baseUrl\":\"https://h\""),
	  "provider 'p': 'wireStyle' must be openai, anthropic or gemini" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"\",\"baseUrl\":\"https://h\""),
	  "provider 'p': 'wireStyle'" },
	/* baseUrl */
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"openai\""), "provider 'p': base URL" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"openai\",\"baseUrl\":\"\""),
	  "provider 'p': base URL" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"openai\",\"baseUrl\":\"ftp://h\""),
	  "provider 'p': base URL" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"openai\",\"baseUrl\":\"https://\""),
	  "provider 'p': base URL" },
	{ ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"openai\",\"baseUrl\":\"api.openai.com\""),
	  "provider 'p': base URL" },
	/* models */
	{ WITH("\"models\":\"gpt-4o\""), "provider 'p': 'models' must be an array of strings" },
	{ WITH("\"models\":{}"), "provider 'p': 'models' must be an array of strings" },
	{ WITH("\"models\":[\"a\",1]"), "provider 'p': 'models' must be an array of strings" },
	{ WITH("\"models\":[null]"), "provider 'p': 'models' must be an array of strings" },
	/* systemKeyMonthlyTokens: a JSON whole number from 1 */
	{ WITH("\"systemKeyMonthlyTokens\":0"),
	  "provider 'p': 'systemKeyMonthlyTokens' must be a whole number from 1 to 1000000000000000" },
	{ WITH("\"systemKeyMonthlyTokens\":-5"), "provider 'p': 'systemKeyMonthlyTokens'" },
	{ WITH("\"systemKeyMonthlyTokens\":1.5"), "provider 'p': 'systemKeyMonthlyTokens'" },
	{ WITH("\"systemKeyMonthlyTokens\":1e6"), "provider 'p': 'systemKeyMonthlyTokens'" },
	{ WITH("\"systemKeyMonthlyTokens\":\"1000\""), "provider 'p': 'systemKeyMonthlyTokens'" },
	{ WITH("\"systemKeyMonthlyTokens\":true"), "provider 'p': 'systemKeyMonthlyTokens'" },
	{ WITH("\"systemKeyMonthlyTokens\":1000000000000001"), "provider 'p': 'systemKeyMonthlyTokens'" },
	{ WITH("\"systemKeyMonthlyTokens\":99999999999999999999"), "provider 'p': 'systemKeyMonthlyTokens'" },
	/* uniqueness */
	{ "{\"providers\":[{\"id\":\"a\"," GOOD_REST "},{\"id\":\"a\"," GOOD_REST "}]}",
	  "provider 'a' is listed twice" },
	{ "{\"providers\":[{\"id\":\"a\"," GOOD_REST "},{\"id\":\"b\"," GOOD_REST "},"
	  "{\"id\":\"a\"," GOOD_REST "}]}",
	  "provider 'a' is listed twice" },
	{ "{\"providers\":[{\"id\":\"a\",\"userKeyField\":\"k\"," GOOD_REST "},"
	  "{\"id\":\"b\",\"userKeyField\":\"k\"," GOOD_REST "}]}",
	  "providers 'a' and 'b' share userKeyField 'k'" },
	{ "{\"providers\":[{\"id\":\"my-llm\"," GOOD_REST "},{\"id\":\"my_llm\"," GOOD_REST "}]}",
	  "providers 'my-llm' and 'my_llm' would share MY_LLM_BASE_URL" },
	/* an error in a later entry names that entry */
	{ "{\"providers\":[{\"id\":\"a\"," GOOD_REST "},{\"id\":\"b\",\"name\":\"B\","
	  "\"wireStyle\":\"x\",\"baseUrl\":\"https://h\"}]}",
	  "provider 'b': 'wireStyle'" },
};

static void test_registry_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		struct registry reg = { .providers = (struct provider *)&reg, .count = 99 };
		char err[256] = "";

		if (registry_parse(&reg, c->json, strlen(c->json), err, sizeof(err)) != GK_ERR)
			fail_msg("case %zu accepted: %s", i, c->json);
		if (!strstr(err, c->err))
			fail_msg("case %zu: error '%s' does not contain '%s'", i, err, c->err);
		assert_null(reg.providers);
		assert_int_equal(reg.count, 0);
	}
}

/* Boundaries that are accepted. */
static void test_registry_accepts(void **state)
{
	static const char *const ok[] = {
		ENTRY("\"id\":\"abcdefghijklmnopqrstuvwxyz012345\"," GOOD_REST), /* 32 chars */
		ENTRY("\"id\":\"0\"," GOOD_REST),
		ENTRY("\"id\":\"a-b_c\"," GOOD_REST),
		WITH("\"envVar\":\"_X1\""),
		WITH("\"envVar\":null,\"userKeyField\":null,\"description\":null"),
		WITH("\"userKeyField\":\"a_1\""),
		WITH("\"models\":[]"),
		ENTRY("\"id\":\"p\",\"name\":\"N\",\"wireStyle\":\"anthropic\",\"baseUrl\":\"http://h\""),
		"  {\"providers\":[{\"id\":\"p\"," GOOD_REST "}]}\n",
		/* two providers may share an environment variable */
		"{\"providers\":[{\"id\":\"a\",\"envVar\":\"K\"," GOOD_REST "},"
		"{\"id\":\"b\",\"envVar\":\"K\"," GOOD_REST "}]}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct registry reg;
		char err[256] = "";

		if (registry_parse(&reg, ok[i], strlen(ok[i]), err, sizeof(err)) != GK_OK)
			fail_msg("case %zu refused: %s (%s)", i, err, ok[i]);
		registry_release(&reg);
	}
}

static long long allowance_of(const char *json, char *err, size_t errlen, int *rc)
{
	struct registry reg;
	long long n = -1;

	*rc = registry_parse(&reg, json, strlen(json), err, errlen);
	if (*rc == GK_OK) {
		n = reg.providers[0].system_key_allowance;
		registry_release(&reg);
	}
	return n;
}

/* systemKeyMonthlyTokens from the entry; <ID>_SYSTEM_KEY_MONTHLY_TOKENS,
 * when set and not empty, wins (0 turns it off); a malformed variable is
 * an error naming it. */
static void test_registry_allowance(void **state)
{
	static const char *const bad[] = { "-1",   "1.5", "1e6",
					   " 5",   "5 ",  "+5",
					   "0x10", "abc", "1000000000000001" };
	const char *with = ENTRY("\"id\":\"my-llm\",\"systemKeyMonthlyTokens\":100000," GOOD_REST);
	const char *without = ENTRY("\"id\":\"my-llm\"," GOOD_REST);
	char err[256] = "";
	int rc;

	(void)state;
	unsetenv("MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS");
	assert_true(allowance_of(with, err, sizeof(err), &rc) == 100000);
	assert_true(allowance_of(without, err, sizeof(err), &rc) == 0);
	assert_true(allowance_of(ENTRY("\"id\":\"p\",\"systemKeyMonthlyTokens\":null," GOOD_REST), err,
				 sizeof(err), &rc) == 0);
	assert_true(allowance_of(ENTRY("\"id\":\"p\",\"systemKeyMonthlyTokens\":1000000000000000," GOOD_REST),
				 err, sizeof(err), &rc) == REGISTRY_ALLOWANCE_MAX);
	assert_int_equal(setenv("MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS", "2500", 1), 0);
	assert_true(allowance_of(with, err, sizeof(err), &rc) == 2500);
	assert_true(allowance_of(without, err, sizeof(err), &rc) == 2500);
	assert_int_equal(setenv("MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS", "0", 1), 0);
	assert_true(allowance_of(with, err, sizeof(err), &rc) == 0);
	assert_int_equal(setenv("MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS", "", 1), 0); /* empty: unset */
	assert_true(allowance_of(with, err, sizeof(err), &rc) == 100000);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(setenv("MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS", bad[i], 1), 0);
		allowance_of(with, err, sizeof(err), &rc);
		if (rc != GK_ERR ||
		    !strstr(err, "provider 'my-llm': MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS must be a "
				 "whole number from 0 to 1000000000000000 (0: no allowance)"))
			fail_msg("'%s': rc %d, error '%s'", bad[i], rc, err);
	}
	unsetenv("MY_LLM_SYSTEM_KEY_MONTHLY_TOKENS");
}

/* A replacement file: read errors and parse errors name the file. */
static void test_registry_load_file(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], missing[PATH_MAX];
	char err[PATH_MAX + 256] = "";
	const char *one = "{\"providers\":[{\"id\":\"local\",\"name\":\"Local\","
			  "\"envVar\":\"LOCAL_KEY\",\"userKeyField\":\"localApiKey\","
			  "\"wireStyle\":\"openai\",\"baseUrl\":\"http://127.0.0.1:1\"}]}";
	struct registry reg;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "providers.json");
	unit_path(missing, dir, "missing.json");

	unit_write_file(path, one, strlen(one));
	if (registry_load(&reg, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(reg.count, 1);
	assert_string_equal(reg.providers[0].id, "local");
	assert_null(registry_find(&reg, "openai")); /* the file replaces the default */
	registry_release(&reg);

	assert_int_equal(registry_load(&reg, missing, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "unable to open"));
	assert_non_null(strstr(err, missing));

	unit_write_file(path, "{\"providers\":[]}", 16);
	assert_int_equal(registry_load(&reg, path, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "1 to 64"));

	/* a directory is not a registry */
	assert_int_equal(registry_load(&reg, dir, err, sizeof(err)), GK_ERR);

	unit_rmdir(dir);
}

/* The file size cap (1 MiB) holds. */
static void test_registry_file_too_large(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256] = "";
	size_t size = 1024 * 1024 + 1;
	char *big = unit_repeat(' ', size);
	struct registry reg;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "big.json");
	unit_write_file(path, big, size);
	assert_int_equal(registry_load(&reg, path, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "1 MiB"));
	free(big);
	unit_rmdir(dir);
}

/* Nesting past the tokener's depth is refused rather than recursed into. */
static void test_registry_depth(void **state)
{
	size_t depth = 100000;
	char *json = malloc(depth * 2 + 32);
	struct registry reg;
	char err[256];
	size_t n = 0;

	(void)state;
	assert_non_null(json);
	n += (size_t)sprintf(json, "{\"providers\":");
	memset(json + n, '[', depth);
	n += depth;
	memset(json + n, ']', depth);
	n += depth;
	json[n++] = '}';
	json[n] = '\0';
	assert_int_equal(registry_parse(&reg, json, n, err, sizeof(err)), GK_ERR);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_default),
		cmocka_unit_test(test_registry_file_matches_default),
		cmocka_unit_test(test_registry_find),
		cmocka_unit_test(test_wire_style_name),
		cmocka_unit_test(test_registry_base_url_override),
		cmocka_unit_test(test_registry_base_url_override_id_mapping),
		cmocka_unit_test(test_registry_minimal_entry),
		cmocka_unit_test(test_registry_provider_count),
		cmocka_unit_test(test_registry_errors),
		cmocka_unit_test(test_registry_accepts),
		cmocka_unit_test(test_registry_allowance),
		cmocka_unit_test(test_registry_load_file),
		cmocka_unit_test(test_registry_file_too_large),
		cmocka_unit_test(test_registry_depth),
	};

	return cmocka_run_group_tests_name("registry", tests, clear_overrides, NULL);
}
