#include "app.h"

#include <stdio.h>
#include <string.h>

#include "status.h"

struct loaded {
	struct registry registry;
	struct keyring keyring;
	struct envkeys envkeys;
};

static int load_all(struct loaded *l, const struct config *config, char *err, size_t errlen)
{
	char why[512];

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
	if (keyring_load(&l->keyring, config->master_key_file, why, sizeof(why)) != GK_OK) {
		snprintf(err, errlen, "no valid master key: %s; create one with 'gofannon-keys keygen %s'",
			 why, config->master_key_file);
		goto fail_registry;
	}
	if (envkeys_load(&l->envkeys, &l->registry, config->env_file, why, sizeof(why)) != GK_OK) {
		snprintf(err, errlen, "unable to load the system-wide keys: %s", why);
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
}

int app_load(struct app *app, const struct config *config, char *err, size_t errlen)
{
	struct loaded l;

	memset(app, 0, sizeof(*app));
	app->config = config;
	if (load_all(&l, config, err, errlen) != GK_OK)
		return GK_ERR;
	app->registry = l.registry;
	app->keyring = l.keyring;
	app->envkeys = l.envkeys;
	keystore_init(&app->store, &config->redis, config->redis_prefix, config->redis_timeout_ms);
	return GK_OK;
}

int app_reload(struct app *app, char *err, size_t errlen)
{
	struct loaded l;

	if (load_all(&l, app->config, err, errlen) != GK_OK)
		return GK_ERR;
	release_loaded(app);
	app->registry = l.registry;
	app->keyring = l.keyring;
	app->envkeys = l.envkeys;
	return GK_OK;
}

void app_release(struct app *app)
{
	keystore_release(&app->store);
	release_loaded(app);
}
