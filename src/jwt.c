#include "jwt.h"

#include <json-c/json.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body.h"
#include "status.h"

#define ES256_SIG_LEN 64

static int refuse(const char **reason, const char *why)
{
	*reason = why;
	return GK_ERR;
}

/* The members of the root object of text, counted as the colons at depth
 * one outside strings. text is strict JSON already, so that is exact; a
 * smaller count from json-c means a member was given twice. */
static size_t count_members(const char *text, size_t len)
{
	size_t depth = 0, members = 0;
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		else if (c == ':' && depth == 1)
			members++;
	}
	return members;
}

/* One base64url part holding a JSON object with each member once. */
static int decode_object(const char *part, size_t len, struct json_object **obj, const char *not_object,
			 const char **reason)
{
	unsigned char *text = malloc(len + 1);
	size_t text_len;
	const char *why;
	int rc = GK_ERR;

	*obj = NULL;
	if (!text)
		return refuse(reason, "out_of_memory");
	if (len == 0 || b64url_decode(part, len, text, len, &text_len) != GK_OK) {
		refuse(reason, "bad_base64url");
		goto out;
	}
	if (body_parse_object((const char *)text, text_len, obj, &why) != GK_OK) {
		refuse(reason, not_object);
		goto out;
	}
	if ((size_t)json_object_object_length(*obj) != count_members((const char *)text, text_len)) {
		json_object_put(*obj);
		*obj = NULL;
		refuse(reason, "duplicate_member");
		goto out;
	}
	rc = GK_OK;
out:
	free(text);
	return rc;
}

/* A string member without NUL characters, or NULL. */
static const char *member_string(struct json_object *obj, const char *name)
{
	struct json_object *m;
	const char *s;

	if (!json_object_object_get_ex(obj, name, &m) || !json_object_is_type(m, json_type_string))
		return NULL;
	s = json_object_get_string(m);
	return strlen(s) == (size_t)json_object_get_string_len(m) ? s : NULL;
}

static int check_header(struct jwt *jwt, const char **reason)
{
	struct json_object *unused;

	jwt->alg = member_string(jwt->header, "alg");
	if (!jwt->alg || (strcmp(jwt->alg, "RS256") != 0 && strcmp(jwt->alg, "ES256") != 0))
		return refuse(reason, "alg_not_allowed");
	/* Extensions the sender marks critical must be understood; none are. */
	if (json_object_object_get_ex(jwt->header, "crit", &unused))
		return refuse(reason, "crit_not_supported");
	jwt->kid = member_string(jwt->header, "kid");
	if (!jwt->kid || !*jwt->kid)
		return refuse(reason, "kid_missing");
	return GK_OK;
}

int jwt_decode(struct jwt *jwt, const char *token, size_t len, const char **reason)
{
	const char *dot1, *dot2, *sig;
	size_t sig_len;

	memset(jwt, 0, sizeof(*jwt));
	if (len > JWT_TOKEN_MAX)
		return refuse(reason, "too_long");
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return refuse(reason, "not_three_parts");
	if (decode_object(token, (size_t)(dot1 - token), &jwt->header, "header_not_object", reason) != GK_OK)
		goto fail;
	if (check_header(jwt, reason) != GK_OK)
		goto fail;
	if (decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1), &jwt->payload, "payload_not_object", reason) !=
	    GK_OK)
		goto fail;
	sig = dot2 + 1;
	sig_len = len - (size_t)(sig - token);
	jwt->signature = malloc(sig_len + 1);
	if (!jwt->signature) {
		refuse(reason, "out_of_memory");
		goto fail;
	}
	if (sig_len == 0 ||
	    b64url_decode(sig, sig_len, jwt->signature, sig_len, &jwt->signature_len) != GK_OK) {
		refuse(reason, "bad_base64url");
		goto fail;
	}
	jwt->signing_input = token;
	jwt->signing_len = (size_t)(dot2 - token);
	return GK_OK;
fail:
	jwt_release(jwt);
	return GK_ERR;
}

void jwt_release(struct jwt *jwt)
{
	json_object_put(jwt->header);
	json_object_put(jwt->payload);
	free(jwt->signature);
	memset(jwt, 0, sizeof(*jwt));
}

/* The JWS form of an ES256 signature is r||s, 32 bytes each; EVP wants the
 * DER ECDSA-Sig-Value. Returns the DER length, 0 on failure; *der is
 * OPENSSL_malloc'd. */
static int es256_der(const unsigned char *raw, unsigned char **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, ES256_SIG_LEN / 2, NULL);
	BIGNUM *s = BN_bin2bn(raw + ES256_SIG_LEN / 2, ES256_SIG_LEN / 2, NULL);
	int len = 0;

	*der = NULL;
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	len = i2d_ECDSA_SIG(es, der);
	if (len <= 0)
		len = 0;
out:
	ECDSA_SIG_free(es);
	return len;
}

