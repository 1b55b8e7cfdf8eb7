/* expire_race: keystore_expire() and keystore_reject() against a real
 * Redis when another client stored a new key after the request read the
 * old one: the request's deletion of the expired key, or its flag of the
 * refused key, must not touch the new key.
 *
 *   GOFANNON_REDIS_URL=... expire_race USER
 *
 * The race a PUT and an expiring read run through nginx, made
 * deterministic: run by tests/integration/test_expiry.py, prints TAP. */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "config.h"
#include "keystore.h"
#include "status.h"

#define FIELD "openaiApiKey"
#define PAST "2020-01-01T00:00:00Z"

static struct registry reg;

/* The key stored for FIELD is want (NULL: none), with its marks as asked. */
static int stored_is(struct keystore *ks, const char *user, const char *want, int expired, int rejected)
{
	struct stored_key sk;
	struct arena arena;
	int ok;

	arena_init(&arena, 65536);
	ok = keystore_fetch(ks, &arena, user, &reg, &sk) == GK_OK &&
	     (want ? sk.sealed && strcmp(sk.sealed, want) == 0 : !sk.sealed) && !!sk.expired_at == expired &&
	     !!sk.rejected_at == rejected;
	if (!ok)
		printf("# stored: %s expiredAt %s rejectedAt %s\n", sk.sealed ? sk.sealed : "(none)",
		       sk.expired_at ? sk.expired_at : "-", sk.rejected_at ? sk.rejected_at : "-");
	arena_release(&arena);
	return ok;
}

static size_t entries(struct keystore *ks, const char *user)
{
	struct keystore_entry e[10];
	struct arena arena;
	size_t count = 99;

	arena_init(&arena, 65536);
	if (keystore_activity_read(ks, &arena, user, NULL, 10, e, &count) != GK_OK)
		count = 99;
	arena_release(&arena);
	return count;
}

static int report(int n, int ok, const char *what, int rc)
{
	printf("%s %d - %s (%d)\n", ok ? "ok" : "not ok", n, what, rc);
	return !ok;
}

int main(int argc, char **argv)
{
	static const char *const json =
		"{\"providers\":[{\"id\":\"openai\",\"name\":\"OpenAI\",\"userKeyField\":\"" FIELD
		"\",\"wireStyle\":\"openai\",\"baseUrl\":\"http://127.0.0.1\"}]}";
	struct keystore_event expired = {
		"2026-01-01T00:00:00Z", "expired", "openai", "user", "user", "", NULL, NULL
	};
	struct keystore_event rejected = {
		"2026-01-01T00:00:00Z", "rejected", "openai", "user", "user", "", NULL, "401"
	};
	struct keystore a, b;
	struct config cfg;
	char err[512];
	const char *user = argv[1];
	int rc, failed = 0;

	if (argc != 2 || config_load(&cfg, err, sizeof(err)) != GK_OK ||
	    registry_parse(&reg, json, strlen(json), err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "usage: GOFANNON_REDIS_URL=... expire_race USER\n");
		return 2;
	}
	keystore_init(&a, &cfg.redis, cfg.redis_prefix, cfg.redis_timeout_ms);
	keystore_init(&b, &cfg.redis, cfg.redis_prefix, cfg.redis_timeout_ms);
	printf("1..6\n");
	/* the request (a) read "old", expired; then another (b) stored "new" */
	rc = keystore_put(&b, user, FIELD, "old", "t0", PAST);
	failed |= report(1, rc == GK_OK && stored_is(&a, user, "old", 0, 0), "an expired key is stored", rc);
	rc = keystore_put(&b, user, FIELD, "new", "t1", NULL);
	failed |= report(2, rc == GK_OK, "a new key is put after the request read the old one", rc);
	rc = keystore_expire(&a, user, FIELD, "old", 3, &expired);
	failed |= report(3, rc == GK_CONFLICT && stored_is(&b, user, "new", 0, 0) && entries(&b, user) == 0,
			 "deleting the old key: conflict, the new key stays, no entry", rc);
	rc = keystore_reject(&a, user, FIELD, "old", 3, &rejected);
	failed |= report(4, rc == GK_CONFLICT && stored_is(&b, user, "new", 0, 0) && entries(&b, user) == 0,
			 "flagging the old key: conflict, the new key is not flagged", rc);
	rc = keystore_reject(&a, user, FIELD, "new", 3, &rejected);
	failed |= report(5, rc == GK_OK && stored_is(&b, user, "new", 0, 1) && entries(&b, user) == 1,
			 "flagging the key that is stored: flagged, one entry", rc);
	rc = keystore_expire(&a, user, FIELD, "new", 3, &expired);
	failed |= report(6, rc == GK_OK && stored_is(&b, user, NULL, 1, 0) && entries(&b, user) == 2,
			 "deleting the key that is stored: gone, expiredAt set, its entry", rc);
	keystore_release(&a);
	keystore_release(&b);
	registry_release(&reg);
	return failed ? 1 : 0;
}
