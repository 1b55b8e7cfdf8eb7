#include "jwks.h"

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "buf.h"
#include "error.h"
#include "status.h"

/* A modulus of 16384 bits is the largest anyone issues. */
#define RSA_N_MAX 2048
#define RSA_E_MAX 8
#define P256_COORD 32

int b64url_decode(const char *in, size_t in_len, unsigned char *out, size_t cap, size_t *len)
{
	/* sodium refuses padding, characters outside the alphabet, impossible
	 * lengths, non-zero trailing bits and output beyond cap. */
	if (sodium_base642bin(out, cap, in, in_len, NULL, len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return GK_ERR;
	return GK_OK;
}

/* A base64url member of a JWK, decoded into out. */
static int jwk_bytes(struct json_object *jwk, const char *name, unsigned char *out, size_t cap, size_t *len)
{
	struct json_object *member;
	const char *s;

	if (!json_object_object_get_ex(jwk, name, &member) || !json_object_is_type(member, json_type_string))
		return GK_ERR;
	s = json_object_get_string(member);
	return b64url_decode(s, (size_t)json_object_get_string_len(member), out, cap, len);
}

static const char *jwk_string(struct json_object *jwk, const char *name)
{
	struct json_object *member;

	if (!json_object_object_get_ex(jwk, name, &member) || !json_object_is_type(member, json_type_string))
		return NULL;
	return json_object_get_string(member);
}

/* Builds a public key of type ("RSA" or "EC") from OSSL_PARAMs. */
static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_from_jwk(struct json_object *jwk, const char **why)
{
	unsigned char n[RSA_N_MAX], e[RSA_E_MAX];
	size_t n_len, e_len;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (jwk_bytes(jwk, "n", n, sizeof(n), &n_len) != GK_OK || n_len == 0) {
		*why = "'n' is missing or not base64url";
		return NULL;
	}
	if (jwk_bytes(jwk, "e", e, sizeof(e), &e_len) != GK_OK || e_len == 0) {
		*why = "'e' is missing or not base64url";
		return NULL;
	}
	*why = "OpenSSL refused the RSA key";
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	if (BN_num_bits(bn_n) < JWKS_RSA_BITS_MIN) {
		*why = "the RSA modulus is shorter than " GK_STR(JWKS_RSA_BITS_MIN) " bits";
		goto out;
	}
	pkey = pkey_from_params("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

/* A P-256 point from x and y; OpenSSL checks that it is on the curve. */
static EVP_PKEY *ec_from_jwk(struct json_object *jwk, const char **why)
{
	unsigned char point[1 + 2 * P256_COORD];
	size_t x_len, y_len;
	const char *crv = jwk_string(jwk, "crv");
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *check = NULL;

	if (!crv || strcmp(crv, "P-256") != 0) {
		*why = "only the P-256 curve is supported";
		return NULL;
	}
	point[0] = 0x04; /* uncompressed */
	if (jwk_bytes(jwk, "x", point + 1, P256_COORD, &x_len) != GK_OK || x_len != P256_COORD ||
	    jwk_bytes(jwk, "y", point + 1 + P256_COORD, P256_COORD, &y_len) != GK_OK || y_len != P256_COORD) {
		*why = "'x' and 'y' must be 32 bytes of base64url each";
		return NULL;
	}
	*why = "OpenSSL refused the EC key (not a point on P-256?)";
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto out;
	pkey = pkey_from_params("EC", bld);
	/* fromdata does not promise a point check; ask for one explicitly. */
	check = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
	if (pkey && (!check || EVP_PKEY_public_check(check) != 1)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static int kid_ok(const char *kid, size_t len)
{
	return len > 0 && len <= JWKS_KID_MAX && !memchr(kid, '\0', len);
}

static int add_key(struct jwks *set, const char *kid, enum jwks_type type, EVP_PKEY *pkey, char *err,
		   size_t errlen)
{
	struct jwks_key *key;

	if (jwks_find(set, kid)) {
		EVP_PKEY_free(pkey);
		return set_error(err, errlen, "key id '%.60s' appears twice", kid);
	}
	if (set->count == JWKS_KEYS_MAX) {
		EVP_PKEY_free(pkey);
		return set_error(err, errlen, "more than %d keys", JWKS_KEYS_MAX);
	}
	key = &set->keys[set->count++];
	snprintf(key->kid, sizeof(key->kid), "%s", kid);
	key->type = type;
	key->pkey = pkey;
	return GK_OK;
}

/* One member of a JWKS "keys" array: added, skipped (not a signing key we
 * support), or GK_ERR. */
static int parse_jwk(struct jwks *set, struct json_object *jwk, size_t index, char *err, size_t errlen)
{
	struct json_object *kid_obj;
	const char *kty, *use, *kid, *why = "";
	enum jwks_type type;
	EVP_PKEY *pkey;

	if (!json_object_is_type(jwk, json_type_object))
		return set_error(err, errlen, "key %zu is not a JSON object", index + 1);
	kty = jwk_string(jwk, "kty");
	use = jwk_string(jwk, "use");
	if (!kty)
		return set_error(err, errlen, "key %zu has no 'kty'", index + 1);
	if ((use && strcmp(use, "sig") != 0) || (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0))
		return GK_OK;
	if (!json_object_object_get_ex(jwk, "kid", &kid_obj) ||
	    !json_object_is_type(kid_obj, json_type_string) ||
	    !kid_ok(json_object_get_string(kid_obj), (size_t)json_object_get_string_len(kid_obj)))
		return set_error(err, errlen, "key %zu has no usable 'kid' (a string of 1 to %d bytes)",
				 index + 1, JWKS_KID_MAX);
	kid = json_object_get_string(kid_obj);
	type = strcmp(kty, "RSA") == 0 ? JWKS_RSA : JWKS_EC;
	pkey = type == JWKS_RSA ? rsa_from_jwk(jwk, &why) : ec_from_jwk(jwk, &why);
	if (!pkey)
		return set_error(err, errlen, "key '%.60s': %s", kid, why);
	return add_key(set, kid, type, pkey, err, errlen);
}

static int parse_jwks_keys(struct jwks *set, struct json_object *keys, char *err, size_t errlen)
{
	size_t n;

	if (!json_object_is_type(keys, json_type_array))
		return set_error(err, errlen, "'keys' must be an array");
	n = json_object_array_length(keys);
	for (size_t i = 0; i < n; i++)
		if (parse_jwk(set, json_object_array_get_idx(keys, i), i, err, errlen) != GK_OK)
			return GK_ERR;
	return GK_OK;
}

/* The public key of one PEM certificate (Firebase's format). Only the key is
 * used: Google rotates these by publishing a new file, and the certificate's
 * own validity dates are not part of verifying an ID token. */
static EVP_PKEY *cert_key(const char *pem, size_t len, enum jwks_type *type)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pkey = cert ? X509_get_pubkey(cert) : NULL;

	X509_free(cert);
	BIO_free(bio);
	if (!pkey)
		return NULL;
	if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) >= JWKS_RSA_BITS_MIN) {
		*type = JWKS_RSA;
		return pkey;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[32];
		size_t glen;

		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
						   &glen) &&
		    strcmp(group, "prime256v1") == 0) {
			*type = JWKS_EC;
			return pkey;
		}
	}
	EVP_PKEY_free(pkey);
	return NULL;
}

static int parse_cert_map(struct jwks *set, struct json_object *root, char *err, size_t errlen)
{
	json_object_object_foreach(root, kid, value)
	{
		enum jwks_type type;
		EVP_PKEY *pkey;

		if (!kid_ok(kid, strlen(kid)))
			return set_error(err, errlen, "a key id is empty or longer than %d bytes",
					 JWKS_KID_MAX);
		if (!json_object_is_type(value, json_type_string))
			return set_error(err, errlen, "key '%.60s' is not a PEM certificate string", kid);
		pkey = cert_key(json_object_get_string(value), (size_t)json_object_get_string_len(value),
				&type);
		if (!pkey)
			return set_error(err, errlen,
					 "key '%.60s' is not a PEM certificate with an RSA (" GK_STR(
						 JWKS_RSA_BITS_MIN) " bits or more) "
								    "or P-256 key",
					 kid);
		if (add_key(set, kid, type, pkey, err, errlen) != GK_OK)
			return GK_ERR;
	}
	return GK_OK;
}

int jwks_parse(struct jwks *set, const char *text, size_t len, char *err, size_t errlen)
{
	struct json_object *root = NULL, *keys;
	const char *why;
	int rc;

	memset(set, 0, sizeof(*set));
	if (len > JWKS_FILE_MAX)
		return set_error(err, errlen, "larger than %d bytes", JWKS_FILE_MAX);
	if (body_parse_object(text, len, &root, &why) != GK_OK)
		return set_error(err, errlen, "not a JSON object");
	set->keys = calloc(JWKS_KEYS_MAX, sizeof(*set->keys));
	if (!set->keys) {
		json_object_put(root);
		return set_error(err, errlen, "out of memory");
	}
	if (json_object_object_get_ex(root, "keys", &keys))
		rc = parse_jwks_keys(set, keys, err, errlen);
	else
		rc = parse_cert_map(set, root, err, errlen);
	json_object_put(root);
	if (rc == GK_OK && set->count == 0)
		rc = set_error(err, errlen, "no RS256 or ES256 signing key in it");
	if (rc != GK_OK)
		jwks_release(set);
	return rc;
}

int jwks_load(struct jwks *set, const char *path, struct stat *st, char *err, size_t errlen)
{
	struct buf file;
	int rc;

	memset(set, 0, sizeof(*set));
	buf_init(&file, JWKS_FILE_MAX);
	rc = buf_read_file(&file, path, st, err, errlen);
	if (rc == GK_OK) {
		rc = jwks_parse(set, file.data, file.len, err, errlen);
		if (rc != GK_OK)
			error_prefix(err, errlen, "'%s': ", path);
	}
	buf_release(&file);
	return rc;
}

void jwks_release(struct jwks *set)
{
	for (size_t i = 0; i < set->count; i++)
		EVP_PKEY_free(set->keys[i].pkey);
	free(set->keys);
	set->keys = NULL;
	set->count = 0;
}

const struct jwks_key *jwks_find(const struct jwks *set, const char *kid)
{
	for (size_t i = 0; i < set->count; i++)
		if (strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}
