/* secret.h: a fixed buffer for one plaintext API key.
 *
 * The holder of a struct secret wipes it with secret_wipe() as soon as the
 * key is no longer needed; nothing else keeps a copy. Whoever writes value
 * sets len: the wipe covers the len bytes and the NUL (a request's keys
 * are tens of bytes; wiping all 4 KiB of each cost more than the rest of
 * the key path). */
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
	size_t used = secret->len < API_KEY_MAX ? secret->len + 1 : sizeof(secret->value);

	sodium_memzero(secret->value, used);
	secret->len = 0;
}

/* An empty secret, without touching the buffer: len 0 and "" */
static inline void secret_clear(struct secret *secret)
{
	secret->len = 0;
	secret->value[0] = '\0';
}

#endif
