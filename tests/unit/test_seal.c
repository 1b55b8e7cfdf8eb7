/* test_seal.c: API keys at rest (product spec 5): "v1.<kid>.<base64url>",
 * XChaCha20-Poly1305, a fresh nonce per write, bound to user and provider,
 * master keys rotated by appending. */
#include "unit.h"

#include "identity.h"
#include "keyring.h"
#include "registry.h"
#include "seal.h"
#include "status.h"

#define KEY0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEYF "//////////////////////////////////////////8="
#define KEYA "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo="

static void ring_from(struct keyring *ring, const char *text)
{
	char err[256] = "";

	if (keyring_parse(ring, text, strlen(text), err, sizeof(err)) != GK_OK)
		fail_msg("keyring: %s", err);
}

static void seal(const struct keyring *ring, const char *user, const char *provider, const char *plain,
		 char *out)
{
	if (seal_value(ring, user, provider, plain, strlen(plain), out, SEALED_MAX) != GK_OK)
		fail_msg("sealing for '%s'/'%s' failed", user, provider);
}

static enum open_result open_str(const struct keyring *ring, const char *user, const char *provider,
				 const char *sealed, struct secret *out)
{
	return open_value(ring, user, provider, sealed, strlen(sealed), out);
}

static int is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static void test_seal_round_trip(void **state)
{
	struct keyring ring;
	char sealed[SEALED_MAX];
	struct secret out;
	const char *kid;
	size_t kid_len;

	(void)state;
	ring_from(&ring, "old:" KEYF "\ncur:" KEY0 "\n");
	seal(&ring, "alice", "openai", "sk-proj-abcdef1234wxyz", sealed);

	/* the format: v1.<current kid>.<base64url without padding> */
	assert_memory_equal(sealed, "v1.cur.", 7);
	for (const char *p = sealed + 7; *p; p++)
		if (!is_b64url(*p))
			fail_msg("'%c' in the sealed value is not base64url", *p);
	assert_null(strstr(sealed, "sk-proj"));
	assert_int_equal(sealed_kid(sealed, strlen(sealed), &kid, &kid_len), GK_OK);
	assert_int_equal(kid_len, 3);
	assert_memory_equal(kid, "cur", 3);
	assert_ptr_equal(kid, sealed + 3);

	memset(&out, 'X', sizeof(out));
	assert_int_equal(open_str(&ring, "alice", "openai", sealed, &out), OPEN_OK);
	assert_int_equal(out.len, strlen("sk-proj-abcdef1234wxyz"));
	assert_string_equal(out.value, "sk-proj-abcdef1234wxyz");
	secret_wipe(&out);
	keyring_release(&ring);
}

/* A fresh nonce per write: sealing the same key twice gives two values. */
static void test_seal_fresh_nonce(void **state)
{
	struct keyring ring;
	char a[SEALED_MAX], b[SEALED_MAX];
	struct secret out;

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\n");
	seal(&ring, "alice", "openai", "sk-same", a);
	seal(&ring, "alice", "openai", "sk-same", b);
	assert_string_not_equal(a, b);
	/* and the nonces themselves differ, not only the ciphertext */
	assert_memory_not_equal(a + 6, b + 6, 32);
	assert_int_equal(open_str(&ring, "alice", "openai", a, &out), OPEN_OK);
	assert_string_equal(out.value, "sk-same");
	assert_int_equal(open_str(&ring, "alice", "openai", b, &out), OPEN_OK);
	assert_string_equal(out.value, "sk-same");
	secret_wipe(&out);
	keyring_release(&ring);
}

