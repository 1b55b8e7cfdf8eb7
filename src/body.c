#include "body.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

int body_parse_object(const char *body, size_t len, struct json_object **root, const char **why)
{
	struct json_tokener *tok = json_tokener_new_ex(BODY_DEPTH_MAX);
	struct json_object *obj;
	int ok;

	*root = NULL;
	if (!tok) {
		*why = "Out of memory";
		return GK_ERR;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	ok = obj && json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!ok) {
		body_free(obj);
		*why = "Request body must be valid JSON";
		return GK_ERR;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		body_free(obj);
		*why = "Request body must be a JSON object";
		return GK_ERR;
	}
	*root = obj;
	return GK_OK;
}

int body_get_string(struct json_object *root, const char *name, const char *alt_name, int required,
		    const char **value, size_t *len, char *why, size_t whylen)
{
	struct json_object *member = NULL;
	const char *found = name;

	*value = NULL;
	*len = 0;
	if (!json_object_object_get_ex(root, name, &member) && alt_name &&
	    json_object_object_get_ex(root, alt_name, &member))
		found = alt_name;
	if (!member || json_object_is_type(member, json_type_null)) {
		if (!required)
			return GK_OK;
		snprintf(why, whylen, "Field '%s' is required", name);
		return GK_ERR;
	}
	if (!json_object_is_type(member, json_type_string)) {
		snprintf(why, whylen, "Field '%s' must be a string", found);
		return GK_ERR;
	}
	*value = json_object_get_string(member);
	*len = (size_t)json_object_get_string_len(member);
	/* "openai\u0000junk" must not pass for "openai" where a C string is compared. */
	if (memchr(*value, '\0', *len)) {
		snprintf(why, whylen, "Field '%s' must not contain NUL characters", found);
		*value = NULL;
		*len = 0;
		return GK_ERR;
	}
	return GK_OK;
}

static void wipe_strings(struct json_object *obj)
{
	if (json_object_is_type(obj, json_type_string)) {
		/* json-c hands out its own buffer: wipe it in place before the free. */
		sodium_memzero((char *)json_object_get_string(obj), (size_t)json_object_get_string_len(obj));
	} else if (json_object_is_type(obj, json_type_object)) {
		json_object_object_foreach(obj, key, child)
		{
			(void)key;
			wipe_strings(child);
		}
	} else if (json_object_is_type(obj, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(obj); i++)
			wipe_strings(json_object_array_get_idx(obj, i));
	}
}

void body_free(struct json_object *root)
{
	if (!root)
		return;
	wipe_strings(root);
	json_object_put(root);
}
