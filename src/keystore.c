#include "keystore.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "status.h"

#define KEY_NAME_MAX (128 + 256 + 32)
#define UPDATED_SUFFIX ":updatedAt"

void keystore_init(struct keystore *ks, const struct redis_target *target, const char *prefix,
		   int timeout_ms)
{
	memset(ks, 0, sizeof(*ks));
	ks->target = *target;
	snprintf(ks->prefix, sizeof(ks->prefix), "%s", prefix);
	ks->timeout_ms = timeout_ms;
}

static void drop_connection(struct keystore *ks)
{
	if (ks->ctx)
		redisFree(ks->ctx);
	ks->ctx = NULL;
}

void keystore_release(struct keystore *ks)
{
	drop_connection(ks);
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

/* Runs a command on the current connection; on a transport failure drops it. */
static redisReply *run(struct keystore *ks, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply = redisCommandArgv(ks->ctx, argc, argv, lens);

	if (!reply) {
		report_down(ks, argv[0], ks->ctx->errstr);
		drop_connection(ks);
	}
	return reply;
}

static int expect_ok(struct keystore *ks, const char *what, redisReply *reply)
{
	int ok = reply && reply->type != REDIS_REPLY_ERROR;

	if (reply && !ok)
		report_down(ks, what, reply->str);
	if (reply)
		freeReplyObject(reply);
	if (!ok)
		drop_connection(ks);
	return ok ? GK_OK : GK_UNAVAILABLE;
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
	if (!ks->ctx)
		return GK_UNAVAILABLE;
	return expect_ok(ks, "AUTH", run(ks, argc, argv, NULL));
}

static int select_db(struct keystore *ks)
{
	char db[16];
	const char *argv[2] = { "SELECT", db };

	if (ks->target.db == 0)
		return GK_OK;
	snprintf(db, sizeof(db), "%d", ks->target.db);
	if (!ks->ctx)
		return GK_UNAVAILABLE;
	return expect_ok(ks, "SELECT", run(ks, 2, argv, NULL));
}

static int connect_store(struct keystore *ks)
{
	struct timeval tv = { ks->timeout_ms / 1000, (ks->timeout_ms % 1000) * 1000 };

	if (ks->target.path[0])
		ks->ctx = redisConnectUnixWithTimeout(ks->target.path, tv);
	else
		ks->ctx = redisConnectWithTimeout(ks->target.host, ks->target.port, tv);
	if (!ks->ctx || ks->ctx->err) {
		report_down(ks, "connect", ks->ctx ? ks->ctx->errstr : "out of memory");
		drop_connection(ks);
		return GK_UNAVAILABLE;
	}
	/* hiredis 0.14 keeps no command timeout across connections: set it on each. */
	if (redisSetTimeout(ks->ctx, tv) != REDIS_OK) {
		report_down(ks, "connect", "unable to set the command timeout");
		drop_connection(ks);
		return GK_UNAVAILABLE;
	}
	if (authenticate(ks) != GK_OK || select_db(ks) != GK_OK)
		return GK_UNAVAILABLE;
	return GK_OK;
}

/* A reused connection may have died while idle (Redis restarted): that
 * failure is retried once on a fresh connection. A timeout is not. */
static int stale_connection_error(const redisContext *ctx)
{
	return ctx->err == REDIS_ERR_EOF || (ctx->err == REDIS_ERR_IO && errno != EAGAIN &&
					     errno != EWOULDBLOCK);
}

static redisReply *command(struct keystore *ks, int argc, const char **argv, const size_t *lens)
{
	int reused = ks->ctx != NULL;
	redisReply *reply;

	if (!ks->ctx && connect_store(ks) != GK_OK)
		return NULL;
	reply = redisCommandArgv(ks->ctx, argc, argv, lens);
	if (!reply && reused && stale_connection_error(ks->ctx)) {
		drop_connection(ks);
		if (connect_store(ks) != GK_OK)
			return NULL;
		reply = redisCommandArgv(ks->ctx, argc, argv, lens);
	}
	if (!reply) {
		report_down(ks, argv[0], ks->ctx->errstr);
		drop_connection(ks);
		return NULL;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		report_down(ks, argv[0], reply->str);
		freeReplyObject(reply);
		return NULL;
	}
	report_up(ks);
	return reply;
}

redisReply *keystore_command(struct keystore *ks, int argc, const char **argv, const size_t *lens)
{
	return command(ks, argc, argv, lens);
}

static int hash_name(const struct keystore *ks, const char *user, char *out, size_t len)
{
	int n = snprintf(out, len, "%s:users:{%s}:apiKeys", ks->prefix, user);

	return n < 0 || (size_t)n >= len ? GK_ERR : GK_OK;
}

int keystore_ping(struct keystore *ks)
{
	const char *argv[] = { "PING" };
	redisReply *reply = command(ks, 1, argv, NULL);

	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}

static const char *copy_reply_string(struct arena *arena, const redisReply *r, size_t *len)
{
	if (!r || r->type != REDIS_REPLY_STRING)
		return NULL;
	if (len)
		*len = r->len;
	return arena_strndup(arena, r->str, r->len);
}

int keystore_fetch(struct keystore *ks, struct arena *arena, const char *user,
		   const struct registry *reg, struct stored_key *out)
{
	const char **argv = arena_alloc(arena, (2 + 2 * reg->count) * sizeof(*argv));
	size_t *index = arena_alloc(arena, reg->count * sizeof(*index));
	char key[KEY_NAME_MAX];
	redisReply *reply;
	int argc = 2;
	size_t n = 0;

	memset(out, 0, reg->count * sizeof(*out));
	if (!argv || !index || hash_name(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	argv[0] = "HMGET";
	argv[1] = key;
	for (size_t i = 0; i < reg->count; i++) {
		const char *field = reg->providers[i].user_key_field;

		if (!field)
			continue;
		argv[argc++] = field;
		argv[argc++] = arena_printf(arena, "%s" UPDATED_SUFFIX, field);
		if (!argv[argc - 1])
			return GK_NOMEM;
		index[n++] = i;
	}
	if (n == 0)
		return GK_OK;
	reply = command(ks, argc, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 * n) {
		for (size_t k = 0; k < n; k++) {
			struct stored_key *sk = &out[index[k]];

			sk->sealed = copy_reply_string(arena, reply->element[2 * k], &sk->sealed_len);
			sk->updated_at = copy_reply_string(arena, reply->element[2 * k + 1], NULL);
		}
	}
	freeReplyObject(reply);
	return GK_OK;
}

int keystore_put(struct keystore *ks, const char *user, const char *field, const char *sealed,
		 const char *updated_at)
{
	char key[KEY_NAME_MAX], updated_field[KEYSTORE_FIELD_MAX];
	const char *argv[6] = { "HSET", key, field, sealed, updated_field, updated_at };
	redisReply *reply;

	if (hash_name(ks, user, key, sizeof(key)) != GK_OK ||
	    snprintf(updated_field, sizeof(updated_field), "%s" UPDATED_SUFFIX, field) >= (int)sizeof(updated_field))
		return GK_NOMEM;
	reply = command(ks, 6, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}

int keystore_delete(struct keystore *ks, const char *user, const char *field)
{
	char key[KEY_NAME_MAX], updated_field[KEYSTORE_FIELD_MAX];
	const char *argv[4] = { "HDEL", key, field, updated_field };
	redisReply *reply;

	if (hash_name(ks, user, key, sizeof(key)) != GK_OK ||
	    snprintf(updated_field, sizeof(updated_field), "%s" UPDATED_SUFFIX, field) >= (int)sizeof(updated_field))
		return GK_NOMEM;
	reply = command(ks, 4, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}
