/* keystore_keylife.c: the marks of a key's life in the key hash of
 * keystore.h ("<F>:lastUsedAt", "<F>:rejectedAt", "<F>:expiredAt"), and
 * the deletion of an expired key. A mark that belongs to one stored key
 * is written only while that key is still the one stored (WATCH), so a
 * key put meanwhile never inherits its predecessor's rejection or expiry. */
#include "keystore.h"

#include <hiredis/hiredis.h>
#include <string.h>

#include "keystore_internal.h"
#include "status.h"

/* WATCHes the key hash, then reads <F>: GK_OK (still watching) when it
 * holds sealed; GK_CONFLICT (no longer watching) when another value or
 * none is stored; GK_UNAVAILABLE. */
static int watch_holds(struct keystore *ks, const char *key, const char *field, const char *sealed,
		       size_t sealed_len)
{
	const char *watch[2] = { "WATCH", key }, *hmget[3] = { "HMGET", key, field };
	const char *unwatch[1] = { "UNWATCH" };
	redisReply *reply;
	const char *why;
	int same;

	reply = keystore_command(ks, 2, watch, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	reply = keystore_command_watched(ks, 3, hmget, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	if (keystore_check_hmget(reply, 1, &why) != GK_OK) {
		int rc = keystore_unexpected_reply(ks, "HMGET", reply, why);

		freeReplyObject(reply);
		return rc;
	}
	/* sealed values carry a random nonce: a key stored again differs */
	same = reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len == sealed_len &&
	       memcmp(reply->element[0]->str, sealed, sealed_len) == 0;
	freeReplyObject(reply);
	if (same)
		return GK_OK;
	/* What the caller read is not what Redis holds: a cached copy, if
	 * that is where it came from, is stale (its invalidation delayed), so
	 * the next read goes to Redis rather than meet this conflict again. */
	keystore_cache_written(ks, key);
	reply = keystore_command_watched(ks, 1, unwatch, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_CONFLICT;
}

/* Runs the count commands as one transaction if <F> still holds sealed,
 * with the activity entry ev, when there is one, as the last command. */
static int while_holds(struct keystore *ks, const char *user, const char *key, const char *field,
		       const char *sealed, size_t sealed_len, const struct keystore_event *ev, size_t count,
		       int *argc, const char **argv[])
{
	char stream[KEY_NAME_MAX];
	const char *xadd[KEYSTORE_XADD_ARGS];
	redisReply *exec;
	int rc;

	/* xadd points into stream: both live until the transaction ran */
	if (keystore_activity_key(ks, user, stream, sizeof(stream)) != GK_OK)
		return GK_NOMEM;
	if (ev) {
		argc[count] = keystore_activity_argv(stream, ev, xadd);
		argv[count++] = xadd;
	}
	rc = watch_holds(ks, key, field, sealed, sealed_len);
	if (rc != GK_OK)
		return rc;
	keystore_cache_written(ks, key);
	rc = keystore_transaction(ks, 1, count, argc, (const char *const **)argv, &exec);
	if (rc != GK_OK)
		return rc;
	freeReplyObject(exec);
	return keystore_wait_replicas(ks);
}

int keystore_touch(struct keystore *ks, const char *user, const char *field, const char *sealed,
		   size_t sealed_len, const char *at)
{
	char key[KEY_NAME_MAX], mark[KEYSTORE_FIELD_MAX];
	const char *hset[4] = { "HSET", key, mark, at };
	const char **argv[1] = { hset };
	int argc[1] = { 4 };

	if (keystore_user_key(ks, user, key, sizeof(key)) != GK_OK ||
	    keystore_mark_field(field, KEYSTORE_LAST_USED, mark, sizeof(mark)) != GK_OK)
		return GK_NOMEM;
	return while_holds(ks, user, key, field, sealed, sealed_len, NULL, 1, argc, argv);
}

int keystore_reject(struct keystore *ks, const char *user, const char *field, const char *sealed,
		    size_t sealed_len, const struct keystore_event *ev)
{
	char key[KEY_NAME_MAX], mark[KEYSTORE_FIELD_MAX];
	const char *hset[4] = { "HSET", key, mark, ev->at };
	const char **argv[2] = { hset, NULL };
	int argc[2] = { 4, 0 };

	if (keystore_user_key(ks, user, key, sizeof(key)) != GK_OK ||
	    keystore_mark_field(field, KEYSTORE_REJECTED, mark, sizeof(mark)) != GK_OK)
		return GK_NOMEM;
	return while_holds(ks, user, key, field, sealed, sealed_len, ev, 1, argc, argv);
}

int keystore_expire(struct keystore *ks, const char *user, const char *field, const char *sealed,
		    size_t sealed_len, const struct keystore_event *ev)
{
	static const char *const gone[] = { KEYSTORE_UPDATED, KEYSTORE_EXPIRES, KEYSTORE_LAST_USED,
					    KEYSTORE_REJECTED };
	char key[KEY_NAME_MAX], mark[5][KEYSTORE_FIELD_MAX];
	const char *hdel[7] = { "HDEL", key, field, mark[0], mark[1], mark[2], mark[3] };
	const char *hset[4] = { "HSET", key, mark[4], ev->at };
	const char **argv[3] = { hdel, hset, NULL };
	int argc[3] = { 7, 4, 0 };

	if (keystore_user_key(ks, user, key, sizeof(key)) != GK_OK ||
	    keystore_mark_field(field, KEYSTORE_EXPIRED, mark[4], sizeof(mark[4])) != GK_OK)
		return GK_NOMEM;
	for (size_t i = 0; i < 4; i++)
		if (keystore_mark_field(field, gone[i], mark[i], sizeof(mark[i])) != GK_OK)
			return GK_NOMEM;
	return while_holds(ks, user, key, field, sealed, sealed_len, ev, 2, argc, argv);
}
