/* seal.h: API keys at rest.
 *
 * A stored value is "v1.<kid>.<base64url(nonce || ciphertext)>", sealed with
 * XChaCha20-Poly1305 under the master key <kid>, a fresh random nonce per
 * write, and associated data binding the user id and the provider id: a
 * value copied to another user's hash, or to another provider's field, fails
 * to open. Parsing of stored values is untrusted input: fuzzed. */
#ifndef GK_SEAL_H
#define GK_SEAL_H

#include <stddef.h>

#include "keyring.h"
#include "secret.h"

/* Big enough for a sealed API_KEY_MAX key. */
#define SEALED_MAX 6000

enum open_result {
	OPEN_OK,
	OPEN_MALFORMED,	  /* not a v1 value */
	OPEN_UNKNOWN_KID, /* its master key is not in the keyring */
	OPEN_FAILED,	  /* tampered, or bound to another user or provider */
};

/* Seals plain[0..len) into out (NUL-terminated). Returns GK_OK or GK_ERR. */
int seal_value(const struct keyring *ring, const char *user, const char *provider_id, const char *plain,
	       size_t len, char *out, size_t outlen);

/* Opens sealed[0..len) into *out, which the caller wipes. */
enum open_result open_value(const struct keyring *ring, const char *user, const char *provider_id,
			    const char *sealed, size_t len, struct secret *out);

/* The kid of a sealed value, without opening it; GK_ERR when malformed. */
int sealed_kid(const char *sealed, size_t len, const char **kid, size_t *kid_len);

const char *open_result_detail(enum open_result result);

/* Decodes base64url without padding (the part after "v1.<kid>.") into
 * out[0..cap). Returns GK_OK with *out_len set, or GK_ERR when it is not
 * exactly such text or does not fit (exposed for tests). */
int seal_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len);

#endif
