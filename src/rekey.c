#include "rekey.h"

#include <string.h>

#include "identity.h"
#include "log.h"
#include "seal.h"
#include "status.h"

#define REKEY_ARENA_MAX (4 * 1024 * 1024)

/* What one attempt at one hash found; added to the report only when the
 * attempt's write went through, so a retried hash is not counted twice. */
struct hash_tally {
	const struct app *app;
	const char *user;
	unsigned long resealed, current, unreadable, unknown;
};

static const struct provider *provider_of_field(const struct registry *reg, const char *field)
{
	for (size_t i = 0; i < reg->count; i++)
		if (reg->providers[i].user_key_field && strcmp(reg->providers[i].user_key_field, field) == 0)
			return &reg->providers[i];
	return NULL;
}

static void log_unreadable(const struct hash_tally *t, const char *field, const char *why)
{
	char user[LOG_ESCAPE_SIZE(IDENTITY_MAX)], name[80];

	log_escape(t->user, user, sizeof(user));
	log_escape(field, name, sizeof(name));
	log_event(LOG_WARN, "rekey_value_left", "user=\"%s\" field=\"%s\" reason=\"%s\"", user, name, why);
}

/* keystore_rewrite_fn: the value sealed again under the current master
 * key, or NULL to leave the field as it is. */
static const char *reseal(void *ctx, struct arena *arena, const char *field, const char *value, size_t len)
{
	struct hash_tally *t = ctx;
	const struct keyring *ring = &t->app->keyring;
	const struct master_key *now = keyring_current(ring);
	const struct provider *p;
	struct secret plain;
	enum open_result result;
	const char *kid;
	size_t kid_len;
	char *out;

	p = provider_of_field(&t->app->registry, field);
	if (!p) {
		t->unknown++;
		log_unreadable(t, field, "provider not in the registry");
		return NULL;
	}
	if (sealed_kid(value, len, &kid, &kid_len) == GK_OK && kid_len == strlen(now->kid) &&
	    memcmp(kid, now->kid, kid_len) == 0) {
		t->current++;
		return NULL;
	}
	result = open_value(ring, t->user, p->id, value, len, &plain);
	if (result != OPEN_OK) {
		t->unreadable++;
		log_unreadable(t, field, open_result_detail(result));
		return NULL;
	}
	out = arena_alloc(arena, SEALED_MAX);
	if (!out || seal_value(ring, t->user, p->id, plain.value, plain.len, out, SEALED_MAX) != GK_OK) {
		secret_wipe(&plain);
		t->unreadable++;
		log_unreadable(t, field, "unable to seal it again");
		return NULL;
	}
	secret_wipe(&plain);
	t->resealed++;
	return out;
}

static const char *failure_reason(int rc)
{
	if (rc == GK_CONFLICT)
		return "kept_changing";
	if (rc == GK_UNCERTAIN)
		return "write_unconfirmed";
	return rc == GK_NOMEM ? "too_large" : "key_store_unavailable";
}

static void add_tally(struct rekey_report *r, const struct hash_tally *t)
{
	r->resealed += t->resealed;
	r->current += t->current;
	r->unreadable += t->unreadable;
	r->unknown += t->unknown;
}

/* Rewrites one user's hash, reading it again while other clients keep
 * writing to it. */
static int rekey_user(struct app *app, const char *user, struct rekey_report *report)
{
	struct arena arena;
	struct hash_tally t;
	int rc = GK_CONFLICT;

	for (int attempt = 0; attempt < REKEY_ATTEMPTS && rc == GK_CONFLICT; attempt++) {
		memset(&t, 0, sizeof(t));
		t.app = app;
		t.user = user;
		arena_init(&arena, REKEY_ARENA_MAX);
		rc = keystore_rewrite(&app->store, &arena, user, reseal, &t);
		arena_release(&arena);
		if (rc == GK_CONFLICT)
			report->retries++;
	}
	if (rc == GK_OK) {
		add_tally(report, &t);
	} else {
		char name[LOG_ESCAPE_SIZE(IDENTITY_MAX)];

		log_escape(user, name, sizeof(name));
		log_event(LOG_ERROR, "rekey_user_failed", "user=\"%s\" reason=%s", name, failure_reason(rc));
		report->failed++;
	}
	return rc;
}

int rekey_all(struct app *app, struct rekey_report *report)
{
	char cursor[KEYSTORE_CURSOR_MAX] = "0";
	struct arena arena;
	int rc;

	memset(report, 0, sizeof(*report));
	if (!keyring_current(&app->keyring))
		return GK_ERR;
	do {
		const char **users;
		size_t count;

		arena_init(&arena, REKEY_ARENA_MAX);
		rc = keystore_scan_users(&app->store, &arena, cursor, &users, &count);
		for (size_t i = 0; rc == GK_OK && i < count; i++) {
			int urc;

			report->hashes++;
			urc = rekey_user(app, users[i], report);
			/* Redis gone, or a failover under way: stop here; a
			 * second run takes up what this one left. */
			if (urc == GK_UNAVAILABLE || urc == GK_UNCERTAIN)
				rc = GK_UNAVAILABLE;
		}
		arena_release(&arena);
	} while (rc == GK_OK && strcmp(cursor, "0") != 0);
	if (rc == GK_OK && report->failed)
		rc = GK_ERR;
	return rc;
}