static int verify_with(const struct jwks_key *key, const struct jwt *jwt)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	const unsigned char *sig = jwt->signature;
	size_t sig_len = jwt->signature_len;
	int ok = 0;

	if (!ctx)
		return 0;
	if (key->type == JWKS_EC) {
		int der_len;

		if (sig_len != ES256_SIG_LEN || (der_len = es256_der(sig, &der)) == 0)
			goto out;
		sig = der;
		sig_len = (size_t)der_len;
	}
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)jwt->signing_input,
			      jwt->signing_len) == 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

int jwt_check_signature(const struct jwt *jwt, const struct jwks *keys, const char **reason)
{
	const struct jwks_key *key = jwks_find(keys, jwt->kid);

	if (!key)
		return refuse(reason, "unknown_kid");
	/* The key decides the algorithm: an RSA key never checks an ES256
	 * header, nor the other way round. */
	if ((key->type == JWKS_RSA) != (strcmp(jwt->alg, "RS256") == 0))
		return refuse(reason, "alg_does_not_match_key");
	if (!verify_with(key, jwt))
		return refuse(reason, "bad_signature");
	return GK_OK;
}

/* A NumericDate member: GK_OK with *value, or GK_ERR when present and not a
 * finite number (or absent and required). */
static int member_time(struct json_object *payload, const char *name, int required, double *value,
		       int *present)
{
	struct json_object *m;

	*present = json_object_object_get_ex(payload, name, &m);
	if (!*present)
		return required ? GK_ERR : GK_OK;
	if (!json_object_is_type(m, json_type_int) && !json_object_is_type(m, json_type_double))
		return GK_ERR;
	*value = json_object_get_double(m);
	return isfinite(*value) ? GK_OK : GK_ERR;
}

static int audience_matches(struct json_object *payload, const char *audience)
{
	struct json_object *aud;
	size_t n;

	if (!json_object_object_get_ex(payload, "aud", &aud))
		return 0;
	if (json_object_is_type(aud, json_type_string))
		return (size_t)json_object_get_string_len(aud) == strlen(audience) &&
		       strcmp(json_object_get_string(aud), audience) == 0;
	if (!json_object_is_type(aud, json_type_array))
		return 0;
	n = json_object_array_length(aud);
	for (size_t i = 0; i < n; i++) {
		struct json_object *one = json_object_array_get_idx(aud, i);

		if (json_object_is_type(one, json_type_string) &&
		    (size_t)json_object_get_string_len(one) == strlen(audience) &&
		    strcmp(json_object_get_string(one), audience) == 0)
			return 1;
	}
	return 0;
}

static int check_times(struct json_object *payload, time_t now, const char **reason)
{
	double t = (double)now, exp = 0, nbf = 0, iat = 0;
	int present;

	if (member_time(payload, "exp", 1, &exp, &present) != GK_OK)
		return refuse(reason, present ? "exp_not_a_number" : "exp_missing");
	if (member_time(payload, "nbf", 0, &nbf, &present) != GK_OK)
		return refuse(reason, "nbf_not_a_number");
	if (present && nbf > t + JWT_LEEWAY_S)
		return refuse(reason, "not_yet_valid");
	if (member_time(payload, "iat", 1, &iat, &present) != GK_OK)
		return refuse(reason, present ? "iat_not_a_number" : "iat_missing");
	if (iat > t + JWT_LEEWAY_S)
		return refuse(reason, "issued_in_future");
	if (t >= exp + JWT_LEEWAY_S)
		return refuse(reason, "expired");
	return GK_OK;
}

int jwt_check_claims(const struct jwt *jwt, const struct jwt_policy *policy, time_t now, char *user,
		     size_t cap, const char **reason)
{
	const char *iss = member_string(jwt->payload, "iss");
	const char *who;
	size_t len;

	if (!iss || strcmp(iss, policy->issuer) != 0)
		return refuse(reason, "wrong_issuer");
	if (!audience_matches(jwt->payload, policy->audience))
		return refuse(reason, "wrong_audience");
	if (check_times(jwt->payload, now, reason) != GK_OK)
		return GK_ERR;
	who = member_string(jwt->payload, policy->user_claim);
	if (!who || !*who)
		return refuse(reason, "user_claim_missing");
	len = strlen(who);
	if (len > JWT_USER_MAX || len >= cap)
		return refuse(reason, "user_claim_too_long");
	memcpy(user, who, len + 1);
	return GK_OK;
}

int jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_policy *policy,
	       time_t now, char *user, size_t cap, const char **reason)
{
	struct jwt jwt;
	int rc;

	if (jwt_decode(&jwt, token, len, reason) != GK_OK)
		return GK_ERR;
	rc = jwt_check_signature(&jwt, keys, reason);
	if (rc == GK_OK)
		rc = jwt_check_claims(&jwt, policy, now, user, cap, reason);
	jwt_release(&jwt);
	return rc;
}

int jwt_bearer(const char *authorization, const char **token, size_t *len)
{
	const char *at;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return 0;
	at = authorization + 7;
	at += strspn(at, " ");
	if (!*at || strcmp(at, "null") == 0)
		return 0;
	*token = at;
	*len = strlen(at);
	return 1;
}
