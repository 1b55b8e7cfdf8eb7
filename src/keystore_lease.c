/* keystore_lease.c: LLM call leases (llm_limit.h).
 *
 * Key "<prefix>:users:{<user>}:llmCalls", a sorted set: one member per LLM
 * call in progress, a random call id, scored by the call's deadline in
 * Unix milliseconds. A lease whose deadline passed is dropped by the next
 * acquire, so a worker that died mid-call holds nothing past its deadline;
 * the key itself expires at the deadline of its newest lease (every host
 * gives leases the same length, so that is the latest). */
#include "keystore.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#include "keystore_internal.h"
#include "log.h"
#include "status.h"

#define LEASES_SUFFIX ":llmCalls"

static int lease_set_name(const struct keystore *ks, const char *user, char *out, size_t len)
{
	return keystore_user_name(ks, user, LEASES_SUFFIX, out, len);
}

/* The commands of the acquire, queued after MULTI; replies are read at EXEC. */
static int lease_queue(struct keystore *ks, const char *key, const char *call_id, long long now_ms,
		       long long deadline_ms)
{
	char now[24], deadline[24], ttl[24];
	const char *prune[4] = { "ZREMRANGEBYSCORE", key, "-inf", now };
	const char *add[4] = { "ZADD", key, deadline, call_id };
	const char *card[2] = { "ZCARD", key };
	const char *expire[3] = { "PEXPIRE", key, ttl };
	const char **steps[4] = { prune, add, card, expire };
	const int argcs[4] = { 4, 4, 2, 3 };

	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(deadline, sizeof(deadline), "%lld", deadline_ms);
	snprintf(ttl, sizeof(ttl), "%lld", deadline_ms - now_ms);
	for (int i = 0; i < 4; i++) {
		redisReply *reply = keystore_command_watched(ks, argcs[i], steps[i], NULL);

		if (!reply)
			return GK_UNAVAILABLE;
		freeReplyObject(reply);
	}
	return GK_OK;
}

int keystore_lease_acquire(struct keystore *ks, const char *user, const char *call_id, long long now_ms,
			   long long deadline_ms, long long *held)
{
	char key[KEY_NAME_MAX];
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	redisReply *reply;
	int rc = GK_UNAVAILABLE;

	*held = 0;
	if (lease_set_name(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	reply = keystore_command(ks, 1, multi, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	if (lease_queue(ks, key, call_id, now_ms, deadline_ms) != GK_OK)
		return GK_UNAVAILABLE;
	reply = keystore_command_watched(ks, 1, exec, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	/* [pruned, added, count, expired]: the count is the third */
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 &&
	    reply->element[2]->type == REDIS_REPLY_INTEGER) {
		*held = reply->element[2]->integer;
		rc = GK_OK;
	} else {
		log_event(LOG_ERROR, "redis_reply_unexpected", "command=EXEC during=lease_acquire");
		keystore_drop(ks);
	}
	freeReplyObject(reply);
	return rc;
}

int keystore_lease_release(struct keystore *ks, const char *user, const char *call_id)
{
	char key[KEY_NAME_MAX];
	const char *argv[3] = { "ZREM", key, call_id };
	redisReply *reply;

	if (lease_set_name(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	reply = keystore_command(ks, 3, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}
