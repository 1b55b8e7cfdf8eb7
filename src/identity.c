#include <stddef.h>
#include <string.h>

#include "error.h"
#include "identity.h"

int utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned int cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int has_control_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return 1;
		/* C1 controls, U+0080..U+009F, encoded as C2 80..C2 9F */
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

enum identity_result identity_check(const char *user, const char **why)
{
	size_t len;

	if (!user || !*user)
		return IDENTITY_MISSING;
	len = strnlen(user, IDENTITY_MAX + 1);
	if (len > IDENTITY_MAX) {
		*why = "User identity is longer than " GK_STR(IDENTITY_MAX) " bytes";
		return IDENTITY_INVALID;
	}
	if (!utf8_valid(user, len)) {
		*why = "User identity is not valid UTF-8";
		return IDENTITY_INVALID;
	}
	if (has_control_chars(user, len)) {
		*why = "User identity contains control characters";
		return IDENTITY_INVALID;
	}
	return IDENTITY_OK;
}