/* Lengths 0, 1 and API_KEY_MAX; bytes of any value, NUL included. */
static void test_seal_lengths(void **state)
{
	struct keyring ring;
	char *sealed = malloc(SEALED_MAX);
	char *plain = malloc(API_KEY_MAX + 1);
	struct secret out;
	size_t lens[] = { 0, 1, 2, 40, 1000, API_KEY_MAX };

	(void)state;
	assert_non_null(sealed);
	assert_non_null(plain);
	ring_from(&ring, "k1:" KEY0 "\n");
	for (size_t i = 0; i < API_KEY_MAX + 1; i++)
		plain[i] = (char)(i * 31 + 7);
	plain[3] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(seal_value(&ring, "u", "p", plain, lens[i], sealed, SEALED_MAX), GK_OK);
		assert_true(strlen(sealed) < SEALED_MAX);
		assert_int_equal(open_str(&ring, "u", "p", sealed, &out), OPEN_OK);
		assert_int_equal(out.len, lens[i]);
		assert_memory_equal(out.value, plain, lens[i]);
		assert_int_equal(out.value[lens[i]], '\0');
	}
	assert_int_equal(seal_value(&ring, "u", "p", plain, API_KEY_MAX + 1, sealed, SEALED_MAX), GK_ERR);
	secret_wipe(&out);
	keyring_release(&ring);
	free(sealed);
	free(plain);
}

/* outlen is respected to the byte. */
static void test_seal_output_size(void **state)
{
	struct keyring ring;
	char sealed[SEALED_MAX];
	char small[SEALED_MAX];
	size_t need;

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\n");
	seal(&ring, "alice", "openai", "sk-abc", sealed);
	need = strlen(sealed) + 1;
	memset(small, 'Z', sizeof(small));
	assert_int_equal(seal_value(&ring, "alice", "openai", "sk-abc", 6, small, need), GK_OK);
	assert_int_equal(strlen(small), need - 1);
	assert_int_equal(small[need], 'Z');
	assert_int_equal(seal_value(&ring, "alice", "openai", "sk-abc", 6, small, need - 1), GK_ERR);
	assert_int_equal(seal_value(&ring, "alice", "openai", "sk-abc", 6, small, 5), GK_ERR);
	assert_int_equal(seal_value(&ring, "alice", "openai", "sk-abc", 6, small, 0), GK_ERR);
	keyring_release(&ring);
}

static void test_seal_empty_ring(void **state)
{
	struct keyring ring = { NULL, 0 };
	char sealed[SEALED_MAX];
	struct secret out;

	(void)state;
	assert_int_equal(seal_value(&ring, "alice", "openai", "sk", 2, sealed, sizeof(sealed)), GK_ERR);
	assert_int_equal(open_str(&ring, "alice", "openai", "v1.k1.AAAA", &out), OPEN_UNKNOWN_KID);
}

/* Bound to user and provider: a value copied elsewhere does not open. */
static void test_seal_binding(void **state)
{
	static const struct {
		const char *user, *provider;
	} elsewhere[] = {
		{ "bob", "openai" },
		{ "alic", "openai" },
		{ "alicex", "openai" },
		{ "Alice", "openai" },
		{ "", "openai" },
		{ "alice", "anthropic" },
		{ "alice", "openai2" },
		{ "alice", "" },
		{ "openai", "alice" }, /* the parts swapped */
		{ "alice"
		  "openai",
		  "" }, /* the parts run together */
	};
	struct keyring ring;
	char sealed[SEALED_MAX];
	struct secret out;

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\n");
	seal(&ring, "alice", "openai", "sk-abc", sealed);
	for (size_t i = 0; i < ARRAY_SIZE(elsewhere); i++) {
		memset(&out, 'X', sizeof(out));
		if (open_str(&ring, elsewhere[i].user, elsewhere[i].provider, sealed, &out) != OPEN_FAILED)
			fail_msg("opened for '%s'/'%s'", elsewhere[i].user, elsewhere[i].provider);
		/* nothing of a failed open is left behind */
		assert_int_equal(out.len, 0);
		for (size_t k = 0; k < sizeof(out.value); k++)
			assert_int_equal(out.value[k], 0);
	}
	assert_int_equal(open_str(&ring, "alice", "openai", sealed, &out), OPEN_OK);
	secret_wipe(&out);
	keyring_release(&ring);
}

