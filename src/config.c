#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "num.h"
#include "status.h"

static const char *env_or(const char *name, const char *fallback)
{
	const char *value = getenv(name);

	return value && *value ? value : fallback;
}

static int env_number(const char *name, long def, long min, long max, long *out, char *err, size_t errlen)
{
	const char *value = env_or(name, NULL);
	char why[96];
	long long n;

	if (!value) {
		*out = def;
		return GK_OK;
	}
	if (num_parse(value, min, max, &n, why, sizeof(why)) != GK_OK)
		return set_error(err, errlen, "%s %s", name, why);
	*out = (long)n;
	return GK_OK;
}

/* "on" or "off", def when unset. */
static int env_switch(const char *name, int def, int *out, char *err, size_t errlen)
{
	const char *value = env_or(name, NULL);

	*out = def;
	if (!value)
		return GK_OK;
	if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
		return set_error(err, errlen, "%s must be on or off", name);
	*out = strcmp(value, "on") == 0;
	return GK_OK;
}

/* The token settings come as a set: a partial set is a mistake that would
 * otherwise switch token verification off without a word. */
static int load_jwt(struct config *cfg, char *err, size_t errlen)
{
	const char *names[3] = { "GOFANNON_JWT_ISSUER", "GOFANNON_JWT_AUDIENCE", "GOFANNON_JWT_KEYS_FILE" };
	const char **values[3] = { &cfg->jwt_issuer, &cfg->jwt_audience, &cfg->jwt_keys_file };
	int set = 0;

	for (int i = 0; i < 3; i++) {
		*values[i] = env_or(names[i], NULL);
		set += *values[i] != NULL;
	}
	cfg->jwt_user_claim = env_or("GOFANNON_JWT_USER_CLAIM", "sub");
	if (set == 0 || set == 3)
		return GK_OK;
	for (int i = 0; i < 3; i++)
		if (!*values[i])
			return set_error(err, errlen,
					 "%s is not set; bearer tokens need GOFANNON_JWT_ISSUER, "
					 "GOFANNON_JWT_AUDIENCE and GOFANNON_JWT_KEYS_FILE together",
					 names[i]);
	return GK_OK;
}

/* The settings for Sentinel and replicas that live outside the URL. */
static int config_redis_ha(struct redis_target *t, char *err, size_t errlen)
{
	const char *user = env_or("GOFANNON_SENTINEL_USER", ""),
		   *pw = env_or("GOFANNON_SENTINEL_PASSWORD", "");
	long n;

	if (strlen(user) >= sizeof(t->sentinel_user) || strlen(pw) >= sizeof(t->sentinel_password))
		return set_error(err, errlen,
				 "GOFANNON_SENTINEL_USER or GOFANNON_SENTINEL_PASSWORD is too long");
	snprintf(t->sentinel_user, sizeof(t->sentinel_user), "%s", user);
	snprintf(t->sentinel_password, sizeof(t->sentinel_password), "%s", pw);
	if (env_number("GOFANNON_REDIS_MIN_REPLICAS", 0, 0, 100, &n, err, errlen) != GK_OK)
		return GK_ERR;
	t->min_replicas = (int)n;
	return GK_OK;
}

int config_load(struct config *cfg, char *err, size_t errlen)
{
	const char *level;
	char why[200];
	long n;

	memset(cfg, 0, sizeof(*cfg));
	cfg->user_param = env_or("GOFANNON_USER_PARAM", "REMOTE_USER");
	cfg->allowed_origins = env_or("GOFANNON_ALLOWED_ORIGINS", NULL);
	cfg->providers_file = env_or("GOFANNON_PROVIDERS_FILE", NULL);
	cfg->env_file = env_or("GOFANNON_ENV_FILE", NULL);
	cfg->master_key_file = env_or("GOFANNON_MASTER_KEY_FILE", NULL);
	cfg->redis_url = env_or("GOFANNON_REDIS_URL", "redis://127.0.0.1:6379/0");
	cfg->redis_prefix = env_or("GOFANNON_REDIS_PREFIX", "gofannon");
	if (strlen(cfg->redis_prefix) > CONFIG_REDIS_PREFIX_MAX)
		return set_error(err, errlen, "GOFANNON_REDIS_PREFIX must be at most %d characters",
				 CONFIG_REDIS_PREFIX_MAX);
	if (redis_url_parse(cfg->redis_url, &cfg->redis, why, sizeof(why)) != GK_OK)
		return set_error(err, errlen, "GOFANNON_REDIS_URL: %s", why);
	if (config_redis_ha(&cfg->redis, err, errlen) != GK_OK)
		return GK_ERR;

	if (env_number("GOFANNON_REDIS_TIMEOUT_MS", 1000, 10, 60000, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->redis_timeout_ms = (int)n;
	if (env_number("GOFANNON_WORKERS", 4, 0, CONFIG_WORKERS_MAX, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->workers = (int)n;
	if (env_number("GOFANNON_MAX_REQUESTS", 0, 0, 1000000000L, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->max_requests = n;
	if (env_number("GOFANNON_LLM_TIMEOUT", 120, 1, 3600, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->llm_timeout_s = (int)n;
	/* By default a graceful stop waits as long as the longest request may
	 * take: a provider call, plus a margin. */
	n = cfg->llm_timeout_s + STOP_MARGIN_S;
	if (env_number("GOFANNON_STOP_TIMEOUT", n, 1, 3700, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->stop_timeout_s = (int)n;
	if (env_number("GOFANNON_FCGI_TIMEOUT", 30, 1, 3600, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->fcgi_timeout_s = (int)n;
	if (env_number("GOFANNON_LLM_PER_USER", 4, 0, 10000, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->llm_per_user = (int)n;
	if (env_number("GOFANNON_LLM_WORKERS_MAX", 64, 0, 4096, &n, err, errlen) != GK_OK)
		return GK_ERR;
	cfg->llm_workers_max = (int)n;

	if (env_switch("GOFANNON_KEY_CACHE", 1, &cfg->key_cache, err, errlen) != GK_OK)
		return GK_ERR;

	cfg->log_level = LOG_INFO;
	level = env_or("GOFANNON_LOG_LEVEL", NULL);
	if (level && log_parse_level(level, &cfg->log_level) != 0)
		return set_error(err, errlen, "GOFANNON_LOG_LEVEL must be debug, info, warn or error");
	return load_jwt(cfg, err, errlen);
}
