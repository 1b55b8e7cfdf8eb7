/* keystore_internal.h: what the keystore_*.c files share, for them only.
 * keystore.c owns the connection and the key hash; each other file owns
 * one part of the schema (keystore_usage.c the usage counters,
 * keystore_lease.c the LLM call leases) and sends its commands through
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

/* After a write: GK_OK, or GK_UNCERTAIN when fewer replicas than
 * GOFANNON_REDIS_MIN_REPLICAS acknowledged it. */
int keystore_wait_replicas(struct keystore *ks);

/* A reply of a shape the command never gives: logged (never quoting it),
 * the connection dropped; returns GK_UNAVAILABLE for the caller to pass on. */
int keystore_unexpected_reply(struct keystore *ks, const char *command, const struct redisReply *reply,
			      const char *why);

/* *out = a copy (in arena) of a string reply r, NULL for any other type;
 * *len (when len is not NULL) its length. GK_OK or GK_NOMEM. */
int keystore_copy_string(struct arena *arena, const struct redisReply *r, const char **out, size_t *len);

/* Copies s into out as a SCAN MATCH pattern that matches s literally:
 * GK_OK, or GK_ERR when it does not fit in len. */
int keystore_glob_escape(const char *s, char *out, size_t len);

#endif
