#include "keystore.h"

#include <errno.h>
#include <limits.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "identity.h"
#include "log.h"
#include "num.h"
#include "sentinel.h"
#include "keystore_cache.h"
#include "keystore_internal.h"
#include "status.h"

/* The schema (see keystore.h): every key name and field name this service
 * writes to Redis is built from these, here and nowhere else. */
#define USERS_INFIX ":users:{"
#define APIKEYS_SUFFIX "}:apiKeys"
#define APIKEYS_SUFFIX_AFTER_TAG ":apiKeys"
/* Sentinel mode: the wait after a failed attempt to find the master. The
 * cap bounds what a failover adds to the outage once it is over. */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 500

void keystore_init(struct keystore *ks, const struct redis_target *target, const char *prefix, int timeout_ms)
{
	memset(ks, 0, sizeof(*ks));
	ks->target = *target;
	snprintf(ks->prefix, sizeof(ks->prefix), "%s", prefix);
	ks->timeout_ms = timeout_ms;
}

void keystore_drop(struct keystore *ks)
{
	if (ks->ctx)
		redisFree(ks->ctx);
	ks->ctx = NULL;
	keystore_cache_detach(ks);
}

void keystore_release(struct keystore *ks)
{
	keystore_drop(ks);
	keystore_cache_free(ks->cache);
	ks->cache = NULL;
	free(ks->fetch_plan);
	ks->fetch_plan = NULL;
}

static void report_down(struct keystore *ks, const char *what, const char *why)
{
	if (ks->reported_down)
		return;
	ks->reported_down = 1;
	log_event(LOG_ERROR, "redis_unavailable", "during=%s error=\"%s\"", what, why);
}

static void report_up(struct keystore *ks)
{
	if (!ks->reported_down)
		return;
	ks->reported_down = 0;
	log_event(LOG_INFO, "redis_available", NULL);
}

/* Errors by which a server says it is not (or no longer) a master that
 * takes writes: a replica (READONLY), or a master cut off from its
 * replicas (NOREPLICAS, min-replicas-to-write). Redis applied nothing. */
static int not_the_master(const char *err)
{
	return strncmp(err, "READONLY", 8) == 0 || strncmp(err, "NOREPLICAS", 10) == 0;
}

/* Returns reply when it is one; NULL after logging the outage when the
 * transport failed (the connection is dropped) or Redis answered an error
 * (the connection is dropped too when drop_on_error is set, or when the
 * server is not the master: the next call finds the master again). */
static redisReply *checked_reply(struct keystore *ks, const char *command, redisReply *reply,
				 int drop_on_error)
{
	if (!reply) {
		report_down(ks, command, ks->ctx->errstr);
		keystore_drop(ks);
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		report_down(ks, command, reply->str);
		drop_on_error |= not_the_master(reply->str);
		freeReplyObject(reply);
		if (drop_on_error)
			keystore_drop(ks);
		return NULL;
	}
	return reply;
}

/* A command that sets a new connection up (AUTH, SELECT): on any failure
 * the connection is dropped and GK_UNAVAILABLE returned. */
static int setup_command(struct keystore *ks, int argc, const char **argv)
{
	redisReply *reply = checked_reply(ks, argv[0], redisCommandArgv(ks->ctx, argc, argv, NULL), 1);

	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}

static int authenticate(struct keystore *ks)
{
	const char *argv[3];
	int argc = 0;

	if (!ks->target.password[0])
		return GK_OK;
	argv[argc++] = "AUTH";
	if (ks->target.user[0])
		argv[argc++] = ks->target.user;
	argv[argc++] = ks->target.password;
	return setup_command(ks, argc, argv);
}

