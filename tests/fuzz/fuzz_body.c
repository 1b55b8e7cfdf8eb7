/* fuzz_body.c: a request body as PUT /api/users/me/api-keys reads it:
 * body_parse_object, the provider and apiKey/api_key fields, the key check. */
#include "fuzz.h"

#include <json-c/json.h>

#include "apikey.h"
#include "body.h"
#include "http.h"
#include "secret.h"
#include "status.h"

static void check_field(struct json_object *root, const char *name, const char *alt)
{
	const char *value = NULL;
	size_t len = 0;
	char why[96];
	int rc;

	why[0] = '\0';
	rc = body_get_string(root, name, alt, 1, &value, &len, why, sizeof(why));
	if (rc != GK_OK) {
		/* the sentence names the field at fault */
		FUZZ_CHECK(strstr(why, name) || (alt && strstr(why, alt)));
		return;
	}
	FUZZ_CHECK(value && value[len] == '\0');
	if (strcmp(name, "apiKey") == 0) {
		const char *start = NULL, *whykey = NULL;
		size_t trimmed = 0;

		if (apikey_normalize(value, len, &start, &trimmed, &whykey) == GK_OK) {
			FUZZ_CHECK(trimmed >= 1 && trimmed <= API_KEY_MAX);
			FUZZ_CHECK(start >= value && start + trimmed <= value + len);
		} else {
			FUZZ_CHECK(whykey != NULL);
		}
	}
	/* optional lookups agree with required ones when the field is present */
	{
		const char *again = NULL;
		size_t again_len = 0;

		FUZZ_CHECK(body_get_string(root, name, alt, 0, &again, &again_len, why, sizeof(why)) ==
			   GK_OK);
		FUZZ_CHECK(again == value && again_len == len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *root = NULL;
	const char *why = NULL;
	char *body;

	if (size > HTTP_BODY_MAX)
		return 0; /* the service answers 413 before parsing */
	body = fuzz_copy(data, size);
	if (body_parse_object(body, size, &root, &why) == GK_OK) {
		FUZZ_CHECK(root && json_object_is_type(root, json_type_object));
		check_field(root, "provider", NULL);
		check_field(root, "apiKey", "api_key");
		check_field(root, "model", NULL);
		body_free(root);
	} else {
		FUZZ_CHECK(root == NULL && why != NULL);
	}
	free(body);
	return 0;
}
