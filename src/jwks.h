/* jwks.h: the public keys bearer ID tokens are verified with.
 *
 * GOFANNON_JWT_KEYS_FILE holds either a JSON Web Key Set (RFC 7517),
 *   {"keys": [{"kty": "RSA", "kid", "n", "e"}, {"kty": "EC", "crv": "P-256", "kid", "x", "y"}]}
 * or the JSON Google publishes for Firebase ID tokens, one PEM certificate
 * per key id:
 *   {"KID": "-----BEGIN CERTIFICATE-----\n..."}
 * Keys become OpenSSL EVP_PKEYs; nothing here does cryptography by hand.
 * Keys a JWKS marks for another use ("use" other than "sig"), or of another
 * type (oct, OKP, another curve), are skipped; a file with no usable key, a
 * key id used twice, or a malformed usable key is refused as a whole. No
 * libfcgi: the parser is unit-tested and fuzzed alone. */
#ifndef GK_JWKS_H
#define GK_JWKS_H

#include <stddef.h>
#include <sys/stat.h>

#define JWKS_FILE_MAX (256 * 1024)
#define JWKS_KEYS_MAX 64
#define JWKS_KID_MAX 256
/* RSA keys shorter than this are refused: RS256 with less is breakable. */
#define JWKS_RSA_BITS_MIN 2048

struct evp_pkey_st;

enum jwks_type {
	JWKS_RSA, /* verifies RS256 */
	JWKS_EC,  /* P-256, verifies ES256 */
};

struct jwks_key {
	char kid[JWKS_KID_MAX + 1];
	enum jwks_type type;
	struct evp_pkey_st *pkey;
};

struct jwks {
	struct jwks_key *keys; /* malloc'd */
	size_t count;
};

/* Parses the text of a keys file. Returns GK_OK, or GK_ERR with err saying
 * what is wrong (naming the key by kid or position). */
int jwks_parse(struct jwks *set, const char *text, size_t len, char *err, size_t errlen);
/* Reads and parses the file at path; st (may be NULL) receives the fstat of
 * the file that was read, so a caller can tell later whether it changed. */
int jwks_load(struct jwks *set, const char *path, struct stat *st, char *err, size_t errlen);
void jwks_release(struct jwks *set);

/* The key with this kid, or NULL. */
const struct jwks_key *jwks_find(const struct jwks *set, const char *kid);

/* Decodes unpadded base64url (RFC 7515 section 2) into out (size cap).
 * Returns GK_OK with *len set, or GK_ERR for any character outside the
 * alphabet, padding, a length no encoding has, non-zero trailing bits, or
 * an output longer than cap. */
int b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t cap, size_t *len);

#endif
