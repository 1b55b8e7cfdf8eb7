/* fuzz_http.c: the request metadata a client controls: Content-Type,
 * Content-Length and Origin (with the Host it is compared to). The input is
 * split on newlines into those fields. */
#include "fuzz.h"

#include <errno.h>
#include <strings.h>

#include "http.h"
#include "status.h"

/* Splits s in place at '\n' into up to n fields; missing fields are "". */
static void split(char *s, char **fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *nl = s ? strchr(s, '\n') : NULL;

		fields[i] = s ? s : "";
		if (nl)
			*nl = '\0';
		s = nl ? nl + 1 : NULL;
	}
}

/* Decimal digits only, no sign, no overflow: checked with strtoull. */
static int ref_content_length(const char *v, size_t *out)
{
	char *end;
	unsigned long long n;

	if (!*v) {
		*out = 0;
		return GK_OK;
	}
	for (const char *p = v; *p; p++)
		if (*p < '0' || *p > '9')
			return GK_ERR;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno == ERANGE || *end)
		return GK_ERR;
	*out = (size_t)n;
	return GK_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input = fuzz_cstring(data, size);
	char *f[6];
	size_t got = 0, want = 0;
	int rc, ref;

	split(input, f, 6);

	/* Content-Type: application/json, any case, optional parameters */
	rc = http_content_type_is_json(f[0]);
	{
		const char *p = f[0] + strspn(f[0], " \t");

		ref = strncasecmp(p, "application/json", 16) == 0;
		if (ref) {
			const char *rest = p + 16 + strspn(p + 16, " \t");

			ref = *rest == '\0' || *rest == ';';
		}
		FUZZ_CHECK(rc == ref);
	}

	/* Content-Length; the reference may take a few values near SIZE_MAX
	 * that the parser refuses, never the other way round */
	rc = http_parse_content_length(f[1], &got);
	ref = ref_content_length(f[1], &want);
	if (rc == GK_OK)
		FUZZ_CHECK(ref == GK_OK && got == want);
	else
		FUZZ_CHECK(ref != GK_OK || want > SIZE_MAX / 10);

	/* Origin: never allowed unless it is exactly the own origin or listed */
	rc = http_origin_allowed(f[2][0] ? f[2] : NULL, f[3], f[4], f[5]);
	if (rc && f[2][0]) {
		if (f[5][0]) {
			FUZZ_CHECK(strstr(f[5], f[2]) != NULL);
		} else {
			const char *scheme = f[3][0] ? f[3] : "http";
			size_t sl = strlen(scheme);

			FUZZ_CHECK(f[4][0] != '\0');
			FUZZ_CHECK(strncasecmp(f[2], scheme, sl) == 0 && strncmp(f[2] + sl, "://", 3) == 0 &&
				   strcasecmp(f[2] + sl + 3, f[4]) == 0);
		}
	}
	FUZZ_CHECK(http_origin_allowed(NULL, f[3], f[4], f[5]) == 1);
	free(input);
	return 0;
}
