#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "status.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define AD_MAX (8 + KID_MAX + 64 + IDENTITY_MAX + 4)
#define BOX_MAX (NONCE_BYTES + API_KEY_MAX + TAG_BYTES)

/* "gofannon-keys/v1" NUL kid NUL provider NUL user: none of the parts can
 * contain NUL, so two different bindings never give the same bytes. */
static size_t build_ad(unsigned char *ad, size_t cap, const char *kid, const char *provider_id,
		       const char *user)
{
	int n = snprintf((char *)ad, cap, "gofannon-keys/v1%c%s%c%s%c%s", 0, kid, 0, provider_id, 0, user);

	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int seal_value(const struct keyring *ring, const char *user, const char *provider_id, const char *plain,
	       size_t len, char *out, size_t outlen)
{
	const struct master_key *mk = keyring_current(ring);
	unsigned char box[BOX_MAX];
	unsigned char ad[AD_MAX];
	unsigned long long clen;
	size_t ad_len, prefix;
	int n;

	if (!mk || len > API_KEY_MAX)
		return GK_ERR;
	ad_len = build_ad(ad, sizeof(ad), mk->kid, provider_id, user);
	if (!ad_len)
		return GK_ERR;
	randombytes_buf(box, NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE_BYTES, &clen, (const unsigned char *)plain,
						   len, ad, ad_len, NULL, box, mk->key);
	n = snprintf(out, outlen, "v1.%s.", mk->kid);
	if (n < 0 || (size_t)n >= outlen)
		return GK_ERR;
	prefix = (size_t)n;
	if (outlen - prefix < sodium_base64_ENCODED_LEN(NONCE_BYTES + clen, B64_VARIANT))
		return GK_ERR;
	sodium_bin2base64(out + prefix, outlen - prefix, box, NONCE_BYTES + clen, B64_VARIANT);
	return GK_OK;
}

int sealed_kid(const char *sealed, size_t len, const char **kid, size_t *kid_len)
{
	const char *dot;

	if (len < 3 || memcmp(sealed, "v1.", 3) != 0)
		return GK_ERR;
	dot = memchr(sealed + 3, '.', len - 3);
	if (!dot || !valid_kid(sealed + 3, (size_t)(dot - sealed - 3)))
		return GK_ERR;
	*kid = sealed + 3;
	*kid_len = (size_t)(dot - sealed - 3);
	return GK_OK;
}

/* base64url without padding, as sodium_base642bin() reads it with
 * B64_VARIANT: any other character, a length of 4n+1 or non-zero unused
 * bits is refused. A table per character, where libsodium's decoder is
 * constant-time and costs more than the decryption: what is decoded here
 * is the nonce and the ciphertext, nothing secret. Each character's value
 * plus one; 0 for a character that is not base64url. */
static const unsigned char b64_values[256] = {
	['A'] = 1,  ['B'] = 2,	['C'] = 3,  ['D'] = 4,	['E'] = 5,  ['F'] = 6,	['G'] = 7,  ['H'] = 8,
	['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
	['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64
};

static int b64_value(unsigned char c)
{
	return (int)b64_values[c] - 1;
}

int seal_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap, size_t *out_len)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
		return GK_ERR;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0)
			return GK_ERR;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return GK_ERR;
	*out_len = n;
	return GK_OK;
}

enum open_result open_value(const struct keyring *ring, const char *user, const char *provider_id,
			    const char *sealed, size_t len, struct secret *out)
{
	unsigned char box[BOX_MAX];
	unsigned char ad[AD_MAX];
	const struct master_key *mk;
	const char *kid, *b64;
	size_t kid_len, box_len, ad_len;
	unsigned long long plain_len;

	secret_clear(out);
	if (sealed_kid(sealed, len, &kid, &kid_len) != GK_OK)
		return OPEN_MALFORMED;
	mk = keyring_find(ring, kid, kid_len);
	if (!mk)
		return OPEN_UNKNOWN_KID;
	b64 = kid + kid_len + 1;
	if (seal_b64_decode(b64, len - (size_t)(b64 - sealed), box, sizeof(box), &box_len) != GK_OK ||
	    box_len < NONCE_BYTES + TAG_BYTES)
		return OPEN_MALFORMED;
	ad_len = build_ad(ad, sizeof(ad), mk->kid, provider_id, user);
	if (!ad_len)
		return OPEN_FAILED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out->value, &plain_len, NULL,
						       box + NONCE_BYTES, box_len - NONCE_BYTES, ad, ad_len,
						       box, mk->key) != 0 ||
	    plain_len > API_KEY_MAX) {
		/* len was never set: whatever decryption wrote, all of it */
		sodium_memzero(out, sizeof(*out));
		return OPEN_FAILED;
	}
	out->len = (size_t)plain_len;
	out->value[out->len] = '\0';
	sodium_memzero(box, box_len);
	return OPEN_OK;
}

const char *open_result_detail(enum open_result result)
{
	switch (result) {
	case OPEN_OK:
		return "";
	case OPEN_MALFORMED:
		return "The stored key is damaged; save it again";
	case OPEN_UNKNOWN_KID:
		return "The stored key was sealed with a master key this server does not have";
	case OPEN_FAILED:
		return "The stored key cannot be decrypted; save it again";
	}
	return "The stored key cannot be decrypted";
}