/* Any changed byte in the nonce, ciphertext or tag fails to open. */
static void test_seal_tamper(void **state)
{
	struct keyring ring;
	char sealed[SEALED_MAX], copy[SEALED_MAX];
	struct secret out;
	size_t len, start = strlen("v1.k1.");

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\n");
	seal(&ring, "alice", "openai", "sk-0123456789abcdef", sealed);
	len = strlen(sealed);
	/* each base64 character except the last (whose low bits may be unused) */
	for (size_t i = start; i + 1 < len; i++) {
		memcpy(copy, sealed, len + 1);
		copy[i] = copy[i] == 'A' ? 'B' : 'A';
		if (open_str(&ring, "alice", "openai", copy, &out) != OPEN_FAILED)
			fail_msg("flipping character %zu still opens", i);
	}
	/* a value cut short or lengthened */
	assert_int_not_equal(open_value(&ring, "alice", "openai", sealed, len - 4, &out), OPEN_OK);
	memcpy(copy, sealed, len);
	memcpy(copy + len, "AAAA", 5);
	assert_int_not_equal(open_str(&ring, "alice", "openai", copy, &out), OPEN_OK);
	keyring_release(&ring);
}

/* A value sealed under one known kid and relabelled with another known kid
 * does not open: the kid is bound too. */
static void test_seal_relabelled_kid(void **state)
{
	struct keyring ring;
	char sealed[SEALED_MAX], copy[SEALED_MAX];
	struct secret out;

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\nk2:" KEY0 "\n"); /* even with identical key bytes */
	seal(&ring, "alice", "openai", "sk-abc", sealed);
	assert_memory_equal(sealed, "v1.k2.", 6);
	memcpy(copy, sealed, strlen(sealed) + 1);
	copy[4] = '1';
	assert_int_equal(open_str(&ring, "alice", "openai", copy, &out), OPEN_FAILED);
	keyring_release(&ring);
}

static void test_seal_unknown_kid(void **state)
{
	struct keyring ring1, ring2;
	char sealed[SEALED_MAX];
	struct secret out;

	(void)state;
	ring_from(&ring1, "k1:" KEY0 "\n");
	ring_from(&ring2, "k2:" KEY0 "\n");
	seal(&ring1, "alice", "openai", "sk-abc", sealed);
	assert_int_equal(open_str(&ring2, "alice", "openai", sealed, &out), OPEN_UNKNOWN_KID);
	/* the kid is looked up before the rest is parsed */
	assert_int_equal(open_str(&ring2, "alice", "openai", "v1.zz.!!!", &out), OPEN_UNKNOWN_KID);
	assert_int_equal(open_str(&ring2, "alice", "openai", "v1.K2.AAAA", &out), OPEN_UNKNOWN_KID);
	keyring_release(&ring1);
	keyring_release(&ring2);
}

static void test_seal_malformed(void **state)
{
	static const char *const malformed[] = {
		"",
		"v",
		"v1",
		"v1.",
		"v1.k1",
		"v1..AAAA",
		"v1.k!.AAAA",
		"v1.k 1.AAAA",
		"v2.k1.AAAA",
		"V1.k1.AAAA",
		"x1.k1.AAAA",
		" v1.k1.AAAA",
		"v1k1AAAA",
		"sk-plaintext-key",
		"v1.abcdefghijklmnopqrstuvwxyz0123456.AAAA",
		"v1.k1.",     /* nothing sealed */
		"v1.k1.AAAA", /* shorter than nonce and tag */
		"v1.k1.!!!!",
		"v1.k1.AAAA AAAA",
		"v1.k1.AAAA.AAAA",
	};
	struct keyring ring;
	struct secret out;

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\n");
	for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
		enum open_result got = open_str(&ring, "alice", "openai", malformed[i], &out);

		if (got != OPEN_MALFORMED)
			fail_msg("'%s': got %d, want OPEN_MALFORMED", malformed[i], got);
	}
	keyring_release(&ring);
}

