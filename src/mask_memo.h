/* mask_memo.h: the masks of the sealed values this process has opened.
 *
 * Showing a stored key means opening it to mask it: a base64 decode and an
 * XChaCha20-Poly1305 decryption, some 9,000 instructions a key and the
 * largest part of GET /api/users/me/api-keys. A sealed value never
 * changes (saving a key again seals it anew, with a fresh nonce), so the
 * mask of one can be remembered, keyed by everything its opening depends
 * on: the user, the provider and the sealed text (its master key id
 * included). The keyring is the other input; whoever replaces it calls
 * mask_memo_clear().
 *
 * Only masks are kept, never a key. A direct-mapped table of
 * MASK_MEMO_SLOTS entries, one per process: a collision replaces the
 * entry, and nothing else ever removes one but a clear. */
#ifndef GK_MASK_MEMO_H
#define GK_MASK_MEMO_H

#include <stddef.h>

#include "mask.h"

#define MASK_MEMO_SLOTS 1024

/* Copies the remembered mask of the sealed value sealed[0..len) of user and
 * provider_id into mask and returns it; NULL when none is remembered. */
const char *mask_memo_find(const char *user, const char *provider_id, const char *sealed, size_t len,
			   char mask[MASK_MAX + 1]);

/* Remembers mask as the mask of that sealed value. Out of memory, it is
 * not remembered: the next request opens the value again. */
void mask_memo_keep(const char *user, const char *provider_id, const char *sealed, size_t len,
		    const char *mask);

/* Forgets every mask (a new keyring may not open what the old one did). */
void mask_memo_clear(void);

/* How many masks are remembered (for the tests). */
size_t mask_memo_count(void);

#endif
