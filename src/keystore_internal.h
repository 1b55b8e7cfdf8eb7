/* keystore_internal.h: what the keystore_*.c files share, for them only.
 * keystore.c owns the connection and the key hash; each other file owns
 * one part of the schema (keystore_usage.c the usage counters,
 * keystore_lease.c the LLM call leases, keystore_keylife.c the marks of a
 * key's life, keystore_activity.c the activity stream) and sends its commands through
 * these, so reconnection, sentinel mode, error replies and WAIT behave the
 * same for every command. Nothing outside keystore*.c includes this. */
#ifndef GK_KEYSTORE_INTERNAL_H
#define GK_KEYSTORE_INTERNAL_H

#include <stddef.h>

#include "arena.h"
#include "identity.h"
#include "keystore.h"

struct redisReply;

/* Room for any key name this service builds: the prefix, a user id and a
 * suffix. */
#define KEY_NAME_MAX (sizeof(((struct keystore *)0)->prefix) + IDENTITY_MAX + 32)

/* The marks beside a key field <F> in the key hash: "<F><suffix>". */
#define KEYSTORE_UPDATED ":updatedAt"
#define KEYSTORE_EXPIRES ":expiresAt"
#define KEYSTORE_LAST_USED ":lastUsedAt"
#define KEYSTORE_REJECTED ":rejectedAt"
#define KEYSTORE_EXPIRED ":expiredAt"

/* "<field><suffix>" into out: GK_OK, or GK_ERR when it does not fit. */
int keystore_mark_field(const char *field, const char *suffix, char *out, size_t len);

/* GK_OK when snprintf's result n fitted in len bytes, else GK_ERR. */
int keystore_fits(int n, size_t len);

/* "<prefix>:users:{<user>}<suffix>": the name of a per-user key (the hash
 * tag keeps every key of one user in one Cluster slot). */
int keystore_user_name(const struct keystore *ks, const char *user, const char *suffix, char *out,
		       size_t len);

/* Connects when there is no connection (GK_OK or GK_UNAVAILABLE);
 * keystore_drop closes it, so the next command connects again. */
int keystore_connect(struct keystore *ks);
void keystore_drop(struct keystore *ks);

/* One command; connects first when needed, and sends it once more on a
 * fresh connection when the kept one turned out dead before the server
 * read it. NULL (connection dropped, outage logged) on any failure,
 * including an error reply. */
struct redisReply *keystore_command(struct keystore *ks, int argc, const char **argv, const size_t *lens);

/* One command on the connection as it is (inside MULTI or WATCH: never
 * sent again). NULL and the connection dropped on any failure. */
struct redisReply *keystore_command_watched(struct keystore *ks, int argc, const char **argv,
					    const size_t *lens);

/* count commands of argc arguments each in one round trip; GK_OK or
 * GK_UNAVAILABLE. Sent once more on a fresh connection when the kept one
 * was found dead before the first reply. */
int keystore_pipeline_run(struct keystore *ks, size_t count, int argc, const char *const *argv[]);

/* MULTI, count commands (argc[i] arguments argv[i] each) and EXEC in one
 * round trip. GK_OK with *exec EXEC's reply (free it), an array of one
 * reply per command; GK_CONFLICT when a key WATCHed before changed and
 * nothing ran; GK_UNAVAILABLE. watched: a WATCH is in force on the
 * connection, so it is never sent again on another one. */
int keystore_transaction(struct keystore *ks, int watched, size_t count, const int *argc,
			 const char *const *argv[], struct redisReply **exec);

/* After a write: GK_OK, or GK_UNCERTAIN when fewer replicas than
 * GOFANNON_REDIS_MIN_REPLICAS acknowledged it. */
int keystore_wait_replicas(struct keystore *ks);

/* A reply of a shape the command never gives: logged (never quoting it),
 * the connection dropped; returns GK_UNAVAILABLE for the caller to pass on. */
int keystore_unexpected_reply(struct keystore *ks, const char *command, const struct redisReply *reply,
			      const char *why);

/* The key cache (keystore_cache.h; all of these do nothing without one).
 * keystore_cache_attach: after a new connection, sets up the invalidation
 * connection and the tracking (GK_OK, even when the cache stays off; or
 * GK_UNAVAILABLE with the connection dropped). keystore_cache_detach: on
 * every drop, closes it and forgets everything. keystore_cached_read: a
 * read command of key (keystore_command's contract) answered from the cache
 * when it holds a fresh reply to the same argv; the reply is lent until the
 * next keystore call, and *owned is what the caller frees (NULL for a
 * hit, the reply itself when Redis answered). keystore_cache_written:
 * every write to a key that may be cached calls it with that key. */
int keystore_cache_attach(struct keystore *ks);
void keystore_cache_detach(struct keystore *ks);
const struct redisReply *keystore_cached_read(struct keystore *ks, const char *key, int argc,
					      const char **argv, struct redisReply **owned);
void keystore_cache_written(struct keystore *ks, const char *key);

/* *out = a copy (in arena) of a string reply r, NULL for any other type;
 * *len (when len is not NULL) its length. GK_OK or GK_NOMEM. */
int keystore_copy_string(struct arena *arena, const struct redisReply *r, const char **out, size_t *len);

/* Copies s into out as a SCAN MATCH pattern that matches s literally:
 * GK_OK, or GK_ERR when it does not fit in len. */
int keystore_glob_escape(const char *s, char *out, size_t len);

#endif
