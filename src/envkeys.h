/* envkeys.h: the system-wide keys, the fallback after a user's own key.
 *
 * For each provider's envVar: the process environment, overridden by the
 * file named in GOFANNON_ENV_FILE when set (lines NAME=value, '#' comments,
 * an optional "export " and optional matching quotes: the format systemd's
 * EnvironmentFile= reads too). A variable set to "" counts as unset, and a
 * file line "NAME=" unsets a variable of the process environment. Reloaded
 * on SIGHUP. Values are wiped when released. */
#ifndef GK_ENVKEYS_H
#define GK_ENVKEYS_H

#include <stddef.h>

#include "registry.h"

#define ENV_FILE_MAX (256 * 1024)

struct envkey {
	const char *name; /* borrowed from the registry */
	char *value;	  /* NULL or non-empty */
};

struct envkeys {
	struct envkey *items;
	size_t count;
	/* Each registry provider's entry in items (NULL: it names no envVar),
	 * found once at load, so that a request looks its providers' keys up
	 * in constant time: GET /api/providers grows linearly with them. */
	const struct envkey **by_provider;
	const struct provider *providers; /* the registry's, to index by_provider */
	size_t provider_count;
};

/* Reads the keys for reg. Returns GK_OK, or GK_ERR with err set when the
 * file cannot be read or has a malformed line. */
int envkeys_load(struct envkeys *keys, const struct registry *reg, const char *env_file, char *err,
		 size_t errlen);
/* Applies the text of an env file on top of keys (exposed for tests). */
int envkeys_apply_text(struct envkeys *keys, const char *text, size_t len, char *err, size_t errlen);
void envkeys_release(struct envkeys *keys);

/* The non-empty value of name, or NULL. */
const char *envkeys_get(const struct envkeys *keys, const char *name);

/* The non-empty value of p's envVar, or NULL: without a search when p is
 * one of the providers of the registry keys were loaded for. */
const char *envkeys_of(const struct envkeys *keys, const struct provider *p);

#endif
