/* config.h: the settings, all read from the environment at start.
 *
 * Strings point into the environment (or are literals) and live as long as
 * the process. See README "Configuration" for each variable. */
#ifndef GK_CONFIG_H
#define GK_CONFIG_H

#include <stddef.h>

#include "log.h"
#include "redis_url.h"

/* What a request may take beyond its provider call (GOFANNON_LLM_TIMEOUT). */
#define STOP_MARGIN_S 10
#define CONFIG_WORKERS_MAX 256 /* GOFANNON_WORKERS and --workers */
#define CONFIG_REDIS_PREFIX_MAX 100

struct config {
	const char *user_param;	     /* GOFANNON_USER_PARAM, default REMOTE_USER */
	const char *allowed_origins; /* GOFANNON_ALLOWED_ORIGINS, NULL: same origin */
	const char *providers_file;  /* GOFANNON_PROVIDERS_FILE, NULL: built-in */
	const char *env_file;	     /* GOFANNON_ENV_FILE, NULL: none */
	const char *master_key_file; /* GOFANNON_MASTER_KEY_FILE, required */
	const char *redis_url;	     /* GOFANNON_REDIS_URL */
	struct redis_target redis;
	const char *redis_prefix; /* GOFANNON_REDIS_PREFIX, default gofannon */
	int redis_timeout_ms;	  /* GOFANNON_REDIS_TIMEOUT_MS, default 1000 */
	int workers;		  /* GOFANNON_WORKERS, default 4 */
	long max_requests;	  /* GOFANNON_MAX_REQUESTS, 0: no limit */
	int stop_timeout_s;	  /* GOFANNON_STOP_TIMEOUT, default llm_timeout_s + 10 */
	int llm_timeout_s;	  /* GOFANNON_LLM_TIMEOUT, default 120 */
	int fcgi_timeout_s;	  /* GOFANNON_FCGI_TIMEOUT, default 30 */
	int llm_per_user;	  /* GOFANNON_LLM_PER_USER, default 4, 0: no limit */
	int llm_workers_max;	  /* GOFANNON_LLM_WORKERS_MAX, default 64, 0: none */
	int key_cache;		  /* GOFANNON_KEY_CACHE, on (1, default) or off (0) */
	enum log_level log_level; /* GOFANNON_LOG_LEVEL, default info */
	/* Bearer ID tokens: all three of issuer, audience and keys file, or none
	 * (then tokens are ignored). */
	const char *jwt_issuer;	    /* GOFANNON_JWT_ISSUER */
	const char *jwt_audience;   /* GOFANNON_JWT_AUDIENCE */
	const char *jwt_keys_file;  /* GOFANNON_JWT_KEYS_FILE */
	const char *jwt_user_claim; /* GOFANNON_JWT_USER_CLAIM, default sub */
};

/* Fills cfg from the environment. Returns GK_OK, or GK_ERR with err naming
 * the variable and what is wrong with it. */
int config_load(struct config *cfg, char *err, size_t errlen);

#endif
