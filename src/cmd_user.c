/* cmd_user.c: gofannon-keys user and gofannon-keys revoke (cmd_user.h). */
#include "cmd_user.h"

#include <stdio.h>
#include <string.h>

#include "activity.h"
#include "app.h"
#include "clock.h"
#include "config.h"
#include "identity.h"
#include "keylife.h"
#include "log.h"
#include "resolve.h"
#include "status.h"

#define CMD_ARENA_MAX (1024 * 1024)
#define MARK_SHOWN LOG_ESCAPE_SIZE(CLOCK_ISO_LEN) /* a time whole; anything longer is cut */

/* The user id as the service would take it from nginx. */
static int check_user(const char *user)
{
	const char *why = "User identity is empty";

	if (identity_check(user, &why) == IDENTITY_OK)
		return GK_OK;
	fprintf(stderr, "gofannon-keys: %s\n", why);
	return GK_ERR;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* What the row of a key says beyond its times. */
static const char *key_state(const struct stored_key *sk, const char *mask, time_t now)
{
	if (!sk->sealed)
		return sk->expired_at ? "expired" : "-";
	if (!mask)
		return "unreadable";
	if (keylife_expired(sk->expires_at, now))
		return "expired";
	if (sk->rejected_at)
		return "rejected";
	return keylife_expires_soon(sk->expires_at, now) ? "expires-soon" : "ok";
}

/* A mark escaped as in a log line, "-" when absent: it comes from Redis,
 * where any writer may have put terminal escapes or a line break. */
static const char *mark_text(const char *mark, char *out, unsigned len)
{
	if (!mark || !*mark)
		return "-";
	log_escape(mark, out, len);
	return out;
}

static void print_keys(const struct app *app, const char *user, const struct stored_key *stored)
{
	char mask[MASK_MAX + 1], updated[MARK_SHOWN], used[MARK_SHOWN], expires[MARK_SHOWN];
	time_t now = clock_now();

	printf("%-12s %-14s %-13s %-21s %-21s %s\n", "provider", "key", "state", "updated", "last used",
	       "expires");
	for (size_t i = 0; i < app->registry.count; i++) {
		const struct provider *p = &app->registry.providers[i];
		const struct stored_key *sk = &stored[i];
		const char *m;

		if (!p->user_key_field)
			continue;
		m = resolve_stored_mask(&app->keyring, user, p, sk, mask);
		printf("%-12s %-14s %-13s %-21s %-21s %s\n", p->id, or_dash(m), key_state(sk, m, now),
		       mark_text(sk->updated_at, updated, sizeof(updated)),
		       mark_text(sk->last_used_at, used, sizeof(used)),
		       mark_text(sk->sealed ? sk->expires_at : sk->expired_at, expires, sizeof(expires)));
	}
}

/* One activity entry, its values escaped as in a log line: they come
 * from Redis, and a client address is whatever nginx passed. */
static void print_entry(const struct keystore_entry *e)
{
	char value[LOG_ESCAPE_SIZE(ACTIVITY_CLIENT_MAX)];

	printf("%s", e->id);
	for (int f = 0; f < KEYSTORE_EVENT_FIELDS; f++) {
		if (!e->value[f])
			continue;
		log_escape(e->value[f], value, sizeof(value));
		printf(" %s=%s", keystore_event_names[f], *value ? value : "-");
	}
	printf("\n");
}

static int show_user(struct app *app, struct arena *arena, const char *user)
{
	struct stored_key *stored = arena_alloc(arena, app->registry.count * sizeof(*stored));
	struct keystore_entry entries[CMD_USER_ACTIVITY];
	char name[LOG_ESCAPE_SIZE(IDENTITY_MAX)];
	size_t count;

	if (!stored)
		return GK_NOMEM;
	if (keystore_fetch(&app->store, arena, user, &app->registry, stored) != GK_OK ||
	    keystore_activity_read(&app->store, arena, user, NULL, CMD_USER_ACTIVITY, entries, &count) !=
		    GK_OK)
		return GK_UNAVAILABLE;
	log_escape(user, name, sizeof(name));
	printf("user %s\n\n", name);
	print_keys(app, user, stored);
	printf("\nactivity, newest first (last %d):\n", CMD_USER_ACTIVITY);
	if (count == 0)
		printf("(none)\n");
	for (size_t i = 0; i < count; i++)
		print_entry(&entries[i]);
	return GK_OK;
}

int cmd_user(int argc, char **argv)
{
	struct config config;
	struct arena arena;
	struct app app;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: gofannon-keys user USER\n");
		return 2;
	}
	if (check_user(argv[1]) != GK_OK)
		return 2;
	if (app_load_for_command(&config, &app) != GK_OK)
		return 1;
	arena_init(&arena, CMD_ARENA_MAX);
	rc = show_user(&app, &arena, argv[1]);
	arena_release(&arena);
	app_release(&app);
	if (rc != GK_OK)
		fprintf(stderr, "gofannon-keys: the key store did not answer; nothing was read\n");
	return rc == GK_OK ? 0 : 1;
}

