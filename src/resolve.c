#include "resolve.h"

#include <string.h>

void resolve_effective_key(const struct keyring *ring, const struct envkeys *env, const char *user,
			   const struct provider *provider, const struct stored_key *stored,
			   struct effective_key *out)
{
	const char *system_key;

	out->source = SOURCE_NONE;
	out->has_key = 0;
	out->error = NULL;
	secret_clear(&out->key);
	if (provider->user_key_field && stored && stored->sealed) {
		enum open_result result = open_value(ring, user, provider->id, stored->sealed,
						     stored->sealed_len, &out->key);

		out->source = SOURCE_USER;
		out->has_key = result == OPEN_OK;
		if (result != OPEN_OK)
			out->error = open_result_detail(result);
		return;
	}
	system_key = envkeys_of(env, provider);
	if (system_key && strlen(system_key) <= API_KEY_MAX) {
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
