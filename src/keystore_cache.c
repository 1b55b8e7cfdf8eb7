/* keystore_cache.c: the key cache of keystore_cache.h. The table (a hash
 * of chains over the key names, one least-recently-used list), then the
 * invalidation connection and the calls keystore.c makes. */
#include "keystore_cache.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "keystore_internal.h"
#include "log.h"
#include "status.h"

/* Replies nest no deeper than this (an HMGET's is 2). */
#define REPLY_DEPTH_MAX 4
/* One drain reads at most this many times hiredis's 16 KiB; more pending
 * than that means a burst of writes: everything is dropped instead. */
#define DRAIN_READS_MAX 16
/* After the cache could not be set up, a new try no sooner than this. */
#define ATTACH_RETRY_MS 10000

struct cache_entry {
	struct cache_entry *chain;	   /* the next one in its bucket */
	struct cache_entry *newer, *older; /* the LRU list */
	uint32_t hash;
	long long stored_ms;
	size_t bytes; /* counted against max_bytes: this block and the reply copy */
	struct redisReply *reply;
	size_t key_len;
	int argc;
	char data[]; /* the key, then each argument as a 4-byte length and its bytes */
};

struct keystore_cache {
	struct cache_entry **buckets;
	size_t mask; /* buckets - 1 */
	struct cache_entry *newest, *oldest;
	size_t entries, bytes;
	size_t max_entries, max_bytes;
	long long max_age_ms;
	/* the invalidation connection, NULL while the cache is off */
	struct redisContext *sub;
	long long retry_at_ms;
	int reported_off; /* "off" is logged once, until it works again */
};

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a: the names share a long prefix, so every byte counts. */
static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

struct keystore_cache *keystore_cache_new(size_t max_entries, size_t max_bytes, long long max_age_ms)
{
	struct keystore_cache *c = calloc(1, sizeof(*c));
	size_t n = 1;

	if (!c)
		return NULL;
	while (n < max_entries)
		n <<= 1;
	c->buckets = calloc(n, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->mask = n - 1;
	c->max_entries = max_entries ? max_entries : 1;
	c->max_bytes = max_bytes;
	c->max_age_ms = max_age_ms;
	return c;
}

/* ---- the table ------------------------------------------------------- */

static struct cache_entry **bucket_of(struct keystore_cache *c, uint32_t hash)
{
	return &c->buckets[hash & c->mask];
}

static struct cache_entry *find(struct keystore_cache *c, const char *key, size_t len, uint32_t hash)
{
	for (struct cache_entry *e = *bucket_of(c, hash); e; e = e->chain)
		if (e->hash == hash && e->key_len == len && memcmp(e->data, key, len) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct keystore_cache *c, struct cache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct keystore_cache *c, struct cache_entry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

/* The entries hold sealed values only (keystore_cache.h), nothing a wipe
 * would protect: they are freed as they are. */
static void entry_remove(struct keystore_cache *c, struct cache_entry *e)
{
	struct cache_entry **p = bucket_of(c, e->hash);

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	lru_unlink(c, e);
	c->entries--;
	c->bytes -= e->bytes;
	freeReplyObject(e->reply);
	free(e);
}

void keystore_cache_evict(struct keystore_cache *c, const char *key, size_t len)
{
	struct cache_entry *e = find(c, key, len, name_hash(key, len));

	if (e)
		entry_remove(c, e);
}

void keystore_cache_clear(struct keystore_cache *c)
{
	while (c->oldest)
		entry_remove(c, c->oldest);
}

size_t keystore_cache_entries(const struct keystore_cache *c)
{
	return c->entries;
}

size_t keystore_cache_bytes(const struct keystore_cache *c)
{
	return c->bytes;
}

static size_t args_size(int argc, const char **argv)
{
	size_t n = 0;

	for (int i = 0; i < argc; i++)
		n += 4 + strlen(argv[i]);
	return n;
}

static int args_match(const struct cache_entry *e, int argc, const char **argv)
{
	const char *p = e->data + e->key_len;

	if (e->argc != argc)
		return 0;
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]);
		uint32_t stored;

		memcpy(&stored, p, 4);
		if (stored != len || memcmp(p + 4, argv[i], len) != 0)
			return 0;
		p += 4 + len;
	}
	return 1;
}

static void args_write(char *p, int argc, const char **argv)
{
	for (int i = 0; i < argc; i++) {
		uint32_t len = (uint32_t)strlen(argv[i]);

		memcpy(p, &len, 4);
		memcpy(p + 4, argv[i], len);
		p += 4 + len;
	}
}

