/* apikey.h: what a user may store as an API key.
 *
 * Untrusted input from the request body; no dependency on libfcgi or Redis. */
#ifndef GK_APIKEY_H
#define GK_APIKEY_H

#include <stddef.h>

/* Trims surrounding whitespace from value[0..len) and checks what is left:
 * 1 to API_KEY_MAX characters of printable ASCII without spaces (the key
 * travels in an HTTP header) and no "..." (a mask pasted back).
 * On success returns GK_OK with *start and *trimmed_len set to the key inside
 * value. On failure returns GK_ERR and sets *why to a sentence for the user;
 * the sentence never quotes the value. */
int apikey_normalize(const char *value, size_t len, const char **start, size_t *trimmed_len,
		     const char **why);

#endif
