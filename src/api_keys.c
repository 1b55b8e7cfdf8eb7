/* api_keys.c: the endpoints about the service, the caller and the caller's
 * keys: health, me, keys (GET, PUT, DELETE), effective, providers, usage.
 * Keys are opened and masked behind resolve.h; nothing here sees a key in
 * full but the one a PUT stores. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "activity.h"
#include "allowance.h"
#include "api_handlers.h"
#include "apikey.h"
#include "body.h"
#include "clock.h"
#include "keylife.h"
#include "log.h"
#include "mask.h"
#include "seal.h"
#include "status.h"
#include "usage.h"

/* {"openaiApiKey": "sk-...wxyz" | null, ...} in registry order. */
static int reply_key_masks(struct exchange *ex)
{
	const struct registry *reg = &ex->app->registry;
	struct stored_key *stored = exchange_fetch_keys(ex);
	char mask[MASK_MAX + 1];
	struct jsonw w;

	if (!stored)
		return GK_ERR;
	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	for (size_t i = 0; i < reg->count; i++) {
		const struct provider *p = &reg->providers[i];

		if (!p->user_key_field)
			continue;
		jsonw_key(&w, p->user_key_field);
		jsonw_string(&w, resolve_stored_mask(&ex->app->keyring, ex->user, p, &stored[i], mask));
	}
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}

int api_keys_health(struct exchange *ex)
{
	char buf[300];
	const char *master;
	struct jsonw w;

	if (keystore_ping(&ex->app->store) != GK_OK)
		return exchange_store_unavailable(ex);
	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "status");
	jsonw_string(&w, "ok");
	/* With sentinels: which server this worker found to be the master. */
	master = keystore_master(&ex->app->store, buf, sizeof(buf));
	if (master) {
		jsonw_key(&w, "redis");
		jsonw_object_begin(&w);
		jsonw_key(&w, "master");
		jsonw_string(&w, master);
		jsonw_object_end(&w);
	}
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}

int api_keys_me(struct exchange *ex)
{
	struct jsonw w;

	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "id");
	jsonw_string(&w, ex->user);
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}

int api_keys_get(struct exchange *ex)
{
	return reply_key_masks(ex);
}

/* The activity entry and log line of a change the user made to p's key. */
static void record_change(struct exchange *ex, const struct provider *p, const char *action)
{
	struct keystore_event ev = { NULL,   action, p->id,
				     "user", "user", activity_client(ex->req->remote_addr),
				     NULL,   NULL };

	activity_record(&ex->app->store, ex->user, &ev);
}

/* Stores key for p, expiring at expires_at ("" for never). replacing says
 * whether the read before found one stored (the entry says replaced). */
static int store_key(struct exchange *ex, const struct provider *p, const char *key, size_t len,
		     const char *expires_at, int replacing)
{
	char *sealed = arena_alloc(ex->req->arena, SEALED_MAX);
	char updated_at[CLOCK_ISO_LEN + 1];
	int rc;

	if (!sealed)
		return http_fail(ex->resp, 500, "Out of memory");
	if (seal_value(&ex->app->keyring, ex->user, p->id, key, len, sealed, SEALED_MAX) != GK_OK)
		return http_fail(ex->resp, 500, "Unable to seal the key");
	clock_format_iso(clock_now(), updated_at);
	rc = keystore_put(&ex->app->store, ex->user, p->user_key_field, sealed, updated_at,
			  *expires_at ? expires_at : NULL);
	if (rc != GK_OK)
		return exchange_store_failed(ex, rc, "Unable to store the key");
	record_change(ex, p, replacing ? "replaced" : "added");
	return GK_OK;
}

/* The provider and the key (apiKey, or Gofannon's api_key) of a PUT body;
 * a 422 naming the field when one is missing or not a string. */
