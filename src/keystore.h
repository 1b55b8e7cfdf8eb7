/* keystore.h: the one owner of this service's data in Redis: the key and
 * field names (the schema below), the commands, and the connection. No
 * other module builds a name or sends a command.
 *
 * Schema. Each user's keys in one hash "<prefix>:users:{<user>}:apiKeys"
 * (the braces are a Redis Cluster hash tag); for each provider that takes
 * user keys, field "<userKeyField>" holds the sealed value and
 * "<userKeyField>:updatedAt" its ISO 8601 time. One field per provider, so
 * writes for different providers never overwrite each other. Beside them,
 * each "<F>:<what>" an ISO 8601 UTC time (keystore_keylife.c):
 *   "<F>:expiresAt"  when the key expires; absent: never
 *   "<F>:lastUsedAt" when it last went to the provider, written only when
 *                    absent or at least KEYSTORE_TOUCH_EVERY_S old
 *   "<F>:rejectedAt" when the provider refused it (401/403); until replaced
 *   "<F>:expiredAt"  when an expired key was deleted on a read; until the
 *                    next PUT or DELETE
 * A PUT sets <F>, ":updatedAt" and ":expiresAt" (or removes it) and removes
 * the other three, in one MULTI/EXEC; a DELETE removes all six. Field names
 * hold no ':' but these, so a walk over the values (rekey) skips them all.
 * What happened to a user's keys: the stream
 * "<prefix>:users:{<user>}:activity" (keystore_activity.c), capped with
 * XADD MAXLEN ~ KEYSTORE_ACTIVITY_MAXLEN; each entry's fields are "at"
 * (ISO 8601 UTC), "action" (added, replaced, removed, verified, rejected,
 * expired, revoked), "provider", "source" (user or system: whose key),
 * "by" (user or operator), "client" (the address nginx saw; empty for the
 * operator), and "result" (verified only: valid, invalid or error) or
 * "status" (rejected only: the provider's HTTP status). Never key material,
 * never a mask. What a user
 * spent: one hash per user and UTC month beside it,
 * "<prefix>:usage:{<user>}:<YYYY-MM>", fields "<provider>:requests",
 * "<provider>:inputTokens" and "<provider>:outputTokens" (every call), and
 * beside them the same counters per key source, "<provider>:user:<counter>"
 * and "<provider>:system:<counter>", counted with HINCRBY (same hash tag as
 * the key hash).
 *
 * Key cache (keystore_cache.h): with keystore_cache_enable() a worker keeps
 * the replies of its reads of key hashes, and a second connection
 * subscribed to "__redis__:invalidate" that the first one's
 * CLIENT TRACKING redirects to, so Redis names every hash changed since
 * it was read; a write through the keystore drops its key's entry at once.
 *
 * A keystore owns one connection, opened on first use with a connect and a
 * command timeout, dropped on any failure and opened again by the next call.
 * Every call returns GK_OK, or GK_UNAVAILABLE when Redis did not answer (the
 * caller answers 503). Not shared between processes: open it after fork.
 *
 * With sentinels (redis-sentinel:// URL) each connect first asks them where
 * the master is (sentinel.h) and checks with ROLE that the server is the
 * master; a READONLY or NOREPLICAS error drops the connection like a
 * transport failure, so the next call finds the master again. After a
 * failed attempt the next one waits a bounded, doubling backoff; calls in
 * between answer GK_UNAVAILABLE at once.
 *
 * With min_replicas N > 0 (GOFANNON_REDIS_MIN_REPLICAS) every write is
 * followed by WAIT N <timeout>; when fewer than N replicas acknowledge it
 * the call returns GK_UNCERTAIN: Redis applied the write, or not, and it
 * may or may not survive a failover. WAIT is not a consensus write. */
#ifndef GK_KEYSTORE_H
#define GK_KEYSTORE_H

#include <stddef.h>
#include <time.h>

#include "arena.h"
#include "redis_url.h"
#include "registry.h"

struct redisContext;
struct redisReply;
struct keystore_cache;

struct keystore {
	struct redis_target target;
	char prefix[128];
	int timeout_ms;
	struct redisContext *ctx;
	int reported_down; /* an outage is logged once, and its end once */
	/* sentinel mode */
	struct redis_address master; /* the last master connected to; host empty before */
	int sentinel_first;	     /* the sentinel to ask first: the last that answered */
	long long retry_at_ms;	     /* no new attempt before this (CLOCK_MONOTONIC) */
	int backoff_ms;		     /* 0 after a success, then doubling to a cap */
	/* the key cache (keystore_cache.h); NULL: every read goes to Redis */
	struct keystore_cache *cache;
	/* keystore_fetch's HMGET fields for the registry it serves, built on
	 * its first call (the registry does not change in a process) */
	struct keystore_fetch_plan *fetch_plan;
};

