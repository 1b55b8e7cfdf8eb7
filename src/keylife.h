/* keylife.h: a stored key's life after it is put: its expiry, when it was
 * last used, and whether the provider refused it (the "<F>:*" marks of
 * keystore.h), decided here from the values the request's one read of the
 * key hash brought.
 *
 * Expiry: a key whose expiresAt has come (now >= expiresAt) is deleted by
 * the first read after it, whichever endpoint reads: keylife_fetch stands
 * in for keystore_fetch. The deletion leaves "<F>:expiredAt" so the user
 * is told (GET /api/providers) until the key is replaced, writes the
 * activity entry "expired" and the key_changed log line, and never deletes
 * a key another request put meanwhile (keystore_expire compares).
 *
 * The pure decisions (keylife_touch_due, keylife_expired, ...) take the
 * time as an argument, for the unit tests; everything else reads
 * clock_now() (clock.h). */
#ifndef GK_KEYLIFE_H
#define GK_KEYLIFE_H

#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "clock.h"
#include "keystore.h"
#include "registry.h"

struct json_object;

#define KEYLIFE_DAYS_MAX 365	     /* the furthest expiry a PUT may give, in days */
#define KEYLIFE_SOON_DAYS 7	     /* expiresSoon within this many days of it */
#define KEYLIFE_FETCH_ATTEMPTS 5     /* reads of a hash that keeps changing under an expiry */
#define KEYLIFE_DAY_S (24 * 60 * 60) /* a day, for expiresInDays */

/* 1 when "<F>:lastUsedAt" should be written at now: absent, unreadable, or
 * at least KEYSTORE_TOUCH_EVERY_S before now (or after it: a clock moved
 * back). */
int keylife_touch_due(const char *last_used_at, time_t now);

/* 1 when a key with this expiresAt (NULL: never) has expired at now. An
 * unreadable value is treated as expired: a key is never kept past an
 * expiry this service cannot read. */
int keylife_expired(const char *expires_at, time_t now);

/* 1 when it has not expired and expires within KEYLIFE_SOON_DAYS. */
int keylife_expires_soon(const char *expires_at, time_t now);

/* The expiry a PUT body asks for: "expiresAt" (a time in the future, at
 * most KEYLIFE_DAYS_MAX days ahead) or "expiresInDays" (a whole number
 * from 1 to KEYLIFE_DAYS_MAX), or neither (or null): never. GK_OK with
 * out the ISO time, or "" for never; GK_ERR with why a sentence naming
 * the field (HTTP 422). */
int keylife_parse_expiry(struct json_object *root, time_t now, char out[CLOCK_ISO_LEN + 1], char *why,
			 size_t whylen);

/* keystore_fetch, then deletes the keys that have expired (see above) and
 * reports them in out as none stored, expired_at set. client is the
 * address for the activity entries. GK_OK, GK_UNAVAILABLE, GK_NOMEM. */
int keylife_fetch(struct keystore *ks, struct arena *arena, const char *user, const struct registry *reg,
		  const char *client, struct stored_key *out);

/* After a provider call made with the user's stored key sk of p: writes
 * "<F>:lastUsedAt" when due. A failure is logged, never the caller's. */
void keylife_used(struct keystore *ks, const char *user, const struct provider *p,
		  const struct stored_key *sk);

/* After the provider refused the user's stored key sk of p with status:
 * flags it (until it is replaced) and writes the activity entry
 * "rejected", unless another key was stored meanwhile. Failures are
 * logged. */
void keylife_rejected(struct keystore *ks, const char *user, const struct provider *p,
		      const struct stored_key *sk, long status, const char *client);

#endif
