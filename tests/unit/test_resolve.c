/* test_resolve.c: which key a request uses (the user's, then the system's,
 * never the system's in place of an unreadable user key), and the masks
 * resolve gives the handlers. */
#include "unit.h"

#include <sodium.h>

#include "keyring.h"
#include "mask_memo.h"
#include "resolve.h"
#include "seal.h"
#include "status.h"

#define KEY0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define USER_KEY "sk-proj-user1234abcd"
#define ENV_KEY "sk-proj-system5678wxyz"

struct fixture {
	struct keyring ring;
	struct envkey items[1];
	struct envkeys env;
	struct provider openai;
	char sealed[SEALED_MAX];
	struct stored_key stored;
};

static void setup(struct fixture *f, int with_env)
{
	char err[256] = "";
	const char ring[] = "cur:" KEY0 "\n";

	memset(f, 0, sizeof(*f));
	if (keyring_parse(&f->ring, ring, strlen(ring), err, sizeof(err)) != GK_OK)
		fail_msg("keyring: %s", err);
	f->items[0] = (struct envkey){ .name = "OPENAI_API_KEY", .value = with_env ? ENV_KEY : NULL };
	f->env = (struct envkeys){ .items = f->items, .count = 1 };
	f->openai = (struct provider){ .id = "openai",
				       .name = "OpenAI",
				       .env_var = "OPENAI_API_KEY",
				       .user_key_field = "openaiApiKey" };
}

static void store(struct fixture *f, const char *user, const char *key)
{
	assert_int_equal(seal_value(&f->ring, user, "openai", key, strlen(key), f->sealed, SEALED_MAX),
			 GK_OK);
	f->stored = (struct stored_key){ .sealed = f->sealed, .sealed_len = strlen(f->sealed) };
}

static void test_the_user_key_comes_before_the_system_key(void **state)
{
	struct fixture f;
	struct effective_key eff;
	struct key_status status;

	(void)state;
	setup(&f, 1);
	resolve_effective_key(&f.ring, &f.env, "alice", &f.openai, &f.stored, &eff);
	assert_int_equal(eff.source, SOURCE_ENV);
	assert_string_equal(eff.key.value, ENV_KEY);
	effective_key_wipe(&eff);
	/* the status decides the same, and a system key is never shown */
	resolve_key_status(&f.ring, &f.env, "alice", &f.openai, &f.stored, &status);
	assert_int_equal(status.source, SOURCE_ENV);
	assert_true(status.has_key);
	assert_null(status.masked);

	store(&f, "alice", USER_KEY);
	resolve_effective_key(&f.ring, &f.env, "alice", &f.openai, &f.stored, &eff);
	assert_int_equal(eff.source, SOURCE_USER);
	assert_true(eff.has_key);
	assert_string_equal(eff.key.value, USER_KEY);
	effective_key_wipe(&eff);
	resolve_key_status(&f.ring, &f.env, "alice", &f.openai, &f.stored, &status);
	assert_int_equal(status.source, SOURCE_USER);
	assert_true(status.has_key);
	assert_null(status.error);
	assert_string_equal(status.masked, "sk-...abcd");
	keyring_release(&f.ring);
}

static void test_an_unreadable_user_key_is_not_replaced(void **state)
{
	struct fixture f;
	struct effective_key eff;
	struct key_status status;
	char mask[MASK_MAX + 1];

	(void)state;
	setup(&f, 1);
	store(&f, "bob", USER_KEY); /* sealed for another user: it does not open for alice */
	resolve_effective_key(&f.ring, &f.env, "alice", &f.openai, &f.stored, &eff);
	assert_int_equal(eff.source, SOURCE_USER);
	assert_false(eff.has_key);
	assert_non_null(eff.error);
	assert_null(resolve_stored_mask(&f.ring, "alice", &f.openai, &f.stored, mask));
	resolve_key_status(&f.ring, &f.env, "alice", &f.openai, &f.stored, &status);
	assert_int_equal(status.source, SOURCE_USER);
	assert_false(status.has_key);
	assert_string_equal(status.error, eff.error);
	assert_null(status.masked);
	effective_key_wipe(&eff);
	keyring_release(&f.ring);
}

static void test_the_stored_mask(void **state)
{
	struct fixture f;
	char mask[MASK_MAX + 1];

	(void)state;
	setup(&f, 0);
	assert_null(resolve_stored_mask(&f.ring, "alice", &f.openai, &f.stored, mask));
	store(&f, "alice", USER_KEY);
	assert_string_equal(resolve_stored_mask(&f.ring, "alice", &f.openai, &f.stored, mask), "sk-...abcd");
	keyring_release(&f.ring);
}

/* The mask of a sealed value is opened once, then remembered; the memory
 * never answers for another user, nor after the keyring is cleared. */
static void test_the_stored_mask_is_opened_once(void **state)
{
	struct fixture f;
	struct keyring other;
	char mask[MASK_MAX + 1], err[256] = "";
	const char ring[] = "new:" KEY0 "\n";

	(void)state;
	setup(&f, 0);
	mask_memo_clear();
	store(&f, "alice", USER_KEY);
	assert_string_equal(resolve_stored_mask(&f.ring, "alice", &f.openai, &f.stored, mask), "sk-...abcd");
	assert_int_equal(mask_memo_count(), 1);
	/* the sealed text names master key "cur": a keyring without it still
	 * gets the remembered mask, until whoever replaced the keyring clears */
	assert_int_equal(keyring_parse(&other, ring, strlen(ring), err, sizeof(err)), GK_OK);
	assert_string_equal(resolve_stored_mask(&other, "alice", &f.openai, &f.stored, mask), "sk-...abcd");
	assert_null(resolve_stored_mask(&other, "bob", &f.openai, &f.stored, mask));
	mask_memo_clear();
	assert_null(resolve_stored_mask(&other, "alice", &f.openai, &f.stored, mask));
	assert_int_equal(mask_memo_count(), 0);
	keyring_release(&other);
	keyring_release(&f.ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_user_key_comes_before_the_system_key),
		cmocka_unit_test(test_an_unreadable_user_key_is_not_replaced),
		cmocka_unit_test(test_the_stored_mask),
		cmocka_unit_test(test_the_stored_mask_is_opened_once),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