/* One provider's fields of the key hash, each NULL when absent. */
struct stored_key {
	const char *sealed; /* NULL when none is stored */
	size_t sealed_len;
	const char *updated_at; /* NULL when unknown */
	const char *expires_at;
	const char *last_used_at;
	const char *rejected_at;
	const char *expired_at;
};

#define KEYSTORE_FIELD_MAX 128

void keystore_init(struct keystore *ks, const struct redis_target *target, const char *prefix,
		   int timeout_ms);
void keystore_release(struct keystore *ks);

int keystore_ping(struct keystore *ks);

/* Turns the key cache on for this process (GOFANNON_KEY_CACHE); it starts
 * with the next connection. GK_OK or GK_NOMEM. keystore_release() turns it
 * off again. */
int keystore_cache_enable(struct keystore *ks);

/* Sentinel mode: "host:port" of the master the connection goes to, in buf;
 * NULL without sentinels or without a connection. */
const char *keystore_master(const struct keystore *ks, char *buf, size_t len);

/* Fills out[i] for every provider i of reg (out has reg->count entries),
 * copying the values into arena. A reply of another shape than the HMGET
 * asked for is GK_UNAVAILABLE (logged as event=redis_reply_unexpected),
 * never "no key stored": that would silently put the system key in place
 * of the user's. */
int keystore_fetch(struct keystore *ks, struct arena *arena, const char *user, const struct registry *reg,
		   struct stored_key *out);

/* GK_OK when reply is what an HMGET of fields fields answers: an array of
 * exactly that many elements, each a string or nil. Otherwise GK_ERR with
 * *why naming what was wrong (never quoting the reply). */
int keystore_check_hmget(const struct redisReply *reply, size_t fields, const char **why);

/* Both return GK_UNCERTAIN when the write is not confirmed (see above).
 * keystore_put stores a new key: expires_at NULL for none; the marks of
 * the key it replaces (last used, rejected, expired) go with it. */
int keystore_put(struct keystore *ks, const char *user, const char *field, const char *sealed,
		 const char *updated_at, const char *expires_at);
int keystore_delete(struct keystore *ks, const char *user, const char *field);

/* Usage counters (the usage hash above). The counter names are also the
 * names usage.c gives them in JSON. */
enum keystore_counter {
	KEYSTORE_REQUESTS,
	KEYSTORE_INPUT_TOKENS,
	KEYSTORE_OUTPUT_TOKENS,
	KEYSTORE_COUNTERS
};

extern const char *const keystore_counter_names[KEYSTORE_COUNTERS];

/* Whose key a call went out with: the user's own, or the system-wide key.
 * The names are those of the fields and of usage.c's JSON. */
enum keystore_source {
	KEYSTORE_SOURCE_USER,
	KEYSTORE_SOURCE_SYSTEM,
	KEYSTORE_SOURCES
};

extern const char *const keystore_source_names[KEYSTORE_SOURCES];

struct keystore_usage {
	long long count[KEYSTORE_COUNTERS]; /* indexed by enum keystore_counter */
	/* the same, split by key source; a month counted before sources were
	 * counted has totals its sources do not add up to */
	long long by_source[KEYSTORE_SOURCES][KEYSTORE_COUNTERS];
};

/* Adds amounts[c] to each counter c of the provider in the user's hash of
 * month ("YYYY-MM"), both to the total and to the source's counter; zeros
 * and negatives are left out. The HINCRBYs go in one round trip, then one
 * WAIT (see above). GK_OK, GK_UNAVAILABLE, GK_UNCERTAIN or GK_NOMEM (a name
 * too long). */
int keystore_usage_add(struct keystore *ks, const char *user, const char *month, const char *provider_id,
		       enum keystore_source source, const long long amounts[KEYSTORE_COUNTERS]);

/* The system-source input plus output tokens of each of the n providers
 * ids[] in the user's hash of month, into tokens[] (0 where nothing was
 * counted): one HMGET of 2n fields, what an allowance is measured against.
 * A reply of another shape or a value that is not a whole number is
 * GK_UNAVAILABLE (logged as event=redis_reply_unexpected); GK_NOMEM. */
int keystore_usage_system_tokens(struct keystore *ks, const char *user, const char *month,
				 const char *const *ids, size_t n, long long *tokens);

