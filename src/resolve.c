#include "resolve.h"

#include <string.h>

#include "log.h"
#include "mask_memo.h"

/* The provider's system-wide key when it is set and not too long. */
static const char *usable_system_key(const struct envkeys *env, const struct provider *provider)
{
	const char *key = envkeys_of(env, provider);

	return key && strlen(key) <= API_KEY_MAX ? key : NULL;
}

static int has_stored_key(const struct provider *provider, const struct stored_key *stored)
{
	return provider->user_key_field && stored && stored->sealed;
}

void resolve_effective_key(const struct keyring *ring, const struct envkeys *env, const char *user,
			   const struct provider *provider, const struct stored_key *stored,
			   struct effective_key *out)
{
	const char *system_key;

	out->source = SOURCE_NONE;
	out->has_key = 0;
	out->error = NULL;
	secret_clear(&out->key);
	if (has_stored_key(provider, stored)) {
		enum open_result result = open_value(ring, user, provider->id, stored->sealed,
						     stored->sealed_len, &out->key);

		out->source = SOURCE_USER;
		out->has_key = result == OPEN_OK;
		if (result != OPEN_OK)
			out->error = open_result_detail(result);
		return;
	}
	system_key = usable_system_key(env, provider);
	if (system_key) {
		out->source = SOURCE_ENV;
		out->has_key = 1;
		out->key.len = strlen(system_key);
		memcpy(out->key.value, system_key, out->key.len + 1);
	}
}

void effective_key_wipe(struct effective_key *key)
{
	secret_wipe(&key->key);
}

const char *key_source_name(enum key_source source)
{
	switch (source) {
	case SOURCE_USER:
		return "user";
	case SOURCE_ENV:
		return "env";
	case SOURCE_NONE:
		break;
	}
	return NULL;
}

/* Masks the stored key into mask: the remembered mask of its sealed
 * value, else the key opened, masked and wiped (and the mask remembered). */
static enum open_result stored_mask(const struct keyring *ring, const char *user,
				    const struct provider *provider, const struct stored_key *stored,
				    char mask[MASK_MAX + 1])
{
	struct secret plain;
	enum open_result result;

	if (mask_memo_find(user, provider->id, stored->sealed, stored->sealed_len, mask))
		return OPEN_OK;
	result = open_value(ring, user, provider->id, stored->sealed, stored->sealed_len, &plain);
	if (result != OPEN_OK)
		return result;
	mask_key(plain.value, plain.len, mask);
	secret_wipe(&plain);
	mask_memo_keep(user, provider->id, stored->sealed, stored->sealed_len, mask);
	return OPEN_OK;
}

const char *resolve_stored_mask(const struct keyring *ring, const char *user, const struct provider *provider,
				const struct stored_key *stored, char mask[MASK_MAX + 1])
{
	enum open_result result;

	if (!stored->sealed)
		return NULL;
	result = stored_mask(ring, user, provider, stored, mask);
	if (result != OPEN_OK) {
		log_event(LOG_WARN, "stored_key_unreadable", "provider=%s reason=%d", provider->id,
			  (int)result);
		return NULL;
	}
	return mask;
}

void resolve_key_status(const struct keyring *ring, const struct envkeys *env, const char *user,
			const struct provider *provider, const struct stored_key *stored,
			struct key_status *out)
{
	memset(out, 0, sizeof(*out));
	if (has_stored_key(provider, stored)) {
		enum open_result result = stored_mask(ring, user, provider, stored, out->mask);

		out->source = SOURCE_USER;
		out->has_key = result == OPEN_OK;
		if (out->has_key)
			out->masked = out->mask;
		else
			out->error = open_result_detail(result);
		return;
	}
	if (usable_system_key(env, provider)) {
		out->source = SOURCE_ENV;
		out->has_key = 1;
	}
}