static int select_db(struct keystore *ks)
{
	char db[16];
	const char *argv[2] = { "SELECT", db };

	if (ks->target.db == 0)
		return GK_OK;
	snprintf(db, sizeof(db), "%d", ks->target.db);
	return setup_command(ks, 2, argv);
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void back_off(struct keystore *ks)
{
	ks->backoff_ms = ks->backoff_ms ? ks->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (ks->backoff_ms > BACKOFF_MAX_MS)
		ks->backoff_ms = BACKOFF_MAX_MS;
	ks->retry_at_ms = monotonic_ms() + ks->backoff_ms;
}

/* Sentinel mode: the master's address, from the sentinels. */
static int find_master(struct keystore *ks, struct redis_address *addr)
{
	char why[400];

	if (monotonic_ms() < ks->retry_at_ms) {
		report_down(ks, "connect", "waiting before asking the sentinels again");
		return GK_UNAVAILABLE;
	}
	if (sentinel_ask(&ks->target, ks->timeout_ms, &ks->sentinel_first, addr, why, sizeof(why)) != GK_OK) {
		report_down(ks, "sentinel", why);
		back_off(ks);
		return GK_UNAVAILABLE;
	}
	return GK_OK;
}

/* Sentinel mode: the sentinels may name a master that has just been
 * demoted, or a replica just promoted that does not know it yet. */
static int check_master_role(struct keystore *ks, const struct redis_address *addr)
{
	const char *argv[1] = { "ROLE" };
	redisReply *reply = checked_reply(ks, "ROLE", redisCommandArgv(ks->ctx, 1, argv, NULL), 1);
	int is_master;

	if (!reply)
		return GK_UNAVAILABLE;
	is_master = sentinel_reply_is_master(reply);
	freeReplyObject(reply);
	if (is_master)
		return GK_OK;
	/* Logged each time, not once per outage: it names which server the
	 * sentinels got wrong (attempts are spaced by the backoff). */
	log_event(LOG_WARN, "redis_not_master", "address=\"%s:%d\"", addr->host, addr->port);
	report_down(ks, "ROLE", "the server the sentinels named is not a master");
	keystore_drop(ks);
	return GK_UNAVAILABLE;
}

static void master_found(struct keystore *ks, const struct redis_address *addr)
{
	ks->backoff_ms = 0;
	ks->retry_at_ms = 0;
	if (strcmp(ks->master.host, addr->host) == 0 && ks->master.port == addr->port)
		return;
	if (ks->master.host[0])
		log_event(LOG_INFO, "redis_master", "address=\"%s:%d\" previous=\"%s:%d\"", addr->host,
			  addr->port, ks->master.host, ks->master.port);
	else
		log_event(LOG_INFO, "redis_master", "address=\"%s:%d\"", addr->host, addr->port);
	ks->master = *addr;
}

static int open_connection(struct keystore *ks, const struct redis_address *master)
{
	struct timeval tv = { ks->timeout_ms / 1000, (ks->timeout_ms % 1000) * 1000 };

	if (ks->target.path[0])
		ks->ctx = redisConnectUnixWithTimeout(ks->target.path, tv);
	else if (master)
		ks->ctx = redisConnectWithTimeout(master->host, master->port, tv);
	else
		ks->ctx = redisConnectWithTimeout(ks->target.host, ks->target.port, tv);
	if (!ks->ctx || ks->ctx->err) {
		report_down(ks, "connect", ks->ctx ? ks->ctx->errstr : "out of memory");
		keystore_drop(ks);
		return GK_UNAVAILABLE;
	}
	/* hiredis 0.14 keeps no command timeout across connections: set it on each. */
	if (redisSetTimeout(ks->ctx, tv) != REDIS_OK) {
		report_down(ks, "connect", "unable to set the command timeout");
		keystore_drop(ks);
		return GK_UNAVAILABLE;
	}
	if (authenticate(ks) != GK_OK || (master && check_master_role(ks, master) != GK_OK) ||
	    select_db(ks) != GK_OK)
		return GK_UNAVAILABLE;
	return GK_OK;
}

int keystore_connect(struct keystore *ks)
{
	struct redis_address master;

	if (!ks->target.master_name[0])
		return open_connection(ks, NULL) == GK_OK ? keystore_cache_attach(ks) : GK_UNAVAILABLE;
	if (find_master(ks, &master) != GK_OK)
		return GK_UNAVAILABLE;
	if (open_connection(ks, &master) != GK_OK) {
		back_off(ks);
		return GK_UNAVAILABLE;
	}
	master_found(ks, &master);
	return keystore_cache_attach(ks);
}

const char *keystore_master(const struct keystore *ks, char *buf, size_t len)
{
	if (!ks->target.master_name[0] || !ks->ctx)
		return NULL;
	snprintf(buf, len, "%s:%d", ks->master.host, ks->master.port);
	return buf;
}

/* A reused connection may have died while idle (Redis restarted): that
 * failure is retried once on a fresh connection. A timeout is not. */
static int stale_connection_error(const redisContext *ctx)
{
	return ctx->err == REDIS_ERR_EOF ||
	       (ctx->err == REDIS_ERR_IO && errno != EAGAIN && errno != EWOULDBLOCK);
}

redisReply *keystore_command(struct keystore *ks, int argc, const char **argv, const size_t *lens)
{
	int reused = ks->ctx != NULL;
	redisReply *reply;

	if (!ks->ctx && keystore_connect(ks) != GK_OK)
		return NULL;
	reply = redisCommandArgv(ks->ctx, argc, argv, lens);
	if (!reply && reused && stale_connection_error(ks->ctx)) {
		keystore_drop(ks);
		if (keystore_connect(ks) != GK_OK)
			return NULL;
		reply = redisCommandArgv(ks->ctx, argc, argv, lens);
	}
	reply = checked_reply(ks, argv[0], reply, 0);
	if (reply)
		report_up(ks);
	return reply;
}

int keystore_fits(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? GK_ERR : GK_OK;
}

/* "<prefix>" USERS_INFIX "<user>}<suffix>", with memcpy: every request
 * names its user's hash. */
int keystore_user_name(const struct keystore *ks, const char *user, const char *suffix, char *out, size_t len)
{
	size_t prefix = strlen(ks->prefix), infix = sizeof(USERS_INFIX) - 1, name = strlen(user);
	size_t tail = strlen(suffix);
	char *at = out;

	if (prefix + infix + name + 1 + tail >= len)
		return GK_ERR;
	memcpy(at, ks->prefix, prefix);
	at += prefix;
	memcpy(at, USERS_INFIX, infix);
	at += infix;
	memcpy(at, user, name);
	at += name;
	*at++ = '}';
	memcpy(at, suffix, tail + 1);
	return GK_OK;
}

int keystore_user_key(const struct keystore *ks, const char *user, char *out, size_t len)
{
	return keystore_user_name(ks, user, APIKEYS_SUFFIX_AFTER_TAG, out, len);
}

/* A field that is not a key's value: its time or another mark. Key
 * fields are letters, digits and '_' (registry.h), marks "<F>:<what>". */
static int is_mark_field(const char *field)
{
	return strchr(field, ':') != NULL;
}

int keystore_ping(struct keystore *ks)
{
	const char *argv[] = { "PING" };
	redisReply *reply = keystore_command(ks, 1, argv, NULL);

	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}

int keystore_check_hmget(const redisReply *reply, size_t fields, const char **why)
{
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		*why = "not an array";
		return GK_ERR;
	}
	if (reply->elements != fields) {
		*why = "not one element per field";
		return GK_ERR;
	}
	for (size_t i = 0; i < fields; i++) {
		const redisReply *e = reply->element[i];

		if (!e || (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_NIL)) {
			*why = "an element that is neither a string nor nil";
			return GK_ERR;
		}
	}
	return GK_OK;
}

