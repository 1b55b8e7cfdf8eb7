#include "app.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mask_memo.h"
#include "status.h"

struct loaded {
	struct registry registry;
	struct keyring keyring;
	struct envkeys envkeys;
	struct jwks token_keys;
	struct stat token_keys_st;
};

/* The group may read the master keys: allowed (a group of operators),
 * said at every start and reload so it is a choice and not an accident. */
static void warn_group_access(const struct keyring *ring, const char *path)
{
	char name[512];

	if (!keyring_group_access(ring))
		return;
	log_escape(path, name, sizeof(name));
	log_event(LOG_WARN, "master_key_file_permissions",
		  "path=\"%s\" mode=%04o hint=\"its group can read it; chmod 600 unless intended\"", name,
		  ring->file_mode);
}

/* Loads everything the service runs with. The master key file is checked
 * each time, at start and on every SIGHUP: a file others can read is
 * refused. */
static int load_all(struct loaded *l, const struct config *config, char *err, size_t errlen)
{
	char why[512];
	int rc;

	memset(l, 0, sizeof(*l));
	if (registry_load(&l->registry, config->providers_file, why, sizeof(why)) != GK_OK) {
		snprintf(err, errlen, "unable to load the provider registry: %s", why);
		return GK_ERR;
	}
	if (!config->master_key_file) {
		snprintf(err, errlen,
			 "GOFANNON_MASTER_KEY_FILE is not set; create a master key with "
			 "'gofannon-keys keygen /etc/gofannon-keys/master.key' and point the variable at it");
		goto fail_registry;
	}
	rc = keyring_load(&l->keyring, config->master_key_file, why, sizeof(why));
	if (rc == KEYRING_EXPOSED) {
		/* A new key would not help: the file's mode must change. */
		snprintf(err, errlen, "%s", why);
		goto fail_registry;
	}
	if (rc != GK_OK) {
		snprintf(err, errlen, "no valid master key: %s; create one with 'gofannon-keys keygen %s'",
			 why, config->master_key_file);
		goto fail_registry;
	}
	warn_group_access(&l->keyring, config->master_key_file);
	if (envkeys_load(&l->envkeys, &l->registry, config->env_file, why, sizeof(why)) != GK_OK) {
		snprintf(err, errlen, "unable to load the system-wide keys: %s", why);
		keyring_release(&l->keyring);
		goto fail_registry;
	}
	if (config->jwt_keys_file &&
	    jwks_load(&l->token_keys, config->jwt_keys_file, &l->token_keys_st, why, sizeof(why)) != GK_OK) {
		snprintf(err, errlen, "GOFANNON_JWT_KEYS_FILE: %s", why);
		envkeys_release(&l->envkeys);
		keyring_release(&l->keyring);
		goto fail_registry;
	}
	return GK_OK;
fail_registry:
	registry_release(&l->registry);
	return GK_ERR;
}

static void release_loaded(struct app *app)
{
	envkeys_release(&app->envkeys); /* borrows names from the registry: first */
	keyring_release(&app->keyring);
	registry_release(&app->registry);
	jwks_release(&app->token_keys);
}

static void take_loaded(struct app *app, struct loaded *l)
{
	app->registry = l->registry;
	app->keyring = l->keyring;
	app->envkeys = l->envkeys;
	app->token_keys = l->token_keys;
	app->token_keys_st = l->token_keys_st;
	app->token_keys_checked = time(NULL);
}

int app_load(struct app *app, const struct config *config, char *err, size_t errlen)
{
	struct loaded l;

	memset(app, 0, sizeof(*app));
	app->config = config;
	if (load_all(&l, config, err, errlen) != GK_OK)
		return GK_ERR;
	take_loaded(app, &l);
	keystore_init(&app->store, &config->redis, config->redis_prefix, config->redis_timeout_ms);
	return GK_OK;
}

int app_reload(struct app *app, char *err, size_t errlen)
{
	struct loaded l;

	if (load_all(&l, app->config, err, errlen) != GK_OK)
		return GK_ERR;
	release_loaded(app);
	take_loaded(app, &l);
	mask_memo_clear(); /* masks opened with the keyring just replaced */
	return GK_OK;
}

void app_release(struct app *app)
{
	keystore_release(&app->store);
	llm_client_release(&app->llm);
	release_loaded(app);
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

const struct jwks *app_token_keys(struct app *app, time_t now)
{
	const char *path = app->config->jwt_keys_file;
	struct jwks fresh;
	struct stat st;
	char why[512];

	if (!path || now == app->token_keys_checked)
		return &app->token_keys;
	app->token_keys_checked = now;
	/* A file being replaced may be missing for a moment: keep the keys. */
	if (stat(path, &st) != 0 || same_file(&st, &app->token_keys_st))
		return &app->token_keys;
	if (jwks_load(&fresh, path, &st, why, sizeof(why)) != GK_OK) {
		char esc[512];

		app->token_keys_st = st; /* once per change, not once a second */
		log_escape(why, esc, sizeof(esc));
		log_event(LOG_ERROR, "reload_failed",
			  "what=GOFANNON_JWT_KEYS_FILE error=\"%s\" kept=\"previous keys\"", esc);
		return &app->token_keys;
	}
	jwks_release(&app->token_keys);
	app->token_keys = fresh;
	app->token_keys_st = st;
	log_event(LOG_INFO, "token_keys_reloaded", "keys=%zu", fresh.count);
	return &app->token_keys;
}

/* Loads what serve loads, from the same environment. */
int app_load_for_command(struct config *config, struct app *app)
{
	char err[1024];

	if (config_load(config, err, sizeof(err)) != GK_OK) {
		log_event(LOG_ERROR, "bad_configuration", "error=\"%s\"", err);
		return GK_ERR;
	}
	log_set_level(config->log_level);
	if (app_load(app, config, err, sizeof(err)) != GK_OK) {
		log_event(LOG_ERROR, "startup_failed", "error=\"%s\"", err);
		return GK_ERR;
	}
	return GK_OK;
}
