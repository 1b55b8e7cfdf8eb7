/* app.h: everything a worker serves requests with.
 *
 * The registry, master keys and system keys are loaded by app_load() before
 * any worker starts, and again by app_reload() on SIGHUP; the Redis
 * connection and the libcurl handle are per process and made lazily, so
 * neither is shared across fork(). The bearer token keys
 * (GOFANNON_JWT_KEYS_FILE) are loaded with them, and each worker also
 * re-reads that file when it changes on disk. */
#ifndef GK_APP_H
#define GK_APP_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "envkeys.h"
#include "jwks.h"
#include "keyring.h"
#include "keystore.h"
#include "llm.h"
#include "registry.h"

struct app {
	const struct config *config;
	struct registry registry;
	struct keyring keyring;
	struct envkeys envkeys;
	struct keystore store;
	struct llm_client llm;	   /* this process's libcurl handle, beside its Redis connection */
	struct jwks token_keys;	   /* empty unless GOFANNON_JWT_KEYS_FILE is set */
	struct stat token_keys_st; /* the file they came from, or the last one that failed */
	time_t token_keys_checked; /* when that file was last looked at */
};

/* Loads registry, master keys and system keys. Returns GK_OK, or GK_ERR with
 * err saying what failed (and, for the master key, how to make one). */
int app_load(struct app *app, const struct config *config, char *err, size_t errlen);
/* Loads everything anew; on failure keeps the running state and returns GK_ERR. */
int app_reload(struct app *app, char *err, size_t errlen);
void app_release(struct app *app);

/* The keys bearer tokens are verified with. At most once a second it looks
 * at GOFANNON_JWT_KEYS_FILE and, when the file is another one (inode,
 * size or mtime changed), loads it; a file that does not load keeps the
 * last good keys and logs event=reload_failed once per change. */
const struct jwks *app_token_keys(struct app *app, time_t now);

/* For a command other than serve (rekey, user, revoke): loads the
 * configuration and the app from the same environment serve reads, logging
 * what failed. GK_OK or GK_ERR. */
int app_load_for_command(struct config *config, struct app *app);

#endif
