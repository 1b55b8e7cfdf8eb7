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

enum open_result open_value(const struct keyring *ring, const char *user, const char *provider_id,
			    const char *sealed, size_t len, struct secret *out)
{
	unsigned char box[BOX_MAX];
	unsigned char ad[AD_MAX];
	const struct master_key *mk;
	const char *kid, *b64, *b64_end;
	size_t kid_len, box_len, ad_len;
	unsigned long long plain_len;

	memset(out, 0, sizeof(*out));
	if (sealed_kid(sealed, len, &kid, &kid_len) != GK_OK)
		return OPEN_MALFORMED;
	mk = keyring_find(ring, kid, kid_len);
	if (!mk)
		return OPEN_UNKNOWN_KID;
	b64 = kid + kid_len + 1;
	if (sodium_base642bin(box, sizeof(box), b64, len - (size_t)(b64 - sealed), NULL, &box_len, &b64_end,
			      B64_VARIANT) != 0 ||
	    b64_end != sealed + len || box_len < NONCE_BYTES + TAG_BYTES)
		return OPEN_MALFORMED;
	ad_len = build_ad(ad, sizeof(ad), mk->kid, provider_id, user);
	if (!ad_len)
		return OPEN_FAILED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out->value, &plain_len, NULL,
						       box + NONCE_BYTES, box_len - NONCE_BYTES, ad, ad_len,
						       box, mk->key) != 0 ||
	    plain_len > API_KEY_MAX) {
		secret_wipe(out);
		return OPEN_FAILED;
	}
	out->len = (size_t)plain_len;
	out->value[out->len] = '\0';
	sodium_memzero(box, sizeof(box));
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