/* A real sealed value changed in form only: padding, the standard base64
 * alphabet, whitespace. */
static void test_seal_malformed_variants(void **state)
{
	struct keyring ring;
	char sealed[SEALED_MAX], copy[SEALED_MAX + 8];
	struct secret out;
	size_t len;

	(void)state;
	ring_from(&ring, "k1:" KEY0 "\n");
	seal(&ring, "alice", "openai", "sk-abc", sealed);
	len = strlen(sealed);

	snprintf(copy, sizeof(copy), "%s=", sealed);
	assert_int_equal(open_str(&ring, "alice", "openai", copy, &out), OPEN_MALFORMED);
	snprintf(copy, sizeof(copy), "%s\n", sealed);
	assert_int_equal(open_str(&ring, "alice", "openai", copy, &out), OPEN_MALFORMED);
	snprintf(copy, sizeof(copy), "%s", sealed);
	copy[10] = '+';
	assert_int_equal(open_str(&ring, "alice", "openai", copy, &out), OPEN_MALFORMED);
	copy[10] = '/';
	assert_int_equal(open_str(&ring, "alice", "openai", copy, &out), OPEN_MALFORMED);
	/* len bounds the value: a NUL-terminated copy with garbage after len opens */
	snprintf(copy, sizeof(copy), "%sjunk", sealed);
	assert_int_equal(open_value(&ring, "alice", "openai", copy, len, &out), OPEN_OK);
	assert_string_equal(out.value, "sk-abc");
	secret_wipe(&out);
	keyring_release(&ring);
}

/* Base64 longer than any box is refused, not decoded past the buffer. */
static void test_seal_oversized(void **state)
{
	size_t b64 = SEALED_MAX * 2;
	char *big = malloc(b64 + 16);
	struct keyring ring;
	struct secret out;

	(void)state;
	assert_non_null(big);
	memcpy(big, "v1.k1.", 6);
	memset(big + 6, 'A', b64);
	big[6 + b64] = '\0';
	ring_from(&ring, "k1:" KEY0 "\n");
	assert_int_equal(open_str(&ring, "alice", "openai", big, &out), OPEN_MALFORMED);
	keyring_release(&ring);
	free(big);
}

static void test_sealed_kid(void **state)
{
	const char *kid;
	size_t kid_len;

	(void)state;
	assert_int_equal(sealed_kid("v1.k1.AAAA", 10, &kid, &kid_len), GK_OK);
	assert_int_equal(kid_len, 2);
	assert_memory_equal(kid, "k1", 2);
	assert_int_equal(sealed_kid("v1.k1.", 6, &kid, &kid_len), GK_OK);
	assert_int_equal(sealed_kid("v1.k1", 5, &kid, &kid_len), GK_ERR);
	assert_int_equal(sealed_kid("v1.k1.AAAA", 5, &kid, &kid_len), GK_ERR); /* len bounds */
	assert_int_equal(sealed_kid("v1..AAAA", 8, &kid, &kid_len), GK_ERR);
	assert_int_equal(sealed_kid("v2.k1.AAAA", 10, &kid, &kid_len), GK_ERR);
	assert_int_equal(sealed_kid("v1", 2, &kid, &kid_len), GK_ERR);
	assert_int_equal(sealed_kid("", 0, &kid, &kid_len), GK_ERR);
}

static void test_open_result_detail(void **state)
{
	const char *malformed = open_result_detail(OPEN_MALFORMED);
	const char *unknown = open_result_detail(OPEN_UNKNOWN_KID);
	const char *failed = open_result_detail(OPEN_FAILED);

	(void)state;
	assert_string_equal(open_result_detail(OPEN_OK), "");
	assert_true(strlen(malformed) > 0 && strlen(unknown) > 0 && strlen(failed) > 0);
	assert_string_not_equal(malformed, unknown);
	assert_string_not_equal(unknown, failed);
	assert_string_not_equal(malformed, failed);
	assert_true(strlen(open_result_detail((enum open_result)99)) > 0);
}

