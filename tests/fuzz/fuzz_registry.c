/* fuzz_registry.c: a GOFANNON_PROVIDERS_FILE. The operator writes it, but a
 * bad file must give an error that names the entry, never a crash. */
#include "fuzz.h"

#include <ctype.h>

#include "registry.h"
#include "status.h"
#include "wire.h"

static int valid_id(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > PROVIDER_ID_MAX)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry reg;
	char err[256];
	char *json;

	if (size > 1024 * 1024)
		return 0;
	json = fuzz_copy(data, size);
	err[0] = '\0';
	if (registry_parse(&reg, json, size, err, sizeof(err)) == GK_OK) {
		FUZZ_CHECK(reg.count >= 1 && reg.count <= REGISTRY_MAX_PROVIDERS);
		for (size_t i = 0; i < reg.count; i++) {
			const struct provider *p = &reg.providers[i];

			FUZZ_CHECK(valid_id(p->id));
			FUZZ_CHECK(registry_find(&reg, p->id) == p); /* ids are unique */
			FUZZ_CHECK(p->name && p->name[0] && p->description);
			FUZZ_CHECK(strncmp(p->base_url, "https://", 8) == 0 ||
				   strncmp(p->base_url, "http://", 7) == 0);
			FUZZ_CHECK(strcmp(wire_style_name(p->wire_style), "unknown") != 0);
			FUZZ_CHECK(wire_ops_for(p->wire_style) != NULL);
			FUZZ_CHECK(p->models && p->models[p->model_count] == NULL);
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(!p->user_key_field || !reg.providers[j].user_key_field ||
					   strcmp(p->user_key_field, reg.providers[j].user_key_field));
		}
		registry_release(&reg);
	} else {
		FUZZ_CHECK(err[0] != '\0' && reg.providers == NULL && reg.count == 0);
	}
	free(json);
	return 0;
}
