/* fuzz_envkeys.c: the text of GOFANNON_ENV_FILE, applied on top of the
 * default registry's system keys. */
#include "fuzz.h"

#include "envkeys.h"
#include "registry.h"
#include "status.h"

static struct registry reg;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (registry_load(&reg, NULL, err, sizeof(err)) != GK_OK)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envkeys keys;
	char *first[REGISTRY_MAX_PROVIDERS] = { 0 };
	char err[256];
	char *text;
	int rc;

	if (size > ENV_FILE_MAX)
		return 0;
	if (envkeys_load(&keys, &reg, NULL, err, sizeof(err)) != GK_OK)
		abort();
	text = fuzz_copy(data, size);
	err[0] = '\0';
	rc = envkeys_apply_text(&keys, text, size, err, sizeof(err));
	if (rc != GK_OK)
		FUZZ_CHECK(strncmp(err, "line ", 5) == 0);
	/* "" counts as unset: a value is NULL or non-empty, and one line long */
	for (size_t i = 0; i < keys.count; i++) {
		const char *v = keys.items[i].value;

		FUZZ_CHECK(!v || (v[0] != '\0' && !strchr(v, '\n')));
		FUZZ_CHECK(envkeys_get(&keys, keys.items[i].name) == v);
		first[i] = v ? strdup(v) : NULL;
	}
	/* applying the same file again changes nothing (a SIGHUP with no edit) */
	FUZZ_CHECK(envkeys_apply_text(&keys, text, size, err, sizeof(err)) == rc);
	for (size_t i = 0; i < keys.count; i++) {
		const char *v = keys.items[i].value;

		FUZZ_CHECK((!v && !first[i]) || (v && first[i] && strcmp(v, first[i]) == 0));
		free(first[i]);
	}
	envkeys_release(&keys);
	free(text);
	return 0;
}