/* Rotation: a value sealed under an older key still opens after a newer key
 * is appended; new values use the newer key; dropping the old line makes the
 * old values unknown, not garbage. */
static void test_seal_rotation(void **state)
{
	struct keyring before, after, dropped;
	char old_value[SEALED_MAX], new_value[SEALED_MAX];
	struct secret out;

	(void)state;
	ring_from(&before, "k1:" KEY0 "\n");
	ring_from(&after, "k1:" KEY0 "\nk2:" KEYA "\n");
	ring_from(&dropped, "k2:" KEYA "\n");
	seal(&before, "alice", "openai", "sk-old-key", old_value);

	assert_int_equal(open_str(&after, "alice", "openai", old_value, &out), OPEN_OK);
	assert_string_equal(out.value, "sk-old-key");

	/* rekey: the same key sealed again now carries k2 */
	seal(&after, "alice", "openai", out.value, new_value);
	assert_memory_equal(new_value, "v1.k2.", 6);
	assert_int_equal(open_str(&after, "alice", "openai", new_value, &out), OPEN_OK);
	assert_string_equal(out.value, "sk-old-key");
	assert_int_equal(open_str(&before, "alice", "openai", new_value, &out), OPEN_UNKNOWN_KID);

	assert_int_equal(open_str(&dropped, "alice", "openai", new_value, &out), OPEN_OK);
	assert_int_equal(open_str(&dropped, "alice", "openai", old_value, &out), OPEN_UNKNOWN_KID);
	secret_wipe(&out);
	keyring_release(&before);
	keyring_release(&after);
	keyring_release(&dropped);
}

/* The same rotation through the files keygen writes. */
static void test_seal_rotation_with_keygen(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256] = "", kid1[KID_MAX + 1], kid2[KID_MAX + 1];
	char old_value[SEALED_MAX], new_value[SEALED_MAX];
	struct keyring ring;
	struct secret out;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	assert_int_equal(keyring_generate(path, 0, kid1, sizeof(kid1), err, sizeof(err)), GK_OK);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_OK);
	seal(&ring, "alice", "gemini", "AIza-old", old_value);
	keyring_release(&ring);

	if (keyring_generate(path, 1, kid2, sizeof(kid2), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_OK);
	assert_int_equal(open_str(&ring, "alice", "gemini", old_value, &out), OPEN_OK);
	assert_string_equal(out.value, "AIza-old");
	seal(&ring, "alice", "gemini", "AIza-new", new_value);
	assert_memory_equal(new_value + 3, kid2, strlen(kid2));
	assert_int_equal(new_value[3 + strlen(kid2)], '.');
	secret_wipe(&out);
	keyring_release(&ring);
	unit_rmdir(dir);
}

/* The largest binding the service can ask for fits: a 256-byte identity, a
 * 32-character provider id and a 32-character kid. */
static void test_seal_largest_binding(void **state)
{
	char *user = unit_repeat_str("\xe2\x82\xac", IDENTITY_MAX / 3); /* 255 bytes */
	char *user256 = unit_repeat('u', IDENTITY_MAX);
	char *provider = unit_repeat('p', PROVIDER_ID_MAX);
	char ring_text[128];
	char sealed[SEALED_MAX];
	struct keyring ring;
	struct secret out;
	const char *why;

	(void)state;
	assert_int_equal(identity_check(user256, &why), IDENTITY_OK);
	snprintf(ring_text, sizeof(ring_text), "%s:%s\n", "abcdefghijklmnopqrstuvwxyz012345", KEY0);
	ring_from(&ring, ring_text);
	seal(&ring, user256, provider, "sk-abc", sealed);
	assert_int_equal(open_str(&ring, user256, provider, sealed, &out), OPEN_OK);
	assert_string_equal(out.value, "sk-abc");
	seal(&ring, user, provider, "sk-abc", sealed);
	assert_int_equal(open_str(&ring, user, provider, sealed, &out), OPEN_OK);
	/* and users that differ only in their last byte stay apart */
	user256[IDENTITY_MAX - 1] = 'v';
	assert_int_equal(open_str(&ring, user256, provider, sealed, &out), OPEN_FAILED);
	secret_wipe(&out);
	keyring_release(&ring);
	free(user);
	free(user256);
	free(provider);
}

