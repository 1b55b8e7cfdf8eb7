/* registry.h: the LLM providers this service knows, in display order.
 *
 * The provider list exists only here: the built-in default comes from
 * providers.json at build time; GOFANNON_PROVIDERS_FILE replaces it. The
 * front end and every endpoint read it; adding a provider is one entry. */
#ifndef GK_REGISTRY_H
#define GK_REGISTRY_H

#include <stddef.h>

#define PROVIDER_ID_MAX 32
#define REGISTRY_MAX_PROVIDERS 64
/* The largest monthly allowance on a system key: far past any month's use,
 * and small enough that no sum of it overflows. */
#define REGISTRY_ALLOWANCE_MAX 1000000000000000LL
#define REGISTRY_RESERVED_ID "activity" /* a path segment of the API, never a provider id */

enum wire_style {
	WIRE_OPENAI,
	WIRE_ANTHROPIC,
	WIRE_GEMINI,
};

struct provider {
	char *id; /* [a-z0-9][a-z0-9_-]*, matched exactly */
	char *name;
	char *description;    /* "" when absent */
	char *env_var;	      /* NULL: no system-wide key */
	char *user_key_field; /* NULL: users cannot store a key */
	enum wire_style wire_style;
	char *base_url; /* after any <ID>_BASE_URL override */
	char *verify;	/* how a key is checked: NULL, the wire style's model
			 * list; "chat", a billed 1-token completion; else a
			 * path under base_url to GET ("/key") */
	char **models;	/* NULL-terminated */
	size_t model_count;
	/* Tokens (input + output) each user may spend per UTC month with the
	 * system-wide key: "systemKeyMonthlyTokens", replaced by a non-empty
	 * <ID>_SYSTEM_KEY_MONTHLY_TOKENS. 0: no allowance (allowance.h). */
	long long system_key_allowance;
};

struct registry {
	struct provider *providers;
	size_t count;
	/* Different for every registry parsed in this process: what is
	 * derived from a registry once and kept (the keystore's HMGET names,
	 * the status members of /api/providers) is rebuilt when it changes.
	 * 0 (a registry built by hand, in the tests): nothing is kept. */
	unsigned long serial;
};

/* Parses registry JSON. Returns GK_OK, or GK_ERR with a message in err that
 * names the entry and field at fault. A non-empty environment variable
 * <ID>_BASE_URL (OPENAI_BASE_URL, ...) replaces the entry's base URL, and
 * <ID>_SYSTEM_KEY_MONTHLY_TOKENS its allowance (0 removes it; anything but
 * a whole number from 0 to REGISTRY_ALLOWANCE_MAX is an error naming the
 * variable). */
int registry_parse(struct registry *reg, const char *json, size_t len, char *err, size_t errlen);
/* Loads GOFANNON_PROVIDERS_FILE when path is non-NULL, else the built-in
 * registry; base URL overrides come from the environment. */
int registry_load(struct registry *reg, const char *path, char *err, size_t errlen);
void registry_release(struct registry *reg);

const struct provider *registry_find(const struct registry *reg, const char *id);
/* 1 when verifying a key of p costs money ("verify": "chat", a 1-token
 * completion), else 0. */
int registry_verify_billed(const struct provider *p);
const char *wire_style_name(enum wire_style style);

extern const char default_registry_json[];

#endif