/* 1 when r is of the kinds kept (keystore_cache.h), nested no deeper than
 * REPLY_DEPTH_MAX. */
static int reply_kept(const redisReply *r, int depth)
{
	if (!r || depth > REPLY_DEPTH_MAX)
		return 0;
	switch (r->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_INTEGER:
	case REDIS_REPLY_NIL:
		return 1;
	case REDIS_REPLY_ARRAY:
		for (size_t i = 0; i < r->elements; i++)
			if (!reply_kept(r->element[i], depth + 1))
				return 0;
		return 1;
	default:
		return 0;
	}
}

/* A deep copy of r (one reply_kept() accepted) with malloc, which
 * freeReplyObject() frees; NULL when out of memory. *bytes grows by its
 * size. */
static redisReply *reply_copy(const redisReply *r, size_t *bytes)
{
	redisReply *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	memcpy(c, r, sizeof(*c));
	c->str = NULL;
	c->element = NULL;
	*bytes += sizeof(*c);
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
		c->str = malloc(r->len + 1);
		if (!c->str)
			goto fail;
		memcpy(c->str, r->str, r->len);
		c->str[r->len] = '\0';
		*bytes += r->len + 1;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		/* calloc: freeReplyObject() skips the NULLs of a copy cut short */
		c->element = calloc(r->elements, sizeof(*c->element));
		if (!c->element)
			goto fail;
		*bytes += r->elements * sizeof(*c->element);
		for (size_t i = 0; i < r->elements; i++)
			if (!(c->element[i] = reply_copy(r->element[i], bytes)))
				goto fail;
	}
	return c;
fail:
	freeReplyObject(c);
	return NULL;
}

