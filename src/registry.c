#include "registry.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "num.h"
#include "status.h"

#define REGISTRY_FILE_MAX (1024 * 1024)

static int valid_id(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > PROVIDER_ID_MAX ||
	    !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int valid_env_name(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static int valid_field_name(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

static int valid_base_url(const char *s)
{
	return (strncmp(s, "https://", 8) == 0 && s[8]) || (strncmp(s, "http://", 7) == 0 && s[7]);
}

/* "chat", or an absolute path of URL-safe characters to GET under the base URL. */
static int valid_verify(const char *s)
{
	if (strcmp(s, "chat") == 0)
		return 1;
	if (s[0] != '/' || strlen(s) > 256 || strstr(s, ".."))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("/-._~", *s))
			return 0;
	return 1;
}

/* The one list of wire style names: what a registry entry may say, what
 * its error message offers, and what wire_style_name() answers. Each has a
 * translator in wire.c (test_wire checks). */
static const struct {
	const char *name;
	enum wire_style style;
} wire_styles[] = {
	{ "openai", WIRE_OPENAI },
	{ "anthropic", WIRE_ANTHROPIC },
	{ "gemini", WIRE_GEMINI },
};

#define WIRE_STYLE_COUNT (sizeof(wire_styles) / sizeof(wire_styles[0]))

static int parse_wire_style(const char *s, enum wire_style *out)
{
	for (size_t i = 0; i < WIRE_STYLE_COUNT; i++) {
		if (strcmp(s, wire_styles[i].name) == 0) {
			*out = wire_styles[i].style;
			return GK_OK;
		}
	}
	return GK_ERR;
}

/* "openai, anthropic or gemini", for the error message. */
static void wire_style_list(char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < WIRE_STYLE_COUNT && used < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == WIRE_STYLE_COUNT ? " or " : ", ";
		int n = snprintf(out + used, len - used, "%s%s", sep, wire_styles[i].name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

const char *wire_style_name(enum wire_style style)
{
	for (size_t i = 0; i < WIRE_STYLE_COUNT; i++)
		if (wire_styles[i].style == style)
			return wire_styles[i].name;
	return "unknown";
}

/* Returns the string member name of obj, NULL when absent or JSON null.
 * *bad is set when it is present but not a string. */
static const char *member_string(struct json_object *obj, const char *name, int *bad)
{
	struct json_object *value;

	if (!json_object_object_get_ex(obj, name, &value) || json_object_is_type(value, json_type_null))
		return NULL;
	if (!json_object_is_type(value, json_type_string)) {
		*bad = 1;
		return NULL;
	}
	return json_object_get_string(value);
}

#define BASE_URL_VAR_MAX (PROVIDER_ID_MAX + sizeof("_BASE_URL"))
#define ALLOWANCE_SUFFIX "_SYSTEM_KEY_MONTHLY_TOKENS"
#define ALLOWANCE_VAR_MAX (PROVIDER_ID_MAX + sizeof(ALLOWANCE_SUFFIX))

/* The name of a provider's variable: the id upper-cased, each '-' made
 * '_', then suffix (OPENAI_BASE_URL for openai, MY_LLM_BASE_URL for
 * my-llm). name has room for PROVIDER_ID_MAX characters and suffix. */
static void provider_variable(const char *id, const char *suffix, char *name)
{
	size_t i;

	for (i = 0; i < PROVIDER_ID_MAX && id[i]; i++)
		name[i] = isalnum((unsigned char)id[i]) ? (char)toupper((unsigned char)id[i]) : '_';
	memcpy(name + i, suffix, strlen(suffix) + 1);
}

/* The variable that overrides a provider's base URL. */
static void base_url_variable(const char *id, char name[BASE_URL_VAR_MAX])
{
	provider_variable(id, "_BASE_URL", name);
}

/* The <ID>_BASE_URL environment variable when set and non-empty. */
static const char *base_url_override(const char *id)
{
	char name[BASE_URL_VAR_MAX];
	const char *value;

	base_url_variable(id, name);
	value = getenv(name);
	return value && *value ? value : NULL;
}

static int parse_models(struct provider *p, struct json_object *entry, char *err, size_t errlen)
{
	struct json_object *models;
	size_t n;

	p->models = calloc(1, sizeof(char *));
	if (!p->models)
		return set_error(err, errlen, "out of memory");
	if (!json_object_object_get_ex(entry, "models", &models) ||
	    json_object_is_type(models, json_type_null))
		return GK_OK;
	if (!json_object_is_type(models, json_type_array))
		return set_error(err, errlen, "provider '%s': 'models' must be an array of strings", p->id);
	n = json_object_array_length(models);
	free(p->models);
	p->models = calloc(n + 1, sizeof(char *));
	if (!p->models)
		return set_error(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(models, i);

		if (!json_object_is_type(m, json_type_string))
			return set_error(err, errlen, "provider '%s': 'models' must be an array of strings",
					 p->id);
		p->models[i] = strdup(json_object_get_string(m));
		if (!p->models[i])
			return set_error(err, errlen, "out of memory");
		p->model_count = i + 1;
	}
	return GK_OK;
}

/* "systemKeyMonthlyTokens": absent or null is no allowance; else a JSON
 * whole number from 1 to REGISTRY_ALLOWANCE_MAX (1e6 and "1000" are not). */
static int parse_allowance_member(struct provider *p, struct json_object *entry, const char *id, char *err,
				  size_t errlen)
{
	struct json_object *value;
	long long n;

	p->system_key_allowance = 0;
	if (!json_object_object_get_ex(entry, "systemKeyMonthlyTokens", &value) ||
	    json_object_is_type(value, json_type_null))
		return GK_OK;
	n = json_object_is_type(value, json_type_int) ? (long long)json_object_get_int64(value) : 0;
	if (n < 1 || n > REGISTRY_ALLOWANCE_MAX)
		return set_error(
			err, errlen,
			"provider '%s': 'systemKeyMonthlyTokens' must be a whole number from 1 to %lld", id,
			REGISTRY_ALLOWANCE_MAX);
	p->system_key_allowance = n;
	return GK_OK;
}

/* The registry's allowance, or <ID>_SYSTEM_KEY_MONTHLY_TOKENS when set and
 * not empty: the operator's word wins, 0 turns the allowance off. */
static int parse_allowance(struct provider *p, struct json_object *entry, const char *id, char *err,
			   size_t errlen)
{
	char name[ALLOWANCE_VAR_MAX], why[96];
	const char *value;
	long long n;

	if (parse_allowance_member(p, entry, id, err, errlen) != GK_OK)
		return GK_ERR;
	provider_variable(id, ALLOWANCE_SUFFIX, name);
	value = getenv(name);
	if (!value || !*value)
		return GK_OK;
	if (num_parse(value, 0, REGISTRY_ALLOWANCE_MAX, &n, why, sizeof(why)) != GK_OK)
		return set_error(err, errlen, "provider '%s': %s %s (0: no allowance)", id, name, why);
	p->system_key_allowance = n;
	return GK_OK;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int parse_provider(struct provider *p, struct json_object *entry, size_t index, char *err,
			  size_t errlen)
{
	const char *id, *name, *description, *env_var, *field, *wire, *base_url, *verify, *override;
	int bad = 0;

	if (!json_object_is_type(entry, json_type_object))
		return set_error(err, errlen, "provider #%zu is not an object", index + 1);
	id = member_string(entry, "id", &bad);
	if (!id || bad || !valid_id(id))
		return set_error(err, errlen, "provider #%zu: 'id' must be 1 to 32 of a-z, 0-9, '-' and '_'",
				 index + 1);
	/* a path segment the API serves itself: /api/users/me/api-keys/activity */
	if (strcmp(id, REGISTRY_RESERVED_ID) == 0)
		return set_error(err, errlen, "provider #%zu: 'id' must not be '%s', a reserved word",
				 index + 1, REGISTRY_RESERVED_ID);
	name = member_string(entry, "name", &bad);
	description = member_string(entry, "description", &bad);
	env_var = member_string(entry, "envVar", &bad);
	field = member_string(entry, "userKeyField", &bad);
	wire = member_string(entry, "wireStyle", &bad);
	base_url = member_string(entry, "baseUrl", &bad);
	verify = member_string(entry, "verify", &bad);
	if (bad)
		return set_error(err, errlen,
				 "provider '%s': every field except 'models' and 'systemKeyMonthlyTokens' "
				 "must be a string",
				 id);
	if (!name || !*name)
		return set_error(err, errlen, "provider '%s': 'name' is required", id);
	if (env_var && !valid_env_name(env_var))
		return set_error(err, errlen, "provider '%s': 'envVar' must be an upper-case variable name",
				 id);
	if (field && !valid_field_name(field))
		return set_error(err, errlen, "provider '%s': 'userKeyField' must be letters, digits and '_'",
				 id);
	if (!wire || parse_wire_style(wire, &p->wire_style) != GK_OK) {
		char styles[64];

		wire_style_list(styles, sizeof(styles));
		return set_error(err, errlen, "provider '%s': 'wireStyle' must be %s", id, styles);
	}
	override = base_url_override(id);
	if (override)
		base_url = override;
	if (!base_url || !valid_base_url(base_url))
		return set_error(err, errlen, "provider '%s': base URL must start with https:// or http://",
				 id);
	if (verify && !valid_verify(verify))
		return set_error(err, errlen,
				 "provider '%s': 'verify' must be \"chat\" or a path such as \"/models\"",
				 id);
	if (parse_allowance(p, entry, id, err, errlen) != GK_OK)
		return GK_ERR;

	p->id = strdup(id);
	p->name = strdup(name);
	p->description = strdup(description ? description : "");
	p->env_var = dup_or_null(env_var);
	p->user_key_field = dup_or_null(field);
	p->base_url = strdup(base_url);
	p->verify = dup_or_null(verify);
	if (!p->id || !p->name || !p->description || !p->base_url || (env_var && !p->env_var) ||
	    (field && !p->user_key_field) || (verify && !p->verify))
		return set_error(err, errlen, "out of memory");
	return parse_models(p, entry, err, errlen);
}

static int check_unique(const struct registry *reg, char *err, size_t errlen)
{
	for (size_t i = 0; i < reg->count; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct provider *a = &reg->providers[i], *b = &reg->providers[j];
			char a_var[BASE_URL_VAR_MAX], b_var[BASE_URL_VAR_MAX];

			if (strcmp(a->id, b->id) == 0)
				return set_error(err, errlen, "provider '%s' is listed twice", a->id);
			base_url_variable(a->id, a_var);
			base_url_variable(b->id, b_var);
			if (strcmp(a_var, b_var) == 0)
				return set_error(err, errlen, "providers '%s' and '%s' would share %s", b->id,
						 a->id, a_var);
			if (a->user_key_field && b->user_key_field &&
			    strcmp(a->user_key_field, b->user_key_field) == 0)
				return set_error(err, errlen,
						 "providers '%s' and '%s' share userKeyField '%s'", b->id,
						 a->id, a->user_key_field);
		}
	}
	return GK_OK;
}

int registry_parse(struct registry *reg, const char *json, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new_ex(16);
	struct json_object *root = NULL, *list;
	int rc = GK_ERR;
	size_t n;

	static unsigned long parsed;

	reg->providers = NULL;
	reg->count = 0;
	reg->serial = ++parsed;
	if (!tok)
		return set_error(err, errlen, "out of memory");
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		set_error(err, errlen, "registry is not valid JSON");
		goto out;
	}
	if (!json_object_object_get_ex(root, "providers", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		set_error(err, errlen, "registry needs a 'providers' array");
		goto out;
	}
	n = json_object_array_length(list);
	if (n == 0 || n > REGISTRY_MAX_PROVIDERS) {
		set_error(err, errlen, "registry must list 1 to %d providers", REGISTRY_MAX_PROVIDERS);
		goto out;
	}
	reg->providers = calloc(n, sizeof(*reg->providers));
	if (!reg->providers) {
		set_error(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		reg->count = i + 1;
		if (parse_provider(&reg->providers[i], json_object_array_get_idx(list, i), i, err, errlen) !=
		    GK_OK)
			goto out;
	}
	rc = check_unique(reg, err, errlen);
out:
	json_object_put(root);
	json_tokener_free(tok);
	if (rc != GK_OK)
		registry_release(reg);
	return rc;
}

int registry_load(struct registry *reg, const char *path, char *err, size_t errlen)
{
	struct buf file;
	int rc;

	if (!path)
		return registry_parse(reg, default_registry_json, strlen(default_registry_json), err, errlen);
	buf_init(&file, REGISTRY_FILE_MAX);
	if (buf_read_file(&file, path, NULL, err, errlen) != GK_OK) {
		buf_release(&file);
		return GK_ERR;
	}
	rc = registry_parse(reg, file.data, file.len, err, errlen);
	buf_release(&file);
	if (rc != GK_OK)
		error_prefix(err, errlen, "%s: ", path);
	return rc;
}

static void provider_release(struct provider *p)
{
	free(p->id);
	free(p->name);
	free(p->description);
	free(p->env_var);
	free(p->user_key_field);
	free(p->base_url);
	free(p->verify);
	for (size_t i = 0; p->models && i < p->model_count; i++)
		free(p->models[i]);
	free(p->models);
}

void registry_release(struct registry *reg)
{
	for (size_t i = 0; i < reg->count; i++)
		provider_release(&reg->providers[i]);
	free(reg->providers);
	reg->providers = NULL;
	reg->count = 0;
}

const struct provider *registry_find(const struct registry *reg, const char *id)
{
	for (size_t i = 0; i < reg->count; i++)
		if (strcmp(reg->providers[i].id, id) == 0)
			return &reg->providers[i];
	return NULL;
}

int registry_verify_billed(const struct provider *p)
{
	return p->verify && strcmp(p->verify, "chat") == 0;
}