static int put_body_fields(struct exchange *ex, struct json_object *root, const char **provider_id,
			   const char **value, size_t *value_len)
{
	char why[96];
	size_t provider_len;

	if (body_get_string(root, "provider", NULL, 1, provider_id, &provider_len, why, sizeof(why)) != GK_OK)
		return http_fail(ex->resp, 422, why);
	if (body_get_string(root, "apiKey", "api_key", 1, value, value_len, why, sizeof(why)) != GK_OK)
		return http_fail(ex->resp, 422, why);
	return GK_OK;
}

int api_keys_put(struct exchange *ex)
{
	struct json_object *root;
	const char *provider_id, *value, *key, *why;
	char expires_at[CLOCK_ISO_LEN + 1], detail[96];
	size_t value_len, key_len;
	const struct provider *p;
	struct stored_key *stored;
	int rc = GK_ERR;

	if (exchange_read_json(ex, 0, &root) != GK_OK)
		return GK_ERR;
	if (put_body_fields(ex, root, &provider_id, &value, &value_len) != GK_OK)
		goto out;
	p = registry_find(&ex->app->registry, provider_id);
	if (!p) {
		exchange_unknown_provider(ex, provider_id);
		goto out;
	}
	if (exchange_require_user_keys(ex, p) != GK_OK)
		goto out;
	if (apikey_normalize(value, value_len, &key, &key_len, &why) != GK_OK) {
		http_fail(ex->resp, 422, why);
		goto out;
	}
	if (keylife_parse_expiry(root, clock_now(), expires_at, detail, sizeof(detail)) != GK_OK) {
		http_fail(ex->resp, 422, detail);
		goto out;
	}
	/* Whether a key is there to replace (and an expired one goes first,
	 * so its entry comes before this one's). */
	stored = exchange_fetch_keys(ex);
	if (!stored)
		goto out;
	if (store_key(ex, p, key, key_len, expires_at,
		      stored[p - ex->app->registry.providers].sealed != NULL) != GK_OK)
		goto out;
	rc = reply_key_masks(ex);
out:
	body_free(root);
	return rc;
}

int api_keys_delete(struct exchange *ex)
{
	const struct provider *p = exchange_path_provider(ex);
	struct stored_key *stored;
	int rc;

	if (!p || exchange_require_user_keys(ex, p) != GK_OK)
		return GK_ERR;
	/* Whether there is a key to remove: the trail records only a change. */
	stored = exchange_fetch_keys(ex);
	if (!stored)
		return GK_ERR;
	rc = keystore_delete(&ex->app->store, ex->user, p->user_key_field);
	if (rc != GK_OK)
		return exchange_store_failed(ex, rc, "Unable to delete the key");
	if (stored[p - ex->app->registry.providers].sealed)
		record_change(ex, p, "removed");
	return reply_key_masks(ex);
}

int api_keys_effective(struct exchange *ex)
{
	const struct provider *p = exchange_path_provider(ex);
	struct stored_key *stored;
	struct key_status eff;
	struct jsonw w;

	if (!p || !(stored = exchange_fetch_keys(ex)))
		return GK_ERR;
	resolve_key_status(&ex->app->keyring, &ex->app->envkeys, ex->user, p,
			   &stored[p - ex->app->registry.providers], &eff);
	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "provider");
	jsonw_string(&w, p->id);
	jsonw_key(&w, "hasKey");
	jsonw_bool(&w, eff.has_key);
	/* Gofannon's own front end and backend spell it has_key. */
	jsonw_key(&w, "has_key");
	jsonw_bool(&w, eff.has_key);
	jsonw_key(&w, "source");
	jsonw_string(&w, key_source_name(eff.source));
	if (eff.error) {
		jsonw_key(&w, "error");
		jsonw_string(&w, eff.error);
	}
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}

/* A stored key's expiry, last use and rejection, and whether one expired
 * (deleted on a read since, keylife.h) and nothing replaced it. */
