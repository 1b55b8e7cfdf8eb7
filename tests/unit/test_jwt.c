/* test_jwt.c: bearer ID tokens and their keys file (issue 8, item 2).
 *
 * The test makes its own RSA and P-256 keys with OpenSSL, publishes them as
 * a JWKS text, signs tokens with them, and checks every acceptance rule of
 * jwt.h at a fixed "now", so the clock-skew boundaries are exact. */
#include "unit.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "jwks.h"
#include "jwt.h"
#include "status.h"

#define NOW 1800000000L
#define ISS "https://securetoken.google.com/proj"
#define AUD "proj"

static EVP_PKEY *rsa_key, *rsa_other, *ec_key;
static struct jwks keys;
static const struct jwt_policy policy = { ISS, AUD, "sub" };

static void b64url(const unsigned char *in, size_t len, char *out, size_t cap)
{
	assert_non_null(sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING));
}

static void bn_b64url(EVP_PKEY *pkey, const char *name, char *out, size_t cap)
{
	BIGNUM *bn = NULL;
	unsigned char buf[512];
	int len;

	assert_int_equal(EVP_PKEY_get_bn_param(pkey, name, &bn), 1);
	len = BN_bn2bin(bn, buf);
	BN_free(bn);
	b64url(buf, (size_t)len, out, cap);
}

/* The JWKS text publishing rsa_key as kid "r1" and ec_key as "e1". */
static char *jwks_text(void)
{
	char n[400], e[16], x[48], y[48];
	unsigned char point[65];
	size_t plen;
	char *text = malloc(2048);

	bn_b64url(rsa_key, OSSL_PKEY_PARAM_RSA_N, n, sizeof(n));
	bn_b64url(rsa_key, OSSL_PKEY_PARAM_RSA_E, e, sizeof(e));
	assert_int_equal(
		EVP_PKEY_get_octet_string_param(ec_key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &plen),
		1);
	assert_int_equal(plen, 65);
	b64url(point + 1, 32, x, sizeof(x));
	b64url(point + 33, 32, y, sizeof(y));
	snprintf(text, 2048,
		 "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"},"
		 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\",\"x\":\"%s\",\"y\":\"%s\"},"
		 "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
		 "{\"kty\":\"oct\",\"kid\":\"hmac\",\"k\":\"c2VjcmV0\"}]}",
		 n, e, x, y);
	return text;
}

static int setup(void **state)
{
	char err[256];
	char *text;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!rsa_key || !rsa_other || !ec_key)
		return -1;
	text = jwks_text();
	if (jwks_parse(&keys, text, strlen(text), err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "jwks: %s\n", err);
		return -1;
	}
	free(text);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	jwks_release(&keys);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(ec_key);
	return 0;
}

