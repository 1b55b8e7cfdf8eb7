/* app.h: everything a worker serves requests with.
 *
 * The registry, master keys and system keys are loaded by app_load() before
 * any worker starts, and again by app_reload() on SIGHUP; the Redis
 * connection is per process and opened lazily, so it is never shared across
 * fork(). */
#ifndef GK_APP_H
#define GK_APP_H

#include <stddef.h>

#include "config.h"
#include "envkeys.h"
#include "keyring.h"
#include "keystore.h"
#include "registry.h"

struct app {
	const struct config *config;
	struct registry registry;
	struct keyring keyring;
	struct envkeys envkeys;
	struct keystore store;
};

/* Loads registry, master keys and system keys. Returns GK_OK, or GK_ERR with
 * err saying what failed (and, for the master key, how to make one). */
int app_load(struct app *app, const struct config *config, char *err, size_t errlen);
/* Loads everything anew; on failure keeps the running state and returns GK_ERR. */
int app_reload(struct app *app, char *err, size_t errlen);
void app_release(struct app *app);

#endif