/* The provider whose key revoke deletes, or NULL after saying why. */
static const struct provider *revoke_provider(const struct app *app, const char *id)
{
	const struct provider *p = registry_find(&app->registry, id);

	if (!p)
		fprintf(stderr, "gofannon-keys: unknown provider '%.*s'\n", PROVIDER_ID_MAX, id);
	else if (!p->user_key_field)
		fprintf(stderr, "gofannon-keys: provider %s takes no user keys\n", p->id);
	else
		return p;
	return NULL;
}

/* Deletes the key and records it; GK_CONFLICT when none was stored. */
static int revoke_key(struct app *app, struct arena *arena, const char *user, const struct provider *p)
{
	struct stored_key *stored = arena_alloc(arena, app->registry.count * sizeof(*stored));
	struct keystore_event ev = { NULL, "revoked", p->id, "user", "operator", "", NULL, NULL };
	int rc;

	if (!stored)
		return GK_NOMEM;
	if (keystore_fetch(&app->store, arena, user, &app->registry, stored) != GK_OK)
		return GK_UNAVAILABLE;
	if (!stored[p - app->registry.providers].sealed)
		return GK_CONFLICT;
	rc = keystore_delete(&app->store, user, p->user_key_field);
	if (rc != GK_OK && rc != GK_UNCERTAIN)
		return rc;
	activity_record(&app->store, user, &ev);
	return rc;
}

/* One sentence for the operator. */
static void report_revoke(int rc, const char *user, const struct provider *p)
{
	char name[LOG_ESCAPE_SIZE(IDENTITY_MAX)];

	log_escape(user, name, sizeof(name));
	if (rc == GK_CONFLICT)
		printf("revoke: user %s has no %s key stored; nothing to revoke\n", name, p->id);
	else if (rc == GK_OK)
		printf("revoke: deleted the %s key of user %s\n", p->id, name);
	else if (rc == GK_UNCERTAIN)
		printf("revoke: deleted the %s key of user %s, but fewer replicas than "
		       "GOFANNON_REDIS_MIN_REPLICAS confirmed it: run it again\n",
		       p->id, name);
	else
		fprintf(stderr, "gofannon-keys: the key store did not answer; run revoke again\n");
}

int cmd_revoke(int argc, char **argv)
{
	const struct provider *p;
	struct config config;
	struct arena arena;
	struct app app;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: gofannon-keys revoke USER PROVIDER\n");
		return 2;
	}
	if (check_user(argv[1]) != GK_OK)
		return 2;
	if (app_load_for_command(&config, &app) != GK_OK)
		return 1;
	p = revoke_provider(&app, argv[2]);
	if (!p) {
		app_release(&app);
		return 2;
	}
	arena_init(&arena, CMD_ARENA_MAX);
	rc = revoke_key(&app, &arena, argv[1], p);
	arena_release(&arena);
	report_revoke(rc, argv[1], p);
	app_release(&app);
	return rc == GK_OK || rc == GK_CONFLICT ? 0 : 1;
}