/* Fills out[i] (reg->count entries) with the counters of provider i in the
 * user's hash of month, zeros where nothing was counted. A reply of another
 * shape, or a counter that is not a whole number, is GK_UNAVAILABLE
 * (logged as event=redis_reply_unexpected), never a made-up count. */
int keystore_usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
		       struct keystore_usage *out);

/* The pure steps of the calls above, for the unit tests. Each name builder
 * returns GK_OK, or GK_ERR when the name does not fit in len. */
int keystore_user_key(const struct keystore *ks, const char *user, char *out, size_t len);
int keystore_usage_key(const struct keystore *ks, const char *user, const char *month, char *out, size_t len);
int keystore_usage_field(const char *provider_id, enum keystore_counter counter, char *out, size_t len);
int keystore_usage_source_field(const char *provider_id, enum keystore_source source,
				enum keystore_counter counter, char *out, size_t len);

/* Reads an HGETALL reply of a usage hash into out (reg->count entries);
 * fields of other providers or counters are left. GK_ERR with *why
 * naming what was wrong (never quoting the reply), out all zeros. */
int keystore_usage_read(const struct redisReply *all, const struct registry *reg, struct keystore_usage *out,
			const char **why);

/* For maintenance (gofannon-keys rekey), not for requests. */

#define KEYSTORE_CURSOR_MAX 32

/* One step of a SCAN over every user's hash. cursor starts as "0" and is
 * "0" again when the walk is complete; *users (copied into arena) gets the
 * user ids this step found, *count how many. A user may come twice. */
int keystore_scan_users(struct keystore *ks, struct arena *arena, char cursor[KEYSTORE_CURSOR_MAX],
			const char ***users, size_t *count);

/* The operator's view (gofannon-keys stats, keystore_stats.c): walks with
 * SCAN ... COUNT 1000 (never KEYS) and reads each batch of hashes with
 * pipelined HMGETs, one round trip per batch, so memory stays one batch
 * and a million users take a few thousand round trips. SCAN returns a
 * hash that exists for the whole walk at least once; one that is rehashed
 * while the walk runs may come twice, and then counts twice. A name that
 * holds another type (Redis answers WRONGTYPE) is left out, uncounted. */
struct keystore_key_stats {
	long long users;   /* users with a key stored that has not expired */
	long long old;	   /* of those, stored (":updatedAt") before old_before */
	long long expired; /* past their ":expiresAt", not yet deleted */
};

struct keystore_usage_stats {
	long long system_tokens; /* input + output tokens with the system key */
	long long system_users;	 /* users who spent any with it */
	long long at_allowance;	 /* users whose tokens reached the provider's allowance */
};

/* Tallies every user's key hash into out (reg->count entries, zeros for a
 * provider without user keys) as of now; *hashes gets how many hashes
 * were read. GK_OK, GK_UNAVAILABLE or GK_NOMEM. */
int keystore_stats_keys(struct keystore *ks, const struct registry *reg, time_t now, time_t old_before,
			struct keystore_key_stats *out, long long *hashes);

/* Tallies every user's usage hash of month into out (reg->count entries).
 * GK_OK, GK_UNAVAILABLE or GK_NOMEM. */
int keystore_stats_usage(struct keystore *ks, const struct registry *reg, const char *month,
			 struct keystore_usage_stats *out, long long *hashes);

/* Decides the new value of one key field of a user's hash (":updatedAt"
 * fields are never passed: a rewrite keeps the times): returns it (in the
 * arena passed to keystore_rewrite) or NULL to leave the field as it is. */
typedef const char *(*keystore_rewrite_fn)(void *ctx, struct arena *arena, const char *field,
					   const char *value, size_t len);

/* Rewrites fields of one user's hash as fn decides, only if no other
 * client changed the hash meanwhile (WATCH, HGETALL, MULTI, HSET, EXEC).
 * Returns GK_OK; GK_CONFLICT when another client wrote first and nothing
 * was written (call again); GK_UNAVAILABLE; GK_UNCERTAIN; GK_NOMEM. */
int keystore_rewrite(struct keystore *ks, struct arena *arena, const char *user, keystore_rewrite_fn fn,
		     void *ctx);

/* LLM call leases, the sorted set "<prefix>:users:{<user>}:llmCalls"
 * (call id scored by its deadline, Unix ms), for llm_limit.c.
 * Acquire drops the leases past now_ms, adds call_id until deadline_ms and
 * sets *held to how many leases the user holds with it, in one MULTI/EXEC;
 * the caller releases at once when that is over its limit. GK_OK or
 * GK_UNAVAILABLE (nothing may have been added: releasing is harmless). */
