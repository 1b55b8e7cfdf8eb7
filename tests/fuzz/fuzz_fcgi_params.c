/* fuzz_fcgi_params.c: the FastCGI parameters nginx forwards, as libfcgi
 * hands them over ("NAME=VALUE" strings). The input is split on newlines:
 * the first line is the identity parameter's name (GOFANNON_USER_PARAM,
 * REMOTE_USER when empty), each further line one parameter. The contract:
 * a request passes only when every decisive name resolves to one entry, so
 * FCGX_GetParam()'s first match and the last match are the same entry. */
#include "fuzz.h"

#include "fcgi_params.h"

#define ENVP_MAX 256

/* What FCGX_GetParam() returns (the first match), and the last match. */
static char *match(char **envp, size_t n, const char *name, int last)
{
	size_t len = strlen(name);
	char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=') {
			found = envp[i];
			if (!last)
				break;
		}
	}
	return found;
}

static int ambiguous(char **envp, size_t n, const char *name)
{
	return match(envp, n, name, 0) != match(envp, n, name, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *input = fuzz_cstring(data, size);
	char *envp[ENVP_MAX + 1];
	const char *user = input;
	char *p = strchr(input, '\n');
	size_t n = 0;
	int slot, want = -1;

	if (p)
		*p++ = '\0';
	if (!*user)
		user = "REMOTE_USER";
	while (p && n < ENVP_MAX) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		envp[n++] = p;
		p = nl ? nl + 1 : NULL;
	}
	envp[n] = NULL;

	slot = fcgi_params_repeated(envp, user);
	if (ambiguous(envp, n, user)) {
		want = FCGI_PARAMS_DECISIVE;
	} else {
		for (int i = 0; i < FCGI_PARAMS_DECISIVE && want < 0; i++)
			if (ambiguous(envp, n, fcgi_params_decisive[i]))
				want = i;
	}
	FUZZ_CHECK(slot == want);
	if (slot >= 0)
		FUZZ_CHECK(fcgi_params_count(envp, fcgi_params_name(slot, user)) >= 2);
	for (int i = 0; i <= FCGI_PARAMS_DECISIVE; i++) {
		const char *name = fcgi_params_name(i, user);
		size_t count = fcgi_params_count(envp, name);

		FUZZ_CHECK((count == 0) == (match(envp, n, name, 0) == NULL));
		FUZZ_CHECK((count >= 2) == ambiguous(envp, n, name));
	}
	free(input);
	return 0;
}
