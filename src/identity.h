/* identity.h: who the user is, as nginx says.
 *
 * The identity comes only from the FastCGI parameter nginx sets from its own
 * authentication (REMOTE_USER by default), never from a client header. */
#ifndef GK_IDENTITY_H
#define GK_IDENTITY_H

#include <stddef.h>

#define IDENTITY_MAX 256

enum identity_result {
	IDENTITY_OK,
	IDENTITY_MISSING, /* 401: nginx authenticated no one */
	IDENTITY_INVALID, /* 400: a value no user id can have */
};

/* Checks the raw parameter value (may be NULL). On IDENTITY_INVALID *why is
 * a sentence that says what is wrong without quoting the value. */
enum identity_result identity_check(const char *user, const char **why);

/* Returns 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int utf8_valid(const char *s, size_t len);

#endif