/* The signature over input: RS256, or ES256 as r||s. */
static size_t sign(EVP_PKEY *pkey, int ec, const char *input, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[600];
	size_t len = sizeof(der);

	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &len, (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (!ec) {
		memcpy(sig, der, len);
		return len;
	}
	{
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		const BIGNUM *r, *s;

		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
	}
	return 64;
}

/* A token with this header and payload (JSON texts), signed by pkey. */
static char *make(const char *header, const char *payload, EVP_PKEY *pkey, int ec)
{
	size_t hl = strlen(header), pl = strlen(payload);
	size_t cap = (hl + pl) * 2 + 1024;
	char *tok = malloc(cap);
	unsigned char sig[600];
	size_t at, sl;

	b64url((const unsigned char *)header, hl, tok, cap);
	at = strlen(tok);
	tok[at++] = '.';
	b64url((const unsigned char *)payload, pl, tok + at, cap - at);
	at = strlen(tok);
	sl = pkey ? sign(pkey, ec, tok, sig) : 0;
	tok[at++] = '.';
	b64url(sig, sl, tok + at, cap - at);
	return tok;
}

static char *claims(const char *extra)
{
	char *p = malloc(16384);

	snprintf(p, 16384,
		 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":%ld,\"exp\":%ld%s%s}",
		 NOW - 100, NOW + 3600, extra && *extra ? "," : "", extra ? extra : "");
	return p;
}

/* Verifies tok at now; returns the reason, or "ok" with user checked. */
static const char *verify_at(char *tok, long now)
{
	char user[JWT_USER_MAX + 1];
	const char *reason = "unset";
	int rc = jwt_verify(tok, strlen(tok), &keys, &policy, (time_t)now, user, sizeof(user), &reason);

	free(tok);
	if (rc == GK_OK) {
		assert_string_equal(user, "alice");
		return "ok";
	}
	return reason;
}

#define RS(p) make("{\"alg\":\"RS256\",\"kid\":\"r1\"}", p, rsa_key, 0)
#define ES(p) make("{\"alg\":\"ES256\",\"kid\":\"e1\"}", p, ec_key, 1)

static const char *rs_claims(const char *extra, long now)
{
	char *p = claims(extra);
	char *tok = RS(p);

	free(p);
	return verify_at(tok, now);
}

static void test_good_tokens(void **state)
{
	char *p = claims(NULL);

	(void)state;
	assert_string_equal(verify_at(RS(p), NOW), "ok");
	assert_string_equal(verify_at(ES(p), NOW), "ok");
	free(p);
	/* aud as an array holding the audience */
	p = strdup("{\"iss\":\"" ISS "\",\"aud\":[\"x\",\"" AUD
		   "\"],\"sub\":\"alice\",\"iat\":1,\"exp\":1e10}");
	assert_string_equal(verify_at(RS(p), NOW), "ok");
	free(p);
}

static void test_times_and_leeway(void **state)
{
	(void)state;
	/* exp = NOW + 3600: valid until exp + 60 */
	assert_string_equal(rs_claims(NULL, NOW + 3600 + 59), "ok");
	assert_string_equal(rs_claims(NULL, NOW + 3600 + 60), "expired");
	/* iat = NOW - 100: the clock may lag the issuer by 60 s */
	assert_string_equal(rs_claims(NULL, NOW - 160), "ok");
	assert_string_equal(rs_claims(NULL, NOW - 161), "issued_in_future");
	assert_string_equal(rs_claims("\"nbf\":1800000060", NOW), "ok");
	assert_string_equal(rs_claims("\"nbf\":1800000061", NOW), "not_yet_valid");
	assert_string_equal(rs_claims("\"nbf\":\"0\"", NOW), "nbf_not_a_number");
}

static void test_claims_refused(void **state)
{
	char *p, *tok;
	char user[JWT_USER_MAX + 1];
	const char *reason;
	struct jwt_policy email = { ISS, AUD, "email" };

	(void)state;
	p = strdup("{\"iss\":\"" ISS "\",\"aud\":\"other\",\"sub\":\"alice\",\"iat\":1,\"exp\":1e10}");
	assert_string_equal(verify_at(RS(p), NOW), "wrong_audience");
	free(p);
	p = strdup("{\"iss\":\"" ISS "x\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":1,\"exp\":1e10}");
	assert_string_equal(verify_at(RS(p), NOW), "wrong_issuer");
	free(p);
	p = strdup("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":1,\"exp\":\"1e10\"}");
	assert_string_equal(verify_at(RS(p), NOW), "exp_not_a_number");
	free(p);
	p = strdup("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"iat\":1}");
	assert_string_equal(verify_at(RS(p), NOW), "exp_missing");
	free(p);
	p = strdup("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"exp\":1e10}");
	assert_string_equal(verify_at(RS(p), NOW), "iat_missing");
	free(p);
	p = strdup("{\"iss\":\"" ISS "\",\"aud\":\"" AUD
		   "\",\"sub\":\"al\\u0000ice\",\"iat\":1,\"exp\":1e10}");
	assert_string_equal(verify_at(RS(p), NOW), "user_claim_missing");
	free(p);
	/* Another user claim, as GOFANNON_JWT_USER_CLAIM=email configures */
	p = claims("\"email\":\"bob@example.com\"");
	tok = RS(p);
	assert_int_equal(jwt_verify(tok, strlen(tok), &keys, &email, NOW, user, sizeof(user), &reason),
			 GK_OK);
	assert_string_equal(user, "bob@example.com");
	free(tok);
	free(p);
}

static void test_duplicates_refused(void **state)
{
	char *p;

	(void)state;
	p = claims("\"sub\":\"mallory\"");
	assert_string_equal(verify_at(RS(p), NOW), "duplicate_member");
	free(p);
	p = claims("\"\\u0073ub\":\"mallory\"");
	assert_string_equal(verify_at(RS(p), NOW), "duplicate_member");
	free(p);
	/* nested objects may repeat names of the top level, and ':' in strings counts for nothing */
	p = claims("\"x\":{\"sub\":\"a:b\",\"y\":[{\"sub\":1}]},\"note\":\"a:b\\\":c\"");
	assert_string_equal(verify_at(RS(p), NOW), "ok");
	free(p);
	p = claims(NULL);
	assert_string_equal(
		verify_at(make("{\"alg\":\"RS256\",\"kid\":\"r1\",\"kid\":\"e1\"}", p, rsa_key, 0), NOW),
		"duplicate_member");
	free(p);
}

static void test_header_and_signature_refused(void **state)
{
	char *p = claims(NULL);
	char *tok;

	(void)state;
	assert_string_equal(verify_at(make("{\"alg\":\"none\",\"kid\":\"r1\"}", p, NULL, 0), NOW),
			    "alg_not_allowed");
	assert_string_equal(verify_at(make("{\"alg\":\"HS256\",\"kid\":\"r1\"}", p, rsa_key, 0), NOW),
			    "alg_not_allowed");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\"}", p, rsa_key, 0), NOW), "kid_missing");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\",\"kid\":\"\"}", p, rsa_key, 0), NOW),
			    "kid_missing");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\",\"kid\":\"zz\"}", p, rsa_key, 0), NOW),
			    "unknown_kid");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\",\"kid\":\"enc\"}", p, rsa_key, 0), NOW),
			    "unknown_kid");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\",\"kid\":\"r1\"}", p, rsa_other, 0), NOW),
			    "bad_signature");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\",\"kid\":\"e1\"}", p, rsa_key, 0), NOW),
			    "alg_does_not_match_key");
	assert_string_equal(verify_at(make("{\"alg\":\"ES256\",\"kid\":\"r1\"}", p, ec_key, 1), NOW),
			    "alg_does_not_match_key");
	assert_string_equal(
		verify_at(make("{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"b64\"]}", p, rsa_key, 0), NOW),
		"crit_not_supported");
	assert_string_equal(verify_at(make("[\"RS256\"]", p, rsa_key, 0), NOW), "header_not_object");
	assert_string_equal(verify_at(make("{\"alg\":\"RS256\",\"kid\":\"r1\"}", "[1]", rsa_key, 0), NOW),
			    "payload_not_object");
	/* ES256 signatures are exactly 64 bytes: here 256 */
	tok = make("{\"alg\":\"ES256\",\"kid\":\"e1\"}", p, rsa_key, 0);
	assert_string_equal(verify_at(tok, NOW), "bad_signature");
	free(p);
}

