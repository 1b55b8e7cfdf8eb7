/* rewrite_race: keystore_rewrite() against a real Redis while another
 * client writes the same hash between the rewrite's read and its write.
 *
 *   GOFANNON_REDIS_URL=... rewrite_race USER
 *
 * The first rewrite must answer GK_CONFLICT and leave the other client's
 * value in place; the second, with nobody interfering, must write. This is
 * the guarantee `gofannon-keys rekey` gives a concurrent PUT, made
 * deterministic: run by tests/integration/test_operations.py, prints TAP. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "keystore.h"
#include "status.h"

#define FIELD "openaiApiKey"

struct race {
	struct keystore *other;
	const char *user;
	int calls;
};

/* keystore_rewrite_fn: on the first call, another client writes first. */
static const char *interfere(void *ctx, struct arena *arena, const char *field, const char *value, size_t len)
{
	struct race *race = ctx;

	(void)arena;
	(void)value;
	(void)len;
	if (strcmp(field, FIELD) != 0)
		return NULL;
	if (race->calls++ == 0 &&
	    keystore_put(race->other, race->user, FIELD, "written-meanwhile", "t1", NULL) != GK_OK)
		return NULL;
	return "rewritten";
}

static int stored_is(struct keystore *ks, const char *user, const char *want)
{
	static const char *const json =
		"{\"providers\":[{\"id\":\"openai\",\"name\":\"OpenAI\",\"userKeyField\":\"" FIELD
		"\",\"wireStyle\":\"openai\",\"baseUrl\":\"http://127.0.0.1\"}]}";
	struct registry reg;
	struct stored_key sk;
	struct arena arena;
	char err[256];
	int ok;

	if (registry_parse(&reg, json, strlen(json), err, sizeof(err)) != GK_OK) {
		printf("# registry: %s\n", err);
		return 0;
	}
	arena_init(&arena, 65536);
	ok = keystore_fetch(ks, &arena, user, &reg, &sk) == GK_OK && sk.sealed &&
	     strcmp(sk.sealed, want) == 0;
	if (!ok)
		printf("# stored: %s, expected %s\n", sk.sealed ? sk.sealed : "(none)", want);
	arena_release(&arena);
	registry_release(&reg);
	return ok;
}

int main(int argc, char **argv)
{
	struct keystore a, b;
	struct config cfg;
	struct arena arena;
	struct race race;
	char err[512];
	int rc, failed = 0;

	if (argc != 2 || config_load(&cfg, err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "usage: GOFANNON_REDIS_URL=... rewrite_race USER\n");
		return 2;
	}
	keystore_init(&a, &cfg.redis, cfg.redis_prefix, cfg.redis_timeout_ms);
	keystore_init(&b, &cfg.redis, cfg.redis_prefix, cfg.redis_timeout_ms);
	race.other = &b;
	race.user = argv[1];
	race.calls = 0;
	printf("1..4\n");
	rc = keystore_put(&b, argv[1], FIELD, "before", "t0", NULL);
	printf("%s 1 - a value to rewrite\n", rc == GK_OK ? "ok" : "not ok");
	failed |= rc != GK_OK;

	arena_init(&arena, 65536);
	rc = keystore_rewrite(&a, &arena, argv[1], interfere, &race);
	arena_release(&arena);
	failed |= rc != GK_CONFLICT || !stored_is(&b, argv[1], "written-meanwhile");
	printf("%s 2 - a write between read and write: conflict (%d), the other write kept\n",
	       rc == GK_CONFLICT && !failed ? "ok" : "not ok", rc);

	arena_init(&arena, 65536);
	rc = keystore_rewrite(&a, &arena, argv[1], interfere, &race);
	arena_release(&arena);
	printf("%s 3 - read again: written (%d)\n", rc == GK_OK ? "ok" : "not ok", rc);
	failed |= rc != GK_OK;
	printf("%s 4 - the rewritten value is stored\n",
	       stored_is(&b, argv[1], "rewritten") ? "ok" : "not ok");
	failed |= !stored_is(&b, argv[1], "rewritten");

	keystore_release(&a);
	keystore_release(&b);
	return failed ? 1 : 0;
}