int keystore_lease_acquire(struct keystore *ks, const char *user, const char *call_id, long long now_ms,
			   long long deadline_ms, long long *held);
int keystore_lease_release(struct keystore *ks, const char *user, const char *call_id);

/* The activity stream (keystore_activity.c). */

#define KEYSTORE_ACTIVITY_MAXLEN 100 /* XADD MAXLEN ~: about this many entries kept */
#define KEYSTORE_STREAM_ID_MAX 41    /* "<ms>-<seq>", two 64-bit numbers */

/* One entry; a NULL member is left out of it ("result" and "status" are
 * set only for the actions they belong to). */
struct keystore_event {
	const char *at;
	const char *action;
	const char *provider;
	const char *source;
	const char *by;
	const char *client;
	const char *result;
	const char *status;
};

#define KEYSTORE_EVENT_FIELDS 8

extern const char *const keystore_event_names[KEYSTORE_EVENT_FIELDS]; /* "at", "action", ... */

/* One entry read back: its stream id and its fields (NULL when absent). */
struct keystore_entry {
	const char *id;
	const char *value[KEYSTORE_EVENT_FIELDS]; /* in the order of keystore_event_names */
};

/* Adds ev to the user's stream (XADD MAXLEN ~ KEYSTORE_ACTIVITY_MAXLEN).
 * GK_OK, GK_UNAVAILABLE, GK_UNCERTAIN or GK_NOMEM. */
int keystore_activity_add(struct keystore *ks, const char *user, const struct keystore_event *ev);

/* Reads up to max entries of the user's stream, newest first, older than
 * the entry id before (NULL: from the newest), into out (copied into
 * arena); *count says how many. A reply of another shape is GK_UNAVAILABLE
 * (logged as event=redis_reply_unexpected). */
int keystore_activity_read(struct keystore *ks, struct arena *arena, const char *user, const char *before,
			   size_t max, struct keystore_entry *out, size_t *count);

/* The pure steps of the two above, for the unit tests: the stream's name;
 * XADD's arguments for ev after argv[0..1] = "XADD", key (argv has room
 * for KEYSTORE_XADD_ARGS, returns how many it filled); an XREVRANGE reply
 * read into out (GK_ERR with *why, never quoting the reply). */
#define KEYSTORE_XADD_ARGS (6 + 2 * KEYSTORE_EVENT_FIELDS)
int keystore_activity_key(const struct keystore *ks, const char *user, char *out, size_t len);
int keystore_activity_argv(const char *key, const struct keystore_event *ev, const char **argv);
int keystore_activity_parse(const struct redisReply *reply, struct arena *arena, size_t max,
			    struct keystore_entry *out, size_t *count, const char **why);

/* The marks of a key's life (keystore_keylife.c), the "<F>:*" fields above. */

#define KEYSTORE_TOUCH_EVERY_S 60 /* ":lastUsedAt" is written at most this often */

/* Sets "<F>:lastUsedAt" to at while <F> still holds sealed (the caller
 * decided from the value its read brought that it is due): a call lasts
 * seconds, and a key put or deleted meanwhile must not get the old one's
 * last use. GK_OK, GK_CONFLICT (another key or none is stored: nothing
 * written), GK_UNAVAILABLE, GK_UNCERTAIN. */
int keystore_touch(struct keystore *ks, const char *user, const char *field, const char *sealed,
		   size_t sealed_len, const char *at);

/* Sets "<F>:rejectedAt" to ev->at and adds ev to the user's activity, in
 * one MULTI/EXEC, only while <F> still holds sealed (WATCH): a key stored
 * meanwhile is not flagged for its predecessor. GK_OK; GK_CONFLICT when the
 * key changed and nothing was written; GK_UNAVAILABLE; GK_UNCERTAIN. */
int keystore_reject(struct keystore *ks, const char *user, const char *field, const char *sealed,
		    size_t sealed_len, const struct keystore_event *ev);

/* Deletes an expired key: removes <F> and its ":updatedAt", ":expiresAt",
 * ":lastUsedAt" and ":rejectedAt", sets ":expiredAt" to ev->at and adds ev
 * to the activity, in one MULTI/EXEC, only while <F> still holds sealed
 * (WATCH): a key another request stored meanwhile stays. GK_OK;
 * GK_CONFLICT when the key changed and nothing was written (read again);
 * GK_UNAVAILABLE; GK_UNCERTAIN. */
int keystore_expire(struct keystore *ks, const char *user, const char *field, const char *sealed,
		    size_t sealed_len, const struct keystore_event *ev);

#endif
