/* activity.h: what the service tells about a change to a user's keys: an
 * entry in the user's activity stream (keystore.h names its fields) and,
 * for each change of a key, one log line for central log collection:
 *
 *   level=info event=key_changed user="alice" provider=openai action=added by=user
 *
 * Never key material, never a mask. A trail entry that Redis does not take
 * is logged (event=activity_not_recorded) and does not fail the request:
 * the change it describes has happened.
 *
 * Also the query of GET /api/users/me/api-keys/activity (a pure parser,
 * unit-tested). */
#ifndef GK_ACTIVITY_H
#define GK_ACTIVITY_H

#include <stddef.h>

#include "keystore.h"

#define ACTIVITY_PAGE_DEFAULT 20
#define ACTIVITY_PAGE_MAX 100
#define ACTIVITY_CLIENT_MAX 64 /* an address longer than this is recorded as "" */

/* Writes ev (its "at" set to now when NULL) to the user's stream, and the
 * key_changed line when ev->action changes a key. */
void activity_record(struct keystore *ks, const char *user, struct keystore_event *ev);

/* The key_changed line alone, for a change whose entry went into Redis
 * with it (keystore_expire). */
void activity_log_change(const char *user, const struct keystore_event *ev);

/* 1 for the actions that change a key (added, replaced, removed, expired,
 * revoked); 0 for verified and rejected. */
int activity_changes_key(const char *action);

/* ev->source for a key source name of resolve.h ("user", "env"). */
const char *activity_source(const char *key_source);

/* The address to record for a client: REMOTE_ADDR as nginx passed it, or
 * "" when absent or longer than ACTIVITY_CLIENT_MAX. */
const char *activity_client(const char *remote_addr);

struct activity_page {
	long long limit;
	char cursor[KEYSTORE_STREAM_ID_MAX + 1]; /* "" for the newest */
};

/* Reads "limit=N&cursor=ID" (either, both, or query NULL) into page;
 * other parameters are ignored. GK_OK, or GK_ERR with why a sentence (HTTP
 * 400). */
int activity_parse_page(const char *query, struct activity_page *page, char *why, size_t whylen);

/* 1 when s is a stream id "<ms>-<seq>", each a 64-bit unsigned number. */
int activity_valid_id(const char *s, size_t len);

#endif