static void write_key_life(struct jsonw *w, const struct stored_key *sk)
{
	time_t now = clock_now();
	int expired = !sk->sealed && sk->expired_at;

	jsonw_key(w, "expiresAt");
	jsonw_string(w, sk->sealed ? sk->expires_at : NULL);
	jsonw_key(w, "expiresSoon");
	jsonw_bool(w, sk->sealed && keylife_expires_soon(sk->expires_at, now));
	jsonw_key(w, "expired");
	jsonw_bool(w, expired);
	jsonw_key(w, "expiredAt");
	jsonw_string(w, expired ? sk->expired_at : NULL);
	jsonw_key(w, "lastUsedAt");
	jsonw_string(w, sk->sealed ? sk->last_used_at : NULL);
	jsonw_key(w, "rejected");
	jsonw_bool(w, sk->sealed && sk->rejected_at);
	jsonw_key(w, "rejectedAt");
	jsonw_string(w, sk->sealed ? sk->rejected_at : NULL);
}

/* The userKey member of a provider's status; eff was resolved from sk, so
 * the stored key is opened (or its mask found) once per provider. */
static void write_user_key_status(struct jsonw *w, const struct provider *p, const struct stored_key *sk,
				  const struct key_status *eff)
{
	if (!p->user_key_field) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_key(w, "configured");
	jsonw_bool(w, sk->sealed != NULL);
	jsonw_key(w, "masked");
	jsonw_string(w, eff->masked);
	jsonw_key(w, "updatedAt");
	jsonw_string(w, sk->updated_at);
	write_key_life(w, sk);
	if (eff->error) {
		jsonw_key(w, "error");
		jsonw_string(w, eff->error);
	}
	jsonw_object_end(w);
}

/* systemKey: null without an allowance, else {"allowance","used",
 * "remaining","resetsAt"} of this month. */
static void write_system_key_status(struct jsonw *w, const struct allowance *a)
{
	char resets_at[CLOCK_ISO_LEN + 1];

	if (a->allowance == 0) {
		jsonw_null(w);
		return;
	}
	clock_format_iso(a->resets_at, resets_at);
	jsonw_object_begin(w);
	jsonw_key(w, "allowance");
	jsonw_int(w, a->allowance);
	jsonw_key(w, "used");
	jsonw_int(w, a->used);
	jsonw_key(w, "remaining");
	jsonw_int(w, a->remaining);
	jsonw_key(w, "resetsAt");
	jsonw_string(w, resets_at);
	jsonw_object_end(w);
}

/* The members of a provider's status that only the registry decides. */
static void write_status_head(struct jsonw *w, const struct provider *p)
{
	jsonw_key(w, "id");
	jsonw_string(w, p->id);
	jsonw_key(w, "name");
	jsonw_string(w, p->name);
	jsonw_key(w, "description");
	jsonw_string(w, p->description);
	jsonw_key(w, "envVar");
	jsonw_string(w, p->env_var);
	jsonw_key(w, "userKeys");
	jsonw_bool(w, p->user_key_field != NULL);
	/* The PUT body's and GET /api/keys's name for the key, so the page
	 * never derives it. */
	jsonw_key(w, "userKeyField");
	jsonw_string(w, p->user_key_field);
}

/* Those members of every provider, written once per registry
 * (registry.serial) instead of escaped anew on every request: most of the
 * bytes of /api/providers. text[i] NULL: written the long way. */
static struct {
	unsigned long serial;
	char *text[REGISTRY_MAX_PROVIDERS];
	size_t len[REGISTRY_MAX_PROVIDERS];
} status_heads;

#define STATUS_HEAD_MAX (64 * 1024)