/* Copies a string element into *out (NULL for nil). GK_NOMEM when the
 * arena is full: "no value" would be the wrong answer then too. */
int keystore_copy_string(struct arena *arena, const redisReply *r, const char **out, size_t *len)
{
	*out = NULL;
	if (r->type != REDIS_REPLY_STRING)
		return GK_OK;
	if (len)
		*len = r->len;
	*out = arena_strndup(arena, r->str, r->len);
	return *out ? GK_OK : GK_NOMEM;
}

/* A reply of a shape the command never gives means the connection is not
 * talking to the Redis it should (a proxy, a desynchronised stream): it is
 * dropped, and the caller answers 503. */
int keystore_unexpected_reply(struct keystore *ks, const char *command, const redisReply *reply,
			      const char *why)
{
	log_event(LOG_ERROR, "redis_reply_unexpected", "command=%s type=%d elements=%zu problem=\"%s\"",
		  command, reply ? reply->type : -1,
		  reply && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0, why);
	keystore_drop(ks);
	return GK_UNAVAILABLE;
}

/* The fields of one provider's key that keystore_fetch reads, in the
 * order of struct stored_key: the value, then its marks. */
static const char *const key_suffixes[] = {
	"", KEYSTORE_UPDATED, KEYSTORE_EXPIRES, KEYSTORE_LAST_USED, KEYSTORE_REJECTED, KEYSTORE_EXPIRED
};
#define KEY_SUFFIXES (sizeof(key_suffixes) / sizeof(key_suffixes[0]))