static int init_sodium(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* seal_b64_decode() accepts exactly what sodium_base642bin() accepts with
 * the URL-safe, unpadded variant, and decodes it the same: every
 * encoding of 0..64 random bytes, and random strings over an alphabet with
 * padding, the other variant's characters and bytes outside it. Bytes of
 * 0x80 and up it refuses, where libsodium 1.0.18 takes some for digits. */
static void test_seal_b64_matches_sodium(void **state)
{
	static const char chars[] = "AZaz09-_+/=.\n Qw";
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	unsigned char bin[96], ours[96], theirs[96];
	char text[160];
	size_t ours_len, theirs_len;

	(void)state;
	for (size_t n = 0; n <= 64; n++) {
		randombytes_buf(bin, n);
		sodium_bin2base64(text, sizeof(text), bin, n, variant);
		assert_int_equal(seal_b64_decode(text, strlen(text), ours, sizeof(ours), &ours_len), GK_OK);
		assert_int_equal(ours_len, n);
		assert_memory_equal(ours, bin, n);
		if (n > 0) /* one byte short of room */
			assert_int_equal(seal_b64_decode(text, strlen(text), ours, n - 1, &ours_len), GK_ERR);
	}
	for (int round = 0; round < 20000; round++) {
		size_t len = randombytes_uniform(12);
		const char *end;
		int sodium_ok, ours_ok;

		for (size_t i = 0; i < len; i++)
			text[i] = chars[randombytes_uniform(sizeof(chars) - 1)];
		sodium_ok = sodium_base642bin(theirs, sizeof(theirs), text, len, NULL, &theirs_len, &end,
					      variant) == 0 &&
			    end == text + len;
		ours_ok = seal_b64_decode(text, len, ours, sizeof(ours), &ours_len) == GK_OK;
		assert_int_equal(ours_ok, sodium_ok);
		if (ours_ok) {
			assert_int_equal(ours_len, theirs_len);
			assert_memory_equal(ours, theirs, ours_len);
		}
	}
	assert_int_equal(seal_b64_decode("_\x80"
					 "A",
					 3, ours, sizeof(ours), &ours_len),
			 GK_ERR);
	assert_int_equal(seal_b64_decode("AAA\xff", 4, ours, sizeof(ours), &ours_len), GK_ERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_round_trip),
		cmocka_unit_test(test_seal_fresh_nonce),
		cmocka_unit_test(test_seal_lengths),
		cmocka_unit_test(test_seal_output_size),
		cmocka_unit_test(test_seal_empty_ring),
		cmocka_unit_test(test_seal_binding),
		cmocka_unit_test(test_seal_tamper),
		cmocka_unit_test(test_seal_relabelled_kid),
		cmocka_unit_test(test_seal_unknown_kid),
		cmocka_unit_test(test_seal_malformed),
		cmocka_unit_test(test_seal_malformed_variants),
		cmocka_unit_test(test_seal_oversized),
		cmocka_unit_test(test_sealed_kid),
		cmocka_unit_test(test_open_result_detail),
		cmocka_unit_test(test_seal_rotation),
		cmocka_unit_test(test_seal_rotation_with_keygen),
		cmocka_unit_test(test_seal_largest_binding),
		cmocka_unit_test(test_seal_b64_matches_sodium),
	};

	return cmocka_run_group_tests_name("seal", tests, init_sodium, NULL);
}
