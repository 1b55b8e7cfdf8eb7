/* keystore_cache.h: a worker's cache of the replies Redis gave to reads of
 * users' key hashes, kept correct across workers and hosts by Redis's own
 * client-side caching (CLIENT TRACKING), so a read served from it costs no
 * round trip. Part of the keystore module (keystore.h is the schema); the
 * connection-level calls are in keystore_internal.h.
 *
 * What is cached: the reply of one read command (keystore_fetch's HMGET),
 * exactly as Redis returned it (sealed values and their fields, never an
 * opened key), keyed by the Redis key name; a lookup matches only when the
 * command and every argument are the same as the stored one's, so a read of
 * other fields of the same hash is a miss, never another read's answer.
 * Only strings, nil, integers, status replies and arrays of them are kept.
 *
 * How it stays correct. The worker's keystore connection runs
 * CLIENT TRACKING on REDIRECT <id>, <id> being the CLIENT ID of a second
 * connection of the same worker subscribed to __redis__:invalidate (RESP2,
 * which hiredis 0.14 speaks). Redis then sends that connection the name of
 * every key this worker read, as soon as any client anywhere changes it
 * (its own writes included), and a null for FLUSHALL/FLUSHDB. Before every
 * lookup the worker reads what is pending there without blocking and drops
 * the named entries (all of them on a null). Redis queues an invalidation in
 * the same event-loop turn that applies the write, before the writer has
 * read its reply, so a request that starts after a DELETE or PUT was
 * answered anywhere finds the invalidation waiting (docs/operations.md has
 * the bound measured). The whole cache is dropped when either connection
 * drops or is opened again (a Redis restart, a new master after failover),
 * when the invalidation connection shows anything other than a
 * notification, and when it has more pending than one drain reads. Every
 * write the keystore makes to a key also drops that key's entry at once.
 * As a second net, an entry older than KEYSTORE_CACHE_AGE_MS is read again.
 *
 * Bounded: at most KEYSTORE_CACHE_ENTRIES entries and KEYSTORE_CACHE_BYTES
 * bytes (counted with the copies' headers) per worker, least recently used
 * dropped first. Off with GOFANNON_KEY_CACHE=off; off too, with one warning,
 * while Redis refuses the tracking commands (an ACL without them), and
 * until the next connection when setting them up fails.
 *
 * The table below is plain bookkeeping with no connection, for the unit
 * tests; one process only (a child made by fork drops it). */
#ifndef GK_KEYSTORE_CACHE_H
#define GK_KEYSTORE_CACHE_H

#include <stddef.h>

struct redisReply;
struct keystore_cache;

#define KEYSTORE_CACHE_ENTRIES 4096
#define KEYSTORE_CACHE_BYTES (4 * 1024 * 1024)
#define KEYSTORE_CACHE_AGE_MS 10000
#define KEYSTORE_CACHE_CHANNEL "__redis__:invalidate"

/* An empty cache with these bounds (max_entries rounded up to a power of
 * two for its table); NULL when out of memory. */
struct keystore_cache *keystore_cache_new(size_t max_entries, size_t max_bytes, long long max_age_ms);
/* Frees the table and closes the invalidation connection. NULL is fine. */
void keystore_cache_free(struct keystore_cache *c);

/* The stored reply of the read argv (argc arguments, argv[0] the command)
 * of key, lent: it stays the cache's, valid until the next call that
 * stores, evicts, clears or looks up (a hit costs no copy; the caller
 * copies out what it keeps). NULL on a miss, or for an entry older than
 * max_age_ms at now_ms (dropped then). */
const struct redisReply *keystore_cache_lookup(struct keystore_cache *c, const char *key, int argc,
					       const char **argv, long long now_ms);

/* Stores a copy of reply as the answer to argv for key, replacing the
 * key's entry, then drops least recently used entries to fit the bounds.
 * GK_OK; GK_ERR for a reply of a kind not kept (an error, a type of another
 * protocol); GK_TOOBIG for one entry larger than a quarter of the bytes;
 * GK_NOMEM. The key's old entry is gone whatever the result. */
int keystore_cache_store(struct keystore_cache *c, const char *key, int argc, const char **argv,
			 const struct redisReply *reply, long long now_ms);

/* Drops the entry of the key of len bytes, if any. */
void keystore_cache_evict(struct keystore_cache *c, const char *key, size_t len);
/* Drops every entry. */
void keystore_cache_clear(struct keystore_cache *c);

size_t keystore_cache_entries(const struct keystore_cache *c);
size_t keystore_cache_bytes(const struct keystore_cache *c);

/* Applies one message read from the invalidation connection: the
 * confirmation of the SUBSCRIBE is ignored; ["message", channel, keys]
 * drops each key (keys an array of names, or one name), ["message",
 * channel, nil] drops everything. GK_ERR for anything else (another
 * channel, another shape): the caller drops the cache and the connections. */
int keystore_cache_apply(struct keystore_cache *c, const struct redisReply *msg);

#endif
