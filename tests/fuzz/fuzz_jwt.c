/* fuzz_jwt.c: bearer tokens, from the Authorization header value to a user.
 *
 * Every input goes through each step of jwt.h on its own (so the claim
 * checks are reached without a valid signature) and through jwt_verify,
 * against a fixed JWKS whose private keys are thrown away: the seeds in
 * corpus/jwt were signed with them. The contract: a refusal always has a
 * reason; an accepted token had three parts, a short enough length, an
 * allowed alg and a kid; a user is never empty nor longer than the cap. */
#include "fuzz.h"

#include "jwks.h"
#include "jwt.h"
#include "status.h"

#define NOW 1800000000L

static const char keys_json[] =
	"{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"r1\", \"use\": \"sig\", \"n\": "
	"\"y4CwZGRuVfJHHO5Hxws_DIaqta6TXaWBUfBgT7FvxQ01vgocSQ5GaFB__UNrkioq-yWDYtJ-fz_J-7cWmS28OyVV_"
	"32OykHV6nnbkvPX9bSi1_u6F79847WB0Uzne1bGw6Zpx9XvzpKh4CHECdR0KaflIbvq7qRqI8GC1tF49bXhLEe_"
	"giT4XH99r0Qz25pXfIz1bMtf8K1LBz2Wx574KClsp6aDK15OYv-ad0hvgbLQP7578I1bas-x_"
	"spcofaNVm0NS2JqaSAHqOQbo6vKk7N8ywCvActyPWx1g2BKsmEOyTywuoDXgFVfAZ22AU4iifsnyscAlTZ1T3RxpqI9Uw\", "
	"\"e\": \"AQAB\"}, {\"kty\": \"EC\", \"kid\": \"e1\", \"crv\": \"P-256\", \"x\": "
	"\"H8nROk-db68Q_PkGVv0h7NFNJRyMWy3JdXF9dbntRMs\", \"y\": "
	"\"8p_-GXOu0sGOfJWkPSFGK2YTPypxdwMK1MzcNAPTdWQ\"}]}";

static struct jwks keys;

static void load_keys(void)
{
	char err[256];

	if (keys.count)
		return;
	if (jwks_parse(&keys, keys_json, sizeof(keys_json) - 1, err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "fuzz_jwt: fixed keys do not load: %s\n", err);
		abort();
	}
}

static size_t count_dots(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '.';
	return n;
}

static void check_user(const char *user, size_t cap)
{
	size_t len = strnlen(user, cap);

	FUZZ_CHECK(len > 0 && len < cap && len <= JWT_USER_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct jwt_policy policy = { "https://securetoken.google.com/fuzz", "fuzz", "sub" };
	char *token = fuzz_copy(data, size);
	char user[JWT_USER_MAX + 1];
	const char *reason = NULL, *bearer;
	struct jwt jwt;
	size_t bearer_len;
	int decoded, verified;

	load_keys();
	decoded = jwt_decode(&jwt, token, size, &reason) == GK_OK;
	if (!decoded) {
		FUZZ_CHECK(reason && *reason);
	} else {
		FUZZ_CHECK(size <= JWT_TOKEN_MAX && count_dots(data, size) == 2);
		FUZZ_CHECK(strcmp(jwt.alg, "RS256") == 0 || strcmp(jwt.alg, "ES256") == 0);
		FUZZ_CHECK(*jwt.kid && jwt.signing_len < size && jwt.signature_len > 0);
		reason = NULL;
		if (jwt_check_claims(&jwt, &policy, NOW, user, sizeof(user), &reason) == GK_OK)
			check_user(user, sizeof(user));
		else
			FUZZ_CHECK(reason && *reason);
		reason = NULL;
		if (jwt_check_signature(&jwt, &keys, &reason) != GK_OK)
			FUZZ_CHECK(reason && *reason);
		jwt_release(&jwt);
	}
	reason = NULL;
	verified = jwt_verify(token, size, &keys, &policy, NOW, user, sizeof(user), &reason) == GK_OK;
	if (verified) {
		FUZZ_CHECK(decoded);
		check_user(user, sizeof(user));
	} else {
		FUZZ_CHECK(reason && *reason);
	}
	free(token);

	/* The header value around it: a found token is what follows the scheme. */
	token = fuzz_cstring(data, size);
	if (jwt_bearer(token, &bearer, &bearer_len)) {
		FUZZ_CHECK(bearer_len > 0 && bearer + bearer_len == token + strlen(token));
		FUZZ_CHECK(strcmp(bearer, "null") != 0 && *bearer != ' ');
	}
	free(token);
	return 0;
}
