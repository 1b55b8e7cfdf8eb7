/* mask.h: the only form in which a stored key is ever shown. */
#ifndef GK_MASK_H
#define GK_MASK_H

#include <stddef.h>

/* "sk-" + "..." + "wxyz" + NUL */
#define MASK_MAX 11
#define MASK_MIN_KEY_LEN 12

/* Writes the display form of key[0..len) into out: its first 3 characters,
 * "...", and its last 4; a key shorter than MASK_MIN_KEY_LEN becomes "****",
 * so a short key reveals nothing. */
void mask_key(const char *key, size_t len, char out[MASK_MAX + 1]);

#endif
