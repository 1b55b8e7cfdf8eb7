/* jwt.h: bearer ID tokens (OIDC, Firebase), verified before they name a user.
 *
 * A token is a JWS in compact form, HEADER.PAYLOAD.SIGNATURE, each part
 * unpadded base64url (RFC 7515, 7519). It is accepted only when all of these
 * hold, and refused with a reason otherwise:
 *   - shorter than 8 KiB, three well-formed base64url parts;
 *   - header and payload are JSON objects with no member twice (json-c
 *     would silently keep the last of two "sub"s), header without "crit";
 *   - alg is RS256 or ES256 (never none, never HMAC), kid names a key of
 *     the matching type in the keys file, and the signature verifies (OpenSSL
 *     EVP; an ES256 signature is r||s and converted to DER for it);
 *   - iss equals the configured issuer; aud equals the configured audience
 *     or is an array holding it;
 *   - exp and iat are numbers, nbf a number when present; with 60 s of
 *     leeway for clock skew: now < exp, nbf <= now, iat <= now;
 *   - the user claim (default sub) is a non-empty string without NUL.
 * Reasons are short literals safe to log; nothing here logs, and nothing
 * quotes the token. No libfcgi: unit-tested and fuzzed alone. */
#ifndef GK_JWT_H
#define GK_JWT_H

#include <stddef.h>
#include <time.h>

#include "jwks.h"

#define JWT_TOKEN_MAX (8 * 1024 - 1) /* a token of 8 KiB or more is refused */
#define JWT_LEEWAY_S 60
#define JWT_USER_MAX 1024 /* a longer user claim is refused outright */

struct json_object;

struct jwt_policy {
	const char *issuer;
	const char *audience;
	const char *user_claim;
};

/* A token split and decoded, not yet trusted. */
struct jwt {
	struct json_object *header;
	struct json_object *payload;
	const char *alg;	   /* "RS256" or "ES256", points into header */
	const char *kid;	   /* points into header */
	const char *signing_input; /* HEADER.PAYLOAD, points into the token */
	size_t signing_len;
	unsigned char *signature; /* malloc'd */
	size_t signature_len;
};

/* Splits and decodes token[0..len) and checks the header (alg, kid, crit).
 * Returns GK_OK (release with jwt_release), or GK_ERR with *reason set. */
int jwt_decode(struct jwt *jwt, const char *token, size_t len, const char **reason);
/* Finds the key by kid and verifies the signature. */
int jwt_check_signature(const struct jwt *jwt, const struct jwks *keys, const char **reason);
/* Checks iss, aud, exp, nbf, iat at time now and copies the user claim into
 * user (size cap, at most JWT_USER_MAX + 1 needed). */
int jwt_check_claims(const struct jwt *jwt, const struct jwt_policy *policy, time_t now, char *user,
		     size_t cap, const char **reason);
void jwt_release(struct jwt *jwt);

/* Finds the token in an Authorization header value: the scheme "Bearer"
 * (any case), spaces, then the token. Returns 1 with token/len set, or 0
 * when there is none: no header, another scheme, nothing after it, or
 * "Bearer null", which is what Gofannon's front end sends in session mode. */
int jwt_bearer(const char *authorization, const char **token, size_t *len);

/* All of the above in order: decode, signature, claims. */
int jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_policy *policy,
	       time_t now, char *user, size_t cap, const char **reason);

#endif
