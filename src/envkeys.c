#include "envkeys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "status.h"

static void wipe_free(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

static struct envkey *find(const struct envkeys *keys, const char *name, size_t len)
{
	for (size_t i = 0; i < keys->count; i++)
		if (strlen(keys->items[i].name) == len && memcmp(keys->items[i].name, name, len) == 0)
			return &keys->items[i];
	return NULL;
}

static int set_value(struct envkey *key, const char *value, size_t len)
{
	char *copy = NULL;

	if (len) {
		copy = strndup(value, len);
		if (!copy)
			return GK_NOMEM;
	}
	wipe_free(key->value);
	key->value = copy;
	return GK_OK;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int apply_line(struct envkeys *keys, const char *line, size_t len, unsigned lineno, char *err,
		      size_t errlen)
{
	const char *eq;
	size_t name_len;
	struct envkey *key;

	while (len && is_blank(*line)) {
		line++;
		len--;
	}
	while (len && (line[len - 1] == '\r' || is_blank(line[len - 1])))
		len--;
	if (len == 0 || *line == '#')
		return GK_OK;
	/* a value is a C string from here on: a NUL would cut it short, down to
	 * "" that still looked set */
	if (memchr(line, '\0', len))
		return set_error(err, errlen, "line %u: contains a NUL byte", lineno);
	if (len > 7 && memcmp(line, "export ", 7) == 0) {
		line += 7;
		len -= 7;
	}
	eq = memchr(line, '=', len);
	if (!eq || eq == line)
		return set_error(err, errlen, "line %u: expected NAME=value", lineno);
	name_len = (size_t)(eq - line);
	len -= name_len + 1;
	/* "NAME = value", as systemd's EnvironmentFile= reads it: the blanks
	 * around '=' belong to neither side */
	while (name_len && is_blank(line[name_len - 1]))
		name_len--;
	key = find(keys, line, name_len);
	if (!key)
		return GK_OK; /* not a provider key: other settings may share the file */
	line = eq + 1;
	while (len && is_blank(*line)) {
		line++;
		len--;
	}
	if (len >= 2 && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0]) {
		line++;
		len -= 2;
	}
	return set_value(key, line, len) == GK_OK ? GK_OK : set_error(err, errlen, "out of memory");
}

int envkeys_apply_text(struct envkeys *keys, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (apply_line(keys, p, line_len, ++lineno, err, errlen) != GK_OK)
			return GK_ERR;
		p = nl ? nl + 1 : end;
	}
	return GK_OK;
}

static int apply_file(struct envkeys *keys, const char *path, char *err, size_t errlen)
{
	struct buf file;
	int rc;

	buf_init(&file, ENV_FILE_MAX);
	rc = buf_read_file(&file, path, NULL, err, errlen);
	if (rc == GK_OK) {
		rc = envkeys_apply_text(keys, file.data, file.len, err, errlen);
		if (rc != GK_OK)
			error_prefix(err, errlen, "'%s': ", path);
	}
	buf_release(&file); /* wipes */
	return rc;
}

/* items[] is never reallocated after this, so the pointers stay valid. */
static int index_providers(struct envkeys *keys, const struct registry *reg)
{
	keys->by_provider = calloc(reg->count ? reg->count : 1, sizeof(*keys->by_provider));
	if (!keys->by_provider)
		return GK_NOMEM;
	keys->providers = reg->providers;
	keys->provider_count = reg->count;
	for (size_t i = 0; i < reg->count; i++) {
		const char *name = reg->providers[i].env_var;

		keys->by_provider[i] = name ? find(keys, name, strlen(name)) : NULL;
	}
	return GK_OK;
}

int envkeys_load(struct envkeys *keys, const struct registry *reg, const char *env_file, char *err,
		 size_t errlen)
{
	keys->items = calloc(reg->count ? reg->count : 1, sizeof(*keys->items));
	keys->count = 0;
	keys->by_provider = NULL;
	keys->providers = NULL;
	keys->provider_count = 0;
	if (!keys->items)
		return set_error(err, errlen, "out of memory");
	for (size_t i = 0; i < reg->count; i++) {
		const char *name = reg->providers[i].env_var;
		const char *value;

		if (!name || find(keys, name, strlen(name)))
			continue;
		keys->items[keys->count].name = name;
		value = getenv(name);
		if (value && set_value(&keys->items[keys->count], value, strlen(value)) != GK_OK) {
			envkeys_release(keys);
			return set_error(err, errlen, "out of memory");
		}
		keys->count++;
	}
	if (index_providers(keys, reg) != GK_OK) {
		envkeys_release(keys);
		return set_error(err, errlen, "out of memory");
	}
	if (env_file && apply_file(keys, env_file, err, errlen) != GK_OK) {
		envkeys_release(keys);
		return GK_ERR;
	}
	return GK_OK;
}

void envkeys_release(struct envkeys *keys)
{
	for (size_t i = 0; i < keys->count; i++)
		wipe_free(keys->items[i].value);
	free(keys->items);
	free(keys->by_provider);
	keys->items = NULL;
	keys->count = 0;
	keys->by_provider = NULL;
	keys->providers = NULL;
	keys->provider_count = 0;
}

const char *envkeys_get(const struct envkeys *keys, const char *name)
{
	const struct envkey *key = name ? find(keys, name, strlen(name)) : NULL;

	return key ? key->value : NULL;
}

const char *envkeys_of(const struct envkeys *keys, const struct provider *p)
{
	if (keys->by_provider && p >= keys->providers && p < keys->providers + keys->provider_count) {
		const struct envkey *key = keys->by_provider[p - keys->providers];

		return key ? key->value : NULL;
	}
	return envkeys_get(keys, p->env_var);
}
