/* rekey.h: re-seals every stored API key under the current master key.
 *
 * Master key rotation: append a key to the key file (keygen --append), let
 * the service reload (SIGHUP) so that it opens values under both keys and
 * seals new ones under the new key, run rekey, then drop the old line.
 *
 * rekey walks every user's hash with SCAN. In each hash it opens the
 * values sealed under an older master key and seals them again under
 * keyring_current(); the new values are written only if no other client
 * changed the hash meanwhile (keystore_rewrite), else the hash is read
 * again, so a concurrent PUT or DELETE is never undone. The ":updatedAt"
 * times stay: the user did not change the key. Values that do not open,
 * and fields of providers no longer in the registry, are left as they are
 * and counted. Nothing secret is logged; users are named so the operator
 * can tell them to save a damaged key again. */
#ifndef GK_REKEY_H
#define GK_REKEY_H

#include "app.h"

#define REKEY_ATTEMPTS 20 /* reads of one hash that keeps changing under us */

struct rekey_report {
	unsigned long hashes;	  /* user hashes walked */
	unsigned long resealed;	  /* values sealed again under the current key */
	unsigned long current;	  /* values already under it */
	unsigned long unreadable; /* values that did not open: left as they were */
	unsigned long unknown;	  /* fields of providers not in the registry: left */
	unsigned long retries;	  /* hashes read again after a concurrent write */
	unsigned long failed;	  /* hashes not rewritten (Redis error, or kept changing) */
};

/* Returns GK_OK when every hash was walked and rewritten, GK_UNAVAILABLE
 * when Redis failed (the report says how far it got), or GK_ERR. */
int rekey_all(struct app *app, struct rekey_report *report);

#endif