/* Copies the reply elements of one provider into sk. */
static int copy_stored_key(struct arena *arena, redisReply **e, struct stored_key *sk)
{
	const char **marks[KEY_SUFFIXES - 1] = { &sk->updated_at, &sk->expires_at, &sk->last_used_at,
						 &sk->rejected_at, &sk->expired_at };
	int rc = keystore_copy_string(arena, e[0], &sk->sealed, &sk->sealed_len);

	for (size_t j = 1; j < KEY_SUFFIXES && rc == GK_OK; j++)
		rc = keystore_copy_string(arena, e[j], marks[j - 1], NULL);
	return rc;
}

/* The HMGET of keystore_fetch but for the key name, in one allocation:
 * argv[2..argc) are the field names of every provider that takes user
 * keys (its key and its marks), index[k] the registry index of the k-th
 * such provider. Built once: the names are the same for every request. */
struct keystore_fetch_plan {
	unsigned long serial; /* of the registry it was built for */
	size_t argc, count;
	size_t *index;
	const char **argv;
};

static struct keystore_fetch_plan *fetch_plan_build(const struct registry *reg)
{
	size_t names = 0, providers = 0, argc = 2, n = 0;
	struct keystore_fetch_plan *plan;
	char *text;

	for (size_t i = 0; i < reg->count; i++) {
		if (!reg->providers[i].user_key_field)
			continue;
		providers++;
		for (size_t j = 0; j < KEY_SUFFIXES; j++)
			names += strlen(reg->providers[i].user_key_field) + strlen(key_suffixes[j]) + 1;
	}
	plan = calloc(1, sizeof(*plan) + providers * sizeof(size_t) +
				 (2 + KEY_SUFFIXES * providers) * sizeof(char *) + names);
	if (!plan)
		return NULL;
	plan->serial = reg->serial;
	plan->index = (size_t *)(plan + 1);
	plan->argv = (const char **)(plan->index + providers);
	text = (char *)(plan->argv + 2 + KEY_SUFFIXES * providers);
	plan->argv[0] = "HMGET";
	for (size_t i = 0; i < reg->count; i++) {
		const char *field = reg->providers[i].user_key_field;

		if (!field)
			continue;
		for (size_t j = 0; j < KEY_SUFFIXES; j++) {
			size_t flen = strlen(field), slen = strlen(key_suffixes[j]);

			plan->argv[argc++] = text;
			memcpy(text, field, flen);
			memcpy(text + flen, key_suffixes[j], slen + 1);
			text += flen + slen + 1;
		}
		plan->index[n++] = i;
	}
	plan->argc = argc;
	plan->count = n;
	return plan;
}

static const struct keystore_fetch_plan *fetch_plan(struct keystore *ks, const struct registry *reg)
{
	if (ks->fetch_plan && (ks->fetch_plan->serial != reg->serial || reg->serial == 0)) {
		free(ks->fetch_plan);
		ks->fetch_plan = NULL;
	}
	if (!ks->fetch_plan)
		ks->fetch_plan = fetch_plan_build(reg);
	return ks->fetch_plan;
}

int keystore_fetch(struct keystore *ks, struct arena *arena, const char *user, const struct registry *reg,
		   struct stored_key *out)
{
	const struct keystore_fetch_plan *plan = fetch_plan(ks, reg);
	const char **argv;
	char key[KEY_NAME_MAX];
	const redisReply *reply;
	redisReply *owned;
	const char *why;
	int rc = GK_OK;