static void test_shape_refused(void **state)
{
	char *p = claims(NULL), *tok, *big;
	size_t len;

	(void)state;
	tok = RS(p);
	len = strlen(tok);
	assert_string_equal(verify_at(strdup("a.b"), NOW), "not_three_parts");
	assert_string_equal(verify_at(strdup("a.b.c.d"), NOW), "not_three_parts");
	big = malloc(len + 3);
	snprintf(big, len + 3, "%s=", tok); /* padding */
	assert_string_equal(verify_at(big, NOW), "bad_base64url");
	big = strdup(tok);
	big[3] = '+'; /* base64, not base64url */
	assert_string_equal(verify_at(big, NOW), "bad_base64url");
	big = strdup(tok);
	memmove(big, big + 1, len); /* 4k+1 characters, or a garbled header */
	assert_string_not_equal(verify_at(big, NOW), "ok");
	free(tok);
	/* 8 KiB or more: refused before anything is decoded */
	big = malloc(JWT_TOKEN_MAX + 2);
	memset(big, 'A', JWT_TOKEN_MAX + 1);
	big[JWT_TOKEN_MAX + 1] = '\0';
	assert_string_equal(verify_at(big, NOW), "too_long");
	free(p);
}

static void test_bearer(void **state)
{
	const char *tok;
	size_t len;

	(void)state;
	assert_int_equal(jwt_bearer(NULL, &tok, &len), 0);
	assert_int_equal(jwt_bearer("", &tok, &len), 0);
	assert_int_equal(jwt_bearer("Basic dXNlcjpwdw==", &tok, &len), 0);
	assert_int_equal(jwt_bearer("Bearer", &tok, &len), 0);
	assert_int_equal(jwt_bearer("Bearer ", &tok, &len), 0);
	assert_int_equal(jwt_bearer("Bearer null", &tok, &len), 0);
	assert_int_equal(jwt_bearer("Bearertoken", &tok, &len), 0);
	assert_int_equal(jwt_bearer("bearer  a.b.c", &tok, &len), 1);
	assert_string_equal(tok, "a.b.c");
	assert_int_equal(len, 5);
}

