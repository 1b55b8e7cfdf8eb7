/* fuzz_jwks.c: the keys file (GOFANNON_JWT_KEYS_FILE), a JWKS or Google's
 * {kid: PEM certificate} JSON. The contract: a refusal says why and leaves
 * no keys; a loaded set has 1 to JWKS_KEYS_MAX keys, each with a kid that
 * finds it and an OpenSSL key of the type it claims. */
#include "fuzz.h"

#include <openssl/evp.h>

#include "jwks.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_copy(data, size);
	char err[256] = "";
	struct jwks set;

	if (jwks_parse(&set, text, size, err, sizeof(err)) != GK_OK) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(set.keys == NULL && set.count == 0);
	} else {
		FUZZ_CHECK(set.count >= 1 && set.count <= JWKS_KEYS_MAX);
		for (size_t i = 0; i < set.count; i++) {
			const struct jwks_key *key = &set.keys[i];

			FUZZ_CHECK(key->kid[0] != '\0' && jwks_find(&set, key->kid) == key);
			FUZZ_CHECK(key->pkey != NULL);
			FUZZ_CHECK(EVP_PKEY_is_a(key->pkey, key->type == JWKS_RSA ? "RSA" : "EC"));
		}
		jwks_release(&set);
	}
	free(text);
	return 0;
}
