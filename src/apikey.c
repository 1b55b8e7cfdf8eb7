#include "apikey.h"

#include "error.h"
#include "secret.h"
#include "status.h"

#include <string.h>

static int is_surrounding_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_key_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static const char *skip_leading_space(const char *p, const char *end)
{
	while (p < end && is_surrounding_space((unsigned char)*p))
		p++;
	return p;
}

static const char *skip_trailing_space(const char *start, const char *end)
{
	while (end > start && is_surrounding_space((unsigned char)end[-1]))
		end--;
	return end;
}

int apikey_normalize(const char *value, size_t len, const char **start, size_t *trimmed_len, const char **why)
{
	const char *end = value + len;
	const char *p;

	value = skip_leading_space(value, end);
	end = skip_trailing_space(value, end);
	len = (size_t)(end - value);

	if (len == 0) {
		*why = "API key must not be empty";
		return GK_ERR;
	}
	if (len > API_KEY_MAX) {
		*why = "API key must be at most " GK_STR(API_KEY_MAX) " characters";
		return GK_ERR;
	}
	for (p = value; p < end; p++) {
		if (!is_key_char((unsigned char)*p)) {
			*why = "API key must contain only printable ASCII characters without spaces";
			return GK_ERR;
		}
	}
	if (memmem(value, len, "...", 3)) {
		*why = "API key looks like a masked key (it contains '...'); paste the full key";
		return GK_ERR;
	}
	*start = value;
	*trimmed_len = len;
	return GK_OK;
}
