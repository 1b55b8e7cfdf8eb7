#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

int set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return GK_ERR;
}

int error_prefix(char *err, size_t errlen, const char *fmt, ...)
{
	char prefix[320];
	size_t plen, mlen;
	va_list ap;

	if (errlen == 0)
		return GK_ERR;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strnlen(prefix, errlen - 1);
	mlen = strnlen(err, errlen - 1);
	if (mlen > errlen - 1 - plen)
		mlen = errlen - 1 - plen;
	memmove(err + plen, err, mlen);
	memcpy(err, prefix, plen);
	err[plen + mlen] = '\0';
	return GK_ERR;
}
