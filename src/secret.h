/* secret.h: a fixed buffer for one plaintext API key.
 *
 * The holder of a struct secret wipes it with secret_wipe() as soon as the
 * key is no longer needed; nothing else keeps a copy. */
#ifndef GK_SECRET_H
#define GK_SECRET_H

#include <sodium.h>
#include <stddef.h>

#define API_KEY_MAX 4096

struct secret {
	size_t len;
	char value[API_KEY_MAX + 1]; /* NUL-terminated */
};

static inline void secret_wipe(struct secret *secret)
{
	sodium_memzero(secret, sizeof(*secret));
}

#endif
