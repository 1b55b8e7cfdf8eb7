/* test_resolve.c: which key a request uses. The user's stored key first,
 * then the system-wide key from the environment; a stored key that does
 * not open is reported, and the system key is not used in its place. */
#include "unit.h"

#include <sodium.h>

#include "envkeys.h"
#include "keyring.h"
#include "registry.h"
#include "resolve.h"
#include "seal.h"
#include "status.h"

#define KEY0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define USER_KEY "sk-user-0123456789abcdef"
#define ENV_KEY "sk-env-fedcba9876543210"

struct fixture {
	struct registry reg;
	struct keyring ring;
	struct envkeys env;
	const struct provider *openai;
	char sealed[SEALED_MAX];
	struct stored_key stored;
};

/* The default registry and one master key; OPENAI_API_KEY is env_key
 * (unset when NULL); the stored key is USER_KEY sealed for "alice". */
static void fixture_init(struct fixture *f, const char *env_key)
{
	char err[256] = "";
	const char *ring_text = "k1:" KEY0 "\n";

	memset(f, 0, sizeof(*f));
	if (registry_load(&f->reg, NULL, err, sizeof(err)) != GK_OK)
		fail_msg("registry: %s", err);
	f->openai = registry_find(&f->reg, "openai");
	assert_non_null(f->openai);
	assert_string_equal(f->openai->env_var, "OPENAI_API_KEY");
	if (keyring_parse(&f->ring, ring_text, strlen(ring_text), err, sizeof(err)) != GK_OK)
		fail_msg("keyring: %s", err);
	if (env_key)
		assert_int_equal(setenv("OPENAI_API_KEY", env_key, 1), 0);
	else
		assert_int_equal(unsetenv("OPENAI_API_KEY"), 0);
	if (envkeys_load(&f->env, &f->reg, NULL, err, sizeof(err)) != GK_OK)
		fail_msg("envkeys: %s", err);
	assert_int_equal(
		seal_value(&f->ring, "alice", "openai", USER_KEY, strlen(USER_KEY), f->sealed, SEALED_MAX),
		GK_OK);
	f->stored.sealed = f->sealed;
	f->stored.sealed_len = strlen(f->sealed);
}

static void fixture_release(struct fixture *f)
{
	envkeys_release(&f->env);
	keyring_release(&f->ring);
	registry_release(&f->reg);
	unsetenv("OPENAI_API_KEY");
}

/* A stored key wins over the system key. */
static void test_resolve_user_before_env(void **state)
{
	struct fixture f;
	struct effective_key key;

	(void)state;
	fixture_init(&f, ENV_KEY);
	resolve_effective_key(&f.ring, &f.env, "alice", f.openai, &f.stored, &key);
	assert_int_equal(key.source, SOURCE_USER);
	assert_true(key.has_key);
	assert_null(key.error);
	assert_string_equal(key.key.value, USER_KEY);
	assert_int_equal(key.key.len, strlen(USER_KEY));
	assert_string_equal(key_source_name(key.source), "user");
	effective_key_wipe(&key);
	fixture_release(&f);
}

/* No stored key: the system key, whole. */
static void test_resolve_env_when_no_user_key(void **state)
{
	struct fixture f;
	struct effective_key key;
	struct stored_key none = { 0 };

	(void)state;
	fixture_init(&f, ENV_KEY);
	resolve_effective_key(&f.ring, &f.env, "alice", f.openai, NULL, &key);
	assert_int_equal(key.source, SOURCE_ENV);
	assert_true(key.has_key);
	assert_string_equal(key.key.value, ENV_KEY);
	assert_string_equal(key_source_name(key.source), "env");
	effective_key_wipe(&key);
	/* a lookup that found no field is the same as none */
	resolve_effective_key(&f.ring, &f.env, "alice", f.openai, &none, &key);
	assert_int_equal(key.source, SOURCE_ENV);
	assert_string_equal(key.key.value, ENV_KEY);
	effective_key_wipe(&key);
	fixture_release(&f);
}

/* A stored key that does not open (sealed for another user here) is an
 * error of its own: the system key is not used in its place. */
static void test_resolve_unreadable_user_key_not_replaced(void **state)
{
	struct fixture f;
	struct effective_key key;

	(void)state;
	fixture_init(&f, ENV_KEY);
	resolve_effective_key(&f.ring, &f.env, "mallory", f.openai, &f.stored, &key);
	assert_int_equal(key.source, SOURCE_USER);
	assert_false(key.has_key);
	assert_non_null(key.error);
	assert_null(strstr(key.key.value, ENV_KEY));
	effective_key_wipe(&key);
	/* and bytes that are no sealed value at all */
	f.stored.sealed = "v1.k1.garbage";
	f.stored.sealed_len = strlen(f.stored.sealed);
	resolve_effective_key(&f.ring, &f.env, "alice", f.openai, &f.stored, &key);
	assert_int_equal(key.source, SOURCE_USER);
	assert_false(key.has_key);
	assert_non_null(key.error);
	effective_key_wipe(&key);
	fixture_release(&f);
}

/* Neither: no key, no source, no error. An empty variable is no key. */
static void test_resolve_none(void **state)
{
	const char *envs[] = { NULL, "" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(envs); i++) {
		struct fixture f;
		struct effective_key key;

		fixture_init(&f, envs[i]);
		resolve_effective_key(&f.ring, &f.env, "alice", f.openai, NULL, &key);
		assert_int_equal(key.source, SOURCE_NONE);
		assert_false(key.has_key);
		assert_null(key.error);
		assert_null(key_source_name(key.source));
		effective_key_wipe(&key);
		fixture_release(&f);
	}
}

/* keyring_parse() keeps the keys in sodium's guarded memory */
static int init_sodium(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_user_before_env),
		cmocka_unit_test(test_resolve_env_when_no_user_key),
		cmocka_unit_test(test_resolve_unreadable_user_key_not_replaced),
		cmocka_unit_test(test_resolve_none),
	};

	return cmocka_run_group_tests(tests, init_sodium, NULL);
}
