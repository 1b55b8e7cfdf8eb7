/* resolve.h: which key a request for a provider uses (get_effective_api_key).
 *
 * The user's stored key when there is one; else the provider's system-wide
 * key when it is non-empty; else none. A stored key that does not open is
 * reported as such and the system key is NOT used in its place: a user's
 * choice is never silently overridden. */
#ifndef GK_RESOLVE_H
#define GK_RESOLVE_H

#include "envkeys.h"
#include "keyring.h"
#include "keystore.h"
#include "mask.h"
#include "registry.h"
#include "seal.h"
#include "secret.h"

enum key_source {
	SOURCE_NONE,
	SOURCE_USER,
	SOURCE_ENV
};

struct effective_key {
	enum key_source source;
	int has_key;
	const char *error; /* set when the user's stored key does not open */
	struct secret key; /* the key when has_key; wipe with effective_key_wipe */
};

void resolve_effective_key(const struct keyring *ring, const struct envkeys *env, const char *user,
			   const struct provider *provider, const struct stored_key *stored,
			   struct effective_key *out);
void effective_key_wipe(struct effective_key *key);

/* The mask of the user's stored key into mask, or NULL when none is stored
 * or it does not open (logged; GET /api/keys shows it as null, and
 * .../effective says why). The opened key is wiped before this returns;
 * the mask is remembered (mask_memo.h), so the same sealed value is opened
 * once per process. */
const char *resolve_stored_mask(const struct keyring *ring, const char *user, const struct provider *provider,
				const struct stored_key *stored, char mask[MASK_MAX + 1]);

/* What resolve_effective_key decides, without the key: its source,
 * whether there is one, why a stored one does not open, and the mask of
 * the user's own key (masked NULL for a system key: never shown, not even
 * masked). For the replies that show a key's state (/api/providers,
 * .../effective): no key is held, and a remembered mask spares the
 * opening (mask_memo.h). */
struct key_status {
	enum key_source source;
	int has_key;
	const char *error;
	const char *masked; /* points into mask (do not copy the struct), or NULL */
	char mask[MASK_MAX + 1];
};

void resolve_key_status(const struct keyring *ring, const struct envkeys *env, const char *user,
			const struct provider *provider, const struct stored_key *stored,
			struct key_status *out);

/* "user", "env", or NULL for none. */
const char *key_source_name(enum key_source source);

#endif