const struct redisReply *keystore_cache_lookup(struct keystore_cache *c, const char *key, int argc,
					       const char **argv, long long now_ms)
{
	size_t len = strlen(key);
	struct cache_entry *e = find(c, key, len, name_hash(key, len));

	if (!e || !args_match(e, argc, argv))
		return NULL;
	if (now_ms - e->stored_ms >= c->max_age_ms || now_ms < e->stored_ms) {
		entry_remove(c, e);
		return NULL;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	return e->reply;
}

int keystore_cache_store(struct keystore_cache *c, const char *key, int argc, const char **argv,
			 const struct redisReply *reply, long long now_ms)
{
	size_t len = strlen(key), args = args_size(argc, argv);
	uint32_t hash = name_hash(key, len);
	struct cache_entry *e;
	size_t bytes = sizeof(*e) + len + args;

	keystore_cache_evict(c, key, len);
	if (!reply_kept(reply, 0))
		return GK_ERR;
	e = malloc(bytes);
	if (!e)
		return GK_NOMEM;
	memset(e, 0, sizeof(*e));
	e->reply = reply_copy(reply, &bytes);
	if (!e->reply) {
		free(e);
		return GK_NOMEM;
	}
	if (bytes > c->max_bytes / 4) {
		freeReplyObject(e->reply);
		free(e);
		return GK_TOOBIG;
	}
	e->hash = hash;
	e->stored_ms = now_ms;
	e->bytes = bytes;
	e->key_len = len;
	e->argc = argc;
	memcpy(e->data, key, len);
	args_write(e->data + len, argc, argv);
	e->chain = *bucket_of(c, hash);
	*bucket_of(c, hash) = e;
	lru_push(c, e);
	c->entries++;
	c->bytes += bytes;
	while (c->entries > c->max_entries || c->bytes > c->max_bytes)
		entry_remove(c, c->oldest);
	return GK_OK;
}

static int is_string(const redisReply *r, const char *s)
{
	return r && r->type == REDIS_REPLY_STRING && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

int keystore_cache_apply(struct keystore_cache *c, const struct redisReply *msg)
{
	const redisReply *keys;

	if (!msg || msg->type != REDIS_REPLY_ARRAY || msg->elements != 3 ||
	    !is_string(msg->element[1], KEYSTORE_CACHE_CHANNEL))
		return GK_ERR;
	if (is_string(msg->element[0], "subscribe"))
		return GK_OK;
	if (!is_string(msg->element[0], "message"))
		return GK_ERR;
	keys = msg->element[2];
	if (!keys)
		return GK_ERR;
	if (keys->type == REDIS_REPLY_NIL) { /* FLUSHALL, FLUSHDB */
		keystore_cache_clear(c);
		return GK_OK;
	}
	if (keys->type == REDIS_REPLY_STRING) {
		keystore_cache_evict(c, keys->str, keys->len);
		return GK_OK;
	}
	if (keys->type != REDIS_REPLY_ARRAY)
		return GK_ERR;
	for (size_t i = 0; i < keys->elements; i++) {
		if (!keys->element[i] || keys->element[i]->type != REDIS_REPLY_STRING)
			return GK_ERR;
		keystore_cache_evict(c, keys->element[i]->str, keys->element[i]->len);
	}
	return GK_OK;
}

/* ---- the invalidation connection ------------------------------------- */

static void cache_off(struct keystore_cache *c, const char *why)
{
	char esc[256];

	c->retry_at_ms = monotonic_ms() + ATTACH_RETRY_MS;
	if (c->reported_off)
		return;
	c->reported_off = 1;
	log_escape(why, esc, sizeof(esc));
	log_event(LOG_WARN, "key_cache_off",
		  "error=\"%s\" hint=\"reads go to Redis each time; the Redis user needs +client|id "
		  "+client|tracking +subscribe &" KEYSTORE_CACHE_CHANNEL " (scripts/redis/make-acl)\"",
		  esc);
}

static void cache_on(struct keystore_cache *c)
{
	if (!c->reported_off)
		return;
	c->reported_off = 0;
	log_event(LOG_INFO, "key_cache_on", NULL);
}

/* One setup command on the invalidation connection: its reply, or NULL
 * with *why set (a transport error, or the error Redis answered). */
static redisReply *sub_command(redisContext *sub, int argc, const char **argv, char *why, size_t len)
{
	redisReply *reply = redisCommandArgv(sub, argc, argv, NULL);

	if (!reply) {
		snprintf(why, len, "%s: %s", argv[0], sub->errstr);
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		snprintf(why, len, "%s: %s", argv[0], reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

/* The same server as ks->ctx: its socket, or the master found last. */
static redisContext *sub_connect(struct keystore *ks, char *why, size_t len)
{
	struct timeval tv = { ks->timeout_ms / 1000, (ks->timeout_ms % 1000) * 1000 };
	redisContext *sub;

	if (ks->target.path[0])
		sub = redisConnectUnixWithTimeout(ks->target.path, tv);
	else if (ks->target.master_name[0])
		sub = redisConnectWithTimeout(ks->master.host, ks->master.port, tv);
	else
		sub = redisConnectWithTimeout(ks->target.host, ks->target.port, tv);
	if (!sub || sub->err || redisSetTimeout(sub, tv) != REDIS_OK) {
		snprintf(why, len, "connect: %s", sub ? sub->errstr : "out of memory");
		redisFree(sub);
		return NULL;
	}
	return sub;
}

/* Connects, authenticates, takes its CLIENT ID into *id and subscribes. */
static redisContext *sub_open(struct keystore *ks, long long *id, char *why, size_t len)
{
	const char *auth[3] = { "AUTH", ks->target.user, ks->target.password };
	const char *client_id[2] = { "CLIENT", "ID" },
		   *subscribe[2] = { "SUBSCRIBE", KEYSTORE_CACHE_CHANNEL };
	redisContext *sub = sub_connect(ks, why, len);
	redisReply *reply;

	if (!sub)
		return NULL;
	if (ks->target.password[0]) {
		if (!ks->target.user[0])
			auth[1] = ks->target.password;
		reply = sub_command(sub, ks->target.user[0] ? 3 : 2, auth, why, len);
		if (!reply)
			goto fail;
		freeReplyObject(reply);
	}
	reply = sub_command(sub, 2, client_id, why, len);
	if (!reply)
		goto fail;
	*id = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
	freeReplyObject(reply);
	if (*id < 0) {
		snprintf(why, len, "CLIENT ID: not an integer");
		goto fail;
	}
	reply = sub_command(sub, 2, subscribe, why, len);
	if (!reply)
		goto fail;
	freeReplyObject(reply);
	return sub;
fail:
	redisFree(sub);
	return NULL;
}

void keystore_cache_detach(struct keystore *ks)
{
	struct keystore_cache *c = ks->cache;

	if (!c)
		return;
	if (c->sub)
		redisFree(c->sub);
	c->sub = NULL;
	keystore_cache_clear(c);
}

int keystore_cache_attach(struct keystore *ks)
{
	struct keystore_cache *c = ks->cache;
	char why[300], id[24];
	const char *tracking[5] = { "CLIENT", "TRACKING", "on", "REDIRECT", id };
	redisContext *sub;
	redisReply *reply;
	long long sub_id;

	if (!c || !ks->ctx)
		return GK_OK;
	keystore_cache_detach(ks);
	sub = sub_open(ks, &sub_id, why, sizeof(why));
	if (!sub) {
		cache_off(c, why);
		return GK_OK;
	}
	snprintf(id, sizeof(id), "%lld", sub_id);
	reply = redisCommandArgv(ks->ctx, 5, tracking, NULL);
	if (!reply) {
		/* the keystore's own connection failed: the caller's problem */
		redisFree(sub);
		keystore_drop(ks);
		return GK_UNAVAILABLE;
	}
	if (reply->type != REDIS_REPLY_STATUS) {
		snprintf(why, sizeof(why), "CLIENT TRACKING: %s",
			 reply->type == REDIS_REPLY_ERROR ? reply->str : "an unexpected reply");
		freeReplyObject(reply);
		redisFree(sub);
		cache_off(c, why);
		return GK_OK;
	}
	freeReplyObject(reply);
	c->sub = sub;
	cache_on(c);
	return GK_OK;
}

/* Applies whatever the invalidation connection has pending, without
 * waiting. GK_ERR when it is gone or said something else, or when the
 * keystore's own connection (data_fd) has anything to read: between
 * commands it never has, so that is its end (a CLIENT KILL, Redis's idle
 * timeout, which spares subscribers), and its tracking ended with it. The
 * caller then drops everything. */
static int cache_drain(struct keystore_cache *c, int data_fd)
{
	struct pollfd pfd[2] = { { .fd = c->sub->fd, .events = POLLIN },
				 { .fd = data_fd, .events = POLLIN } };

	for (int reads = 0;; reads++) {
		void *msg;
		int ready;

		for (;;) {
			int rc;

			if (redisGetReplyFromReader(c->sub, &msg) != REDIS_OK)
				return GK_ERR;
			if (!msg)
				break;
			rc = keystore_cache_apply(c, msg);
			freeReplyObject(msg);
			if (rc != GK_OK)
				return GK_ERR;
		}
		ready = poll(pfd, 2, 0);
		if (ready == 0)
			return GK_OK;
		if (ready < 0 || pfd[1].revents)
			return GK_ERR;
		if (reads == DRAIN_READS_MAX) {
			/* still more: the rest comes next time, and whatever it
			 * names is gone already */
			keystore_cache_clear(c);
			return GK_OK;
		}
		/* readable: data, or the end (EOF is an error here) */
		if (redisBufferRead(c->sub) != REDIS_OK)
			return GK_ERR;
	}
}

int keystore_cache_enable(struct keystore *ks)
{
	if (ks->cache)
		return GK_OK;
	ks->cache = keystore_cache_new(KEYSTORE_CACHE_ENTRIES, KEYSTORE_CACHE_BYTES, KEYSTORE_CACHE_AGE_MS);
	return ks->cache ? GK_OK : GK_NOMEM;
}

void keystore_cache_free(struct keystore_cache *c)
{
	if (!c)
		return;
	if (c->sub)
		redisFree(c->sub);
	keystore_cache_clear(c);
	free(c->buckets);
	free(c);
}

void keystore_cache_written(struct keystore *ks, const char *key)
{
	if (ks->cache)
		keystore_cache_evict(ks->cache, key, strlen(key));
}

const struct redisReply *keystore_cached_read(struct keystore *ks, const char *key, int argc,
					      const char **argv, struct redisReply **owned)
{
	struct keystore_cache *c = ks->cache;
	redisReply *reply;
	long long now;

	*owned = NULL;
	if (!c)
		return *owned = keystore_command(ks, argc, argv, NULL);
	now = monotonic_ms();
	if (ks->ctx && !c->sub && now >= c->retry_at_ms)
		keystore_cache_attach(ks); /* on failure ks->ctx is gone: the command connects */
	if (c->sub) {
		if (cache_drain(c, ks->ctx->fd) != GK_OK) {
			log_event(LOG_INFO, "key_cache_dropped",
				  "reason=\"a connection to Redis closed, or the invalidations are out of "
				  "step\"");
			keystore_drop(ks); /* both connections, and the cache with them */
		} else {
			const redisReply *hit = keystore_cache_lookup(c, key, argc, argv, now);

			if (hit)
				return hit;
		}
	}
	reply = *owned = keystore_command(ks, argc, argv, NULL);
	/* Kept only when read on a tracked connection: Redis then tells of
	 * every change after this read. Not kept is just a miss next time. */
	if (reply && c->sub)
		keystore_cache_store(c, key, argc, argv, reply, now);
	return reply;
}