static void status_heads_build(const struct registry *reg)
{
	struct arena arena;

	for (size_t i = 0; i < REGISTRY_MAX_PROVIDERS; i++) {
		free(status_heads.text[i]);
		status_heads.text[i] = NULL;
	}
	status_heads.serial = reg->serial;
	arena_init(&arena, 2 * STATUS_HEAD_MAX);
	for (size_t i = 0; i < reg->count; i++) {
		const char *members;
		struct jsonw w;
		size_t len;

		jsonw_init(&w, &arena, STATUS_HEAD_MAX);
		jsonw_object_begin(&w);
		write_status_head(&w, &reg->providers[i]);
		jsonw_object_end(&w);
		members = jsonw_members_of(&w, &len);
		if (members && (status_heads.text[i] = malloc(len))) {
			memcpy(status_heads.text[i], members, len);
			status_heads.len[i] = len;
		}
		arena_release(&arena);
	}
}

static void put_status_head(struct jsonw *w, const struct registry *reg, const struct provider *p)
{
	size_t i = (size_t)(p - reg->providers);

	if (reg->serial == 0) { /* built by hand: nothing is kept */
		write_status_head(w, p);
		return;
	}
	if (status_heads.serial != reg->serial)
		status_heads_build(reg);
	if (status_heads.text[i])
		jsonw_members(w, status_heads.text[i], status_heads.len[i]);
	else
		write_status_head(w, p);
}

static void write_provider_status(struct exchange *ex, struct jsonw *w, const struct provider *p,
				  const struct stored_key *sk, const struct allowance *a)
{
	struct key_status eff;
	int spent;

	resolve_key_status(&ex->app->keyring, &ex->app->envkeys, ex->user, p, sk, &eff);
	/* the system key would be used, and the user has spent its allowance */
	spent = eff.has_key && eff.source == SOURCE_ENV && a->spent;
	jsonw_object_begin(w);
	put_status_head(w, &ex->app->registry, p);
	jsonw_key(w, "userKey");
	write_user_key_status(w, p, sk, &eff);
	jsonw_key(w, "envKey");
	jsonw_bool(w, envkeys_of(&ex->app->envkeys, p) != NULL);
	jsonw_key(w, "available");
	jsonw_bool(w, eff.has_key && !spent);
	jsonw_key(w, "source");
	jsonw_string(w, key_source_name(eff.source));
	/* Verify costs money where the provider has no free authenticated call. */
	jsonw_key(w, "verifyBilled");
	jsonw_bool(w, registry_verify_billed(p));
	jsonw_key(w, "systemKey");
	write_system_key_status(w, a);
	/* why available is false when a key exists: only the allowance */
	jsonw_key(w, "reason");
	if (spent)
		jsonw_string(w, "allowance");
	else
		jsonw_null(w);
	jsonw_object_end(w);
}

int api_keys_providers(struct exchange *ex)
{
	const struct registry *reg = &ex->app->registry;
	struct stored_key *stored = exchange_fetch_keys(ex);
	struct allowance *allow;
	struct jsonw w;
	int rc;

	if (!stored)
		return GK_ERR;
	allow = arena_alloc(ex->req->arena, (reg->count ? reg->count : 1) * sizeof(*allow));
	if (!allow)
		return http_fail(ex->resp, 500, "Out of memory");
	/* a second round trip only when some provider has an allowance */
	rc = allowance_get_all(&ex->app->store, ex->user, reg, clock_now(), allow);
	if (rc != GK_OK)
		return exchange_store_failed(ex, rc, "Unable to read usage");
	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "providers");
	jsonw_array_begin(&w);
	for (size_t i = 0; i < reg->count; i++)
		write_provider_status(ex, &w, &reg->providers[i], &stored[i], &allow[i]);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}

int api_keys_usage(struct exchange *ex)
{
	char month[USAGE_MONTH_LEN + 1];
	struct jsonw w;
	int rc;

	usage_month(clock_now(), month);
	exchange_writer(ex, &w);
	rc = usage_get(&ex->app->store, ex->user, month, &ex->app->registry, &w);
	if (rc != GK_OK)
		return exchange_store_failed(ex, rc, "Unable to read usage");
	return exchange_reply(ex, &w);
}
