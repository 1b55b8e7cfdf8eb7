/* num.c: see num.h. */
#include "num.h"

#include <limits.h>

#include "error.h"
#include "status.h"

/* The digits of s as a magnitude; GK_ERR when there are none, when a byte
 * is not one, or when the value passes limit. */
static int magnitude(const char *s, unsigned long long limit, unsigned long long *out)
{
	unsigned long long n = 0;

	if (!*s)
		return GK_ERR;
	for (; *s; s++) {
		unsigned digit = (unsigned)(unsigned char)*s - '0';

		if (digit > 9 || n > (limit - digit) / 10)
			return GK_ERR;
		n = n * 10 + digit;
	}
	*out = n;
	return GK_OK;
}

int num_parse(const char *s, long long min, long long max, long long *out, char *err, size_t errlen)
{
	unsigned long long n;
	long long value;
	int negative = s && *s == '-' && min < 0;

	if (!s ||
	    magnitude(s + negative, negative ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX, &n) != GK_OK)
		goto bad;
	/* -(LLONG_MAX + 1) is LLONG_MIN, which has no positive twin */
	value = negative ? (n == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)n)
			 : (long long)n;
	if (value < min || value > max)
		goto bad;
	*out = value;
	return GK_OK;
bad:
	if (err)
		set_error(err, errlen, "must be a whole number from %lld to %lld", min, max);
	return GK_ERR;
}