static void test_b64url(void **state)
{
	unsigned char out[8];
	size_t len;

	(void)state;
	assert_int_equal(b64url_decode("aGk", 3, out, sizeof(out), &len), GK_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "hi", 2);
	assert_int_equal(b64url_decode("_-8", 3, out, sizeof(out), &len), GK_OK);
	assert_int_equal(b64url_decode("aGk=", 4, out, sizeof(out), &len), GK_ERR);
	assert_int_equal(b64url_decode("a+8", 3, out, sizeof(out), &len), GK_ERR);
	assert_int_equal(b64url_decode("aGkxa", 5, out, sizeof(out), &len), GK_ERR); /* 4k+1 */
	assert_int_equal(b64url_decode("aGl", 3, out, sizeof(out), &len), GK_ERR);   /* trailing bits */
	assert_int_equal(b64url_decode("AAAAAAAAAAAA", 12, out, sizeof(out), &len), GK_ERR); /* 9 > 8 */
}

static void expect_jwks_error(const char *text, const char *want)
{
	struct jwks set;
	char err[256] = "";

	assert_int_equal(jwks_parse(&set, text, strlen(text), err, sizeof(err)), GK_ERR);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_null(set.keys);
}

static void test_jwks(void **state)
{
	(void)state;
	assert_int_equal(keys.count, 2); /* enc and oct keys skipped */
	assert_non_null(jwks_find(&keys, "r1"));
	assert_int_equal(jwks_find(&keys, "e1")->type, JWKS_EC);
	assert_null(jwks_find(&keys, "enc"));
	expect_jwks_error("[]", "not a JSON object");
	expect_jwks_error("{\"keys\":{}}", "'keys' must be an array");
	expect_jwks_error("{\"keys\":[]}", "no RS256 or ES256 signing key");
	expect_jwks_error("{}", "no RS256 or ES256 signing key");
	expect_jwks_error("{\"keys\":[1]}", "key 1 is not a JSON object");
	expect_jwks_error("{\"keys\":[{\"kid\":\"a\"}]}", "key 1 has no 'kty'");
	expect_jwks_error("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", "no usable 'kid'");
	expect_jwks_error("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"!\",\"e\":\"AQAB\"}]}",
			  "'n' is missing");
	expect_jwks_error("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
			  "shorter than 2048 bits");
	expect_jwks_error(
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"a\",\"crv\":\"P-384\",\"x\":\"\",\"y\":\"\"}]}",
		"only the P-256 curve");
	expect_jwks_error(
		"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"a\",\"crv\":\"P-256\",\"x\":\"AQAB\",\"y\":\"AQAB\"}]}",
		"32 bytes");
	/* 32-byte coordinates of a point that is not on the curve */
	expect_jwks_error("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"a\",\"crv\":\"P-256\","
			  "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
			  "\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
			  "OpenSSL refused the EC key");
	expect_jwks_error("{\"k1\":\"not a certificate\"}", "key 'k1' is not a PEM certificate");
	expect_jwks_error("{\"k1\":7}", "key 'k1' is not a PEM certificate string");
}

static void test_jwks_duplicate_kid_and_load(void **state)
{
	char *text = jwks_text();
	char *doubled = malloc(strlen(text) * 2);
	char dir[PATH_MAX], path[PATH_MAX], err[256];
	struct jwks set;
	struct stat st;
	char *at;

	(void)state;
	/* The EC key published again under kid r1 */
	strcpy(doubled, text);
	at = strstr(doubled, "\"kid\":\"e1\"");
	memcpy(at, "\"kid\":\"r1\"", 10);
	expect_jwks_error(doubled, "key id 'r1' appears twice");
	unit_mkdtemp(dir);
	unit_path(path, dir, "keys.json");
	assert_int_equal(jwks_load(&set, path, &st, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "unable to open"));
	unit_write_file(path, text, strlen(text));
	assert_int_equal(jwks_load(&set, path, &st, err, sizeof(err)), GK_OK);
	assert_int_equal(set.count, 2);
	assert_int_equal(st.st_size, (off_t)strlen(text));
	jwks_release(&set);
	unit_write_file(path, "{", 1);
	assert_int_equal(jwks_load(&set, path, &st, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, path));
	unit_rmdir(dir);
	free(text);
	free(doubled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_tokens),
		cmocka_unit_test(test_times_and_leeway),
		cmocka_unit_test(test_claims_refused),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_header_and_signature_refused),
		cmocka_unit_test(test_shape_refused),
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_jwks_duplicate_kid_and_load),
	};

	return cmocka_run_group_tests_name("jwt", tests, setup, teardown);
}