	memset(out, 0, reg->count * sizeof(*out));
	if (!plan || keystore_user_key(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	if (plan->count == 0)
		return GK_OK;
	argv = arena_alloc(arena, plan->argc * sizeof(*argv));
	if (!argv)
		return GK_NOMEM;
	memcpy(argv, plan->argv, plan->argc * sizeof(*argv));
	argv[1] = key;
	/* One HMGET for every provider's key and marks: a request reads
	 * Redis once, and the marks (expiry, last used) come with it; the
	 * per-worker cache may answer it (keystore_cache.h). */
	reply = keystore_cached_read(ks, key, (int)plan->argc, argv, &owned);
	if (!reply)
		return GK_UNAVAILABLE;
	if (keystore_check_hmget(reply, KEY_SUFFIXES * plan->count, &why) != GK_OK) {
		rc = keystore_unexpected_reply(ks, "HMGET", reply, why);
		goto out;
	}
	for (size_t k = 0; k < plan->count && rc == GK_OK; k++)
		rc = copy_stored_key(arena, &reply->element[KEY_SUFFIXES * k], &out[plan->index[k]]);
out:
	freeReplyObject(owned);
	if (rc != GK_OK)
		memset(out, 0, reg->count * sizeof(*out));
	return rc;
}

int keystore_mark_field(const char *field, const char *suffix, char *out, size_t len)
{
	return keystore_fits(snprintf(out, len, "%s%s", field, suffix), len);
}

int keystore_put(struct keystore *ks, const char *user, const char *field, const char *sealed,
		 const char *updated_at, const char *expires_at)
{
	char key[KEY_NAME_MAX], mark[KEY_SUFFIXES][KEYSTORE_FIELD_MAX];
	const char *hset[8] = { "HSET", key, field, sealed, mark[1], updated_at, mark[2], expires_at };
	const char *hdel[6] = { "HDEL", key, mark[3], mark[4], mark[5], mark[2] };
	const char *const *cmds[2] = { hset, hdel };
	/* With an expiry HSET sets it; without, HDEL removes the old one. */
	int argc[2] = { expires_at ? 8 : 6, expires_at ? 5 : 6 };
	redisReply *exec;
	int rc;

	if (keystore_user_key(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	for (size_t j = 1; j < KEY_SUFFIXES; j++)
		if (keystore_mark_field(field, key_suffixes[j], mark[j], sizeof(mark[j])) != GK_OK)
			return GK_NOMEM;
	keystore_cache_written(ks, key);
	rc = keystore_transaction(ks, 0, 2, argc, cmds, &exec);
	if (rc != GK_OK)
		return rc;
	freeReplyObject(exec);
	return keystore_wait_replicas(ks);
}

int keystore_delete(struct keystore *ks, const char *user, const char *field)
{
	char key[KEY_NAME_MAX], mark[KEY_SUFFIXES][KEYSTORE_FIELD_MAX];
	const char *argv[2 + KEY_SUFFIXES] = { "HDEL", key };
	redisReply *reply;

	if (keystore_user_key(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	for (size_t j = 0; j < KEY_SUFFIXES; j++) {
		if (keystore_mark_field(field, key_suffixes[j], mark[j], sizeof(mark[j])) != GK_OK)
			return GK_NOMEM;
		argv[2 + j] = mark[j];
	}
	keystore_cache_written(ks, key);
	reply = keystore_command(ks, 2 + KEY_SUFFIXES, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return keystore_wait_replicas(ks);
}

int keystore_glob_escape(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s; s++) {
		if (strchr("*?[]\\", *s) && o + 1 < len)
			out[o++] = '\\';
		if (o + 1 >= len)
			return GK_ERR;
		out[o++] = *s;
	}
	out[o] = '\0';
	return GK_OK;
}

/* The user id inside "<prefix>:users:{<user>}:apiKeys", or NULL. */
static const char *user_of_key(const struct keystore *ks, struct arena *arena, const char *key, size_t len)
{
	static const char tail[] = APIKEYS_SUFFIX;
	size_t plen = strlen(ks->prefix), head = plen + sizeof(USERS_INFIX) - 1;

	if (len < head + sizeof(tail) || memcmp(key, ks->prefix, plen) != 0 ||
	    memcmp(key + plen, USERS_INFIX, head - plen) != 0 ||
	    memcmp(key + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
		return NULL;
	return arena_strndup(arena, key + head, len - head - (sizeof(tail) - 1));
}

int keystore_scan_users(struct keystore *ks, struct arena *arena, char cursor[KEYSTORE_CURSOR_MAX],
			const char ***users, size_t *count)
{
	char prefix[2 * sizeof(ks->prefix)], pattern[2 * sizeof(ks->prefix) + 32];
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "200" };
	redisReply *reply, *keys;
	int rc = GK_UNAVAILABLE;

	*users = NULL;
	*count = 0;
	if (keystore_glob_escape(ks->prefix, prefix, sizeof(prefix)) != GK_OK)
		return GK_NOMEM;
	snprintf(pattern, sizeof(pattern), "%s" USERS_INFIX "*" APIKEYS_SUFFIX, prefix);
	reply = keystore_command(ks, 6, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len >= KEYSTORE_CURSOR_MAX ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY)
		goto out;
	keys = reply->element[1];
	*users = arena_alloc(arena, (keys->elements + 1) * sizeof(**users));
	if (!*users) {
		rc = GK_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < keys->elements; i++) {
		const char *user;

		if (keys->element[i]->type != REDIS_REPLY_STRING)
			continue;
		user = user_of_key(ks, arena, keys->element[i]->str, keys->element[i]->len);
		if (user)
			(*users)[(*count)++] = user;
	}
	memcpy(cursor, reply->element[0]->str, reply->element[0]->len);
	cursor[reply->element[0]->len] = '\0';
	rc = GK_OK;
out:
	freeReplyObject(reply);
	return rc;
}

/* Inside a transaction: only on the connection WATCH ran on. A new
 * connection would not be watching, so a lost one ends the attempt.
 * Callers come here only right after a command on ks succeeded, so the
 * connection is there (a failure drops it, and they return at once). */
redisReply *keystore_command_watched(struct keystore *ks, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply;

	reply = redisCommandArgv(ks->ctx, argc, argv, lens);
	/* on an error reply, whatever MULTI state the connection was in goes with it */
	return checked_reply(ks, argv[0], reply, 1);
}

static void set_timeout_ms(struct keystore *ks, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (ks->ctx)
		redisSetTimeout(ks->ctx, tv);
}

/* After a write: GK_OK when min_replicas replicas have it (or
 * min_replicas is 0), else GK_UNCERTAIN. */
int keystore_wait_replicas(struct keystore *ks)
{
	char want[16], ms[16];
	const char *argv[3] = { "WAIT", want, ms };
	redisReply *reply;
	long long acked = -1;

	if (ks->target.min_replicas <= 0)
		return GK_OK;
	snprintf(want, sizeof(want), "%d", ks->target.min_replicas);
	snprintf(ms, sizeof(ms), "%d", ks->timeout_ms);
	/* WAIT itself may block for the whole timeout: the socket waits
	 * that long again for its answer, then goes back to the usual. */
	set_timeout_ms(ks, 2 * ks->timeout_ms);
	reply = keystore_command_watched(ks, 3, argv, NULL);
	set_timeout_ms(ks, ks->timeout_ms);
	if (!reply)
		return GK_UNCERTAIN;
	if (reply->type == REDIS_REPLY_INTEGER)
		acked = reply->integer;
	freeReplyObject(reply);
	if (acked >= ks->target.min_replicas)
		return GK_OK;
	log_event(LOG_WARN, "write_unconfirmed", "replicas=%lld wanted=%d", acked, ks->target.min_replicas);
	/* Fewer replicas than asked for: this master may be cut off, or
	 * demoted already. Find the master again on the next call. */
	keystore_drop(ks);
	return GK_UNCERTAIN;
}

/* Collects "field value" pairs of the new values into argv/lens after
 * argv[0..1] = HSET key; returns how many pairs. */
static size_t collect_rewrites(const redisReply *all, struct arena *arena, keystore_rewrite_fn fn, void *ctx,
			       const char **argv, size_t *lens)
{
	size_t pairs = 0;

	for (size_t i = 0; i + 1 < all->elements; i += 2) {
		const redisReply *f = all->element[i], *v = all->element[i + 1];
		const char *field, *value;

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		field = arena_strndup(arena, f->str, f->len);
		/* a key's time and marks stay: rewriting it is not the user changing it */
		if (!field || is_mark_field(field) || !(value = fn(ctx, arena, field, v->str, v->len)))
			continue;
		argv[2 + 2 * pairs] = field;
		lens[2 + 2 * pairs] = f->len;
		argv[3 + 2 * pairs] = value;
		lens[3 + 2 * pairs] = strlen(value);
		pairs++;
	}
	return pairs;
}

int keystore_rewrite(struct keystore *ks, struct arena *arena, const char *user, keystore_rewrite_fn fn,
		     void *ctx)
{
	char key[KEY_NAME_MAX];
	const char *watch[2] = { "WATCH", key }, *hgetall[2] = { "HGETALL", key };
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" }, *unwatch[1] = { "UNWATCH" };
	const char **argv;
	size_t *lens, pairs;
	redisReply *reply, *all;
	int rc = GK_UNAVAILABLE;

	if (keystore_user_key(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	keystore_cache_written(ks, key);
	reply = keystore_command(ks, 2, watch, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	reply = NULL;
	all = keystore_command_watched(ks, 2, hgetall, NULL);
	if (!all)
		return GK_UNAVAILABLE;
	argv = arena_alloc(arena, (all->elements + 2) * sizeof(*argv));
	lens = arena_alloc(arena, (all->elements + 2) * sizeof(*lens));
	if (all->type != REDIS_REPLY_ARRAY || !argv || !lens) {
		rc = all->type == REDIS_REPLY_ARRAY ? GK_NOMEM : GK_UNAVAILABLE;
		keystore_drop(ks); /* still watching: start clean next time */
		goto out;
	}
	pairs = collect_rewrites(all, arena, fn, ctx, argv, lens);
	if (pairs == 0) {
		reply = keystore_command_watched(ks, 1, unwatch, NULL);
		rc = reply ? GK_OK : GK_UNAVAILABLE;
		goto out;
	}
	argv[0] = "HSET";
	lens[0] = 4;
	argv[1] = key;
	lens[1] = strlen(key);
	reply = keystore_command_watched(ks, 1, multi, NULL);
	if (!reply)
		goto out;
	freeReplyObject(reply);
	reply = keystore_command_watched(ks, (int)(2 + 2 * pairs), argv, lens);
	if (!reply)
		goto out;
	freeReplyObject(reply);
	reply = keystore_command_watched(ks, 1, exec, NULL);
	if (!reply)
		goto out;
	/* EXEC answers nil when a watched key changed: nothing was written. */
	if (reply->type == REDIS_REPLY_NIL)
		rc = GK_CONFLICT;
	else if (reply->type == REDIS_REPLY_ARRAY)
		rc = keystore_wait_replicas(ks);
out:
	if (reply)
		freeReplyObject(reply);
	freeReplyObject(all);
	return rc;
}

/* Sends count commands in one round trip, then reads every reply. An error
 * reply or a lost connection drops the connection (so no reply is left
 * unread on it) and answers GK_UNAVAILABLE. With may_retry, a connection
 * found dead before the first reply is dropped quietly and *stale set: the
 * server never read the commands, the caller may send them again. */
static int keystore_pipeline(struct keystore *ks, size_t count, int argc, const char *const *argv[],
			     int may_retry, int *stale)
{
	*stale = 0;
	for (size_t i = 0; i < count; i++) {
		if (redisAppendCommandArgv(ks->ctx, argc, (const char **)argv[i], NULL) != REDIS_OK) {
			report_down(ks, argv[i][0], "out of memory");
			keystore_drop(ks);
			return GK_UNAVAILABLE;
		}
	}
	for (size_t i = 0; i < count; i++) {
		void *reply = NULL;

		if (redisGetReply(ks->ctx, &reply) != REDIS_OK && i == 0 && may_retry &&
		    stale_connection_error(ks->ctx)) {
			keystore_drop(ks);
			*stale = 1;
			return GK_UNAVAILABLE;
		}
		reply = checked_reply(ks, argv[i][0], reply, 1);
		if (!reply)
			return GK_UNAVAILABLE;
		freeReplyObject(reply);
	}
	report_up(ks);
	return GK_OK;
}

int keystore_pipeline_run(struct keystore *ks, size_t count, int argc, const char *const *argv[])
{
	int reused = ks->ctx != NULL, stale, rc;

	if (!ks->ctx && keystore_connect(ks) != GK_OK)
		return GK_UNAVAILABLE;
	rc = keystore_pipeline(ks, count, argc, argv, reused, &stale);
	if (stale) {
		if (keystore_connect(ks) != GK_OK)
			return GK_UNAVAILABLE;
		rc = keystore_pipeline(ks, count, argc, argv, 0, &stale);
	}
	return rc;
}

/* EXEC's answer: an array of every command's reply (GK_OK, *exec keeps
 * it), or nil when a watched key changed and nothing ran (GK_CONFLICT). An
 * error inside the array (a command that failed as it ran) is an outage. */
static int transaction_result(struct keystore *ks, redisReply **exec)
{
	void *reply = NULL;
	redisReply *r;

	if (redisGetReply(ks->ctx, &reply) != REDIS_OK)
		reply = NULL;
	r = checked_reply(ks, "EXEC", reply, 1);
	if (!r)
		return GK_UNAVAILABLE;
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		report_up(ks);
		return GK_CONFLICT;
	}
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_ERROR) {
			report_down(ks, "EXEC", r->element[i]->str);
			freeReplyObject(r);
			keystore_drop(ks);
			return GK_UNAVAILABLE;
		}
	if (r->type != REDIS_REPLY_ARRAY) {
		int rc = keystore_unexpected_reply(ks, "EXEC", r, "neither an array nor nil");

		freeReplyObject(r);
		return rc;
	}
	report_up(ks);
	*exec = r;
	return GK_OK;
}

/* One attempt of keystore_transaction: MULTI, the commands and EXEC in one
 * round trip. may_retry and *stale as for keystore_pipeline. */
static int transaction_once(struct keystore *ks, size_t count, const int *argc, const char *const *argv[],
			    int may_retry, int *stale, redisReply **exec)
{
	static const char *multi[1] = { "MULTI" }, *exec_argv[1] = { "EXEC" };
	int rc = GK_OK;

	*stale = 0;
	if (redisAppendCommandArgv(ks->ctx, 1, multi, NULL) != REDIS_OK)
		rc = GK_NOMEM;
	for (size_t i = 0; i < count && rc == GK_OK; i++)
		if (redisAppendCommandArgv(ks->ctx, argc[i], (const char **)argv[i], NULL) != REDIS_OK)
			rc = GK_NOMEM;
	if (rc == GK_OK && redisAppendCommandArgv(ks->ctx, 1, exec_argv, NULL) != REDIS_OK)
		rc = GK_NOMEM;
	if (rc != GK_OK) {
		report_down(ks, "MULTI", "out of memory");
		keystore_drop(ks);
		return GK_UNAVAILABLE;
	}
	/* "+OK" for MULTI, "+QUEUED" for each command: an error reply drops
	 * the connection, and the transaction with it. */
	for (size_t i = 0; i <= count; i++) {
		void *reply = NULL;

		if (redisGetReply(ks->ctx, &reply) != REDIS_OK && i == 0 && may_retry &&
		    stale_connection_error(ks->ctx)) {
			keystore_drop(ks);
			*stale = 1;
			return GK_UNAVAILABLE;
		}
		reply = checked_reply(ks, i == 0 ? "MULTI" : argv[i - 1][0], reply, 1);
		if (!reply)
			return GK_UNAVAILABLE;
		freeReplyObject(reply);
	}
	return transaction_result(ks, exec);
}

int keystore_transaction(struct keystore *ks, int watched, size_t count, const int *argc,
			 const char *const *argv[], redisReply **exec)
{
	int reused = ks->ctx != NULL, stale, rc;

	*exec = NULL;
	/* WATCH ran on the connection there was: a new one watches nothing */
	if (!ks->ctx && (watched || keystore_connect(ks) != GK_OK))
		return GK_UNAVAILABLE;
	rc = transaction_once(ks, count, argc, argv, reused && !watched, &stale, exec);
	if (stale) {
		if (keystore_connect(ks) != GK_OK)
			return GK_UNAVAILABLE;
		rc = transaction_once(ks, count, argc, argv, 0, &stale, exec);
	}
	return rc;
}
