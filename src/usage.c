#include "usage.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define USAGE_KEY_MAX (128 + 256 + 32)
#define USAGE_FIELD_MAX (PROVIDER_ID_MAX + 16)

static const char *const counters[] = { "requests", "inputTokens", "outputTokens" };

void usage_month(time_t t, char out[USAGE_MONTH_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, USAGE_MONTH_LEN + 1, "%Y-%m", &tm);
}

static int usage_key(const struct keystore *ks, const char *user, const char *month, char *out, size_t len)
{
	int n = snprintf(out, len, "%s:usage:{%s}:%s", ks->prefix, user, month);

	return n < 0 || (size_t)n >= len ? GK_NOMEM : GK_OK;
}

static int increment(struct keystore *ks, const char *key, const char *provider_id, const char *counter,
		     long by)
{
	char field[USAGE_FIELD_MAX], amount[24];
	const char *argv[4] = { "HINCRBY", key, field, amount };
	redisReply *reply;

	if (snprintf(field, sizeof(field), "%s:%s", provider_id, counter) >= (int)sizeof(field))
		return GK_NOMEM;
	snprintf(amount, sizeof(amount), "%ld", by);
	reply = keystore_command(ks, 4, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return GK_OK;
}

int usage_add(struct keystore *ks, const char *user, const char *provider_id, const struct chat_usage *usage,
	      time_t now)
{
	char key[USAGE_KEY_MAX], month[USAGE_MONTH_LEN + 1];
	long amounts[3] = { 1, usage->input_tokens, usage->output_tokens };
	int rc;

	usage_month(now, month);
	if (usage_key(ks, user, month, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	for (size_t i = 0; i < 3; i++) {
		/* A zero adds nothing: save the round trip. */
		if (amounts[i] <= 0)
			continue;
		rc = increment(ks, key, provider_id, counters[i], amounts[i]);
		if (rc != GK_OK)
			return rc;
	}
	/* one WAIT for the three counters */
	return keystore_wait_replicas(ks);
}

/* The counter of a field "<provider>:<counter>" in a HGETALL reply, or 0. */
static long reply_count(const redisReply *reply, const char *provider_id, const char *counter)
{
	char field[USAGE_FIELD_MAX];
	int n = snprintf(field, sizeof(field), "%s:%s", provider_id, counter);

	if (n < 0 || (size_t)n >= sizeof(field))
		return 0;
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const redisReply *name = reply->element[i], *value = reply->element[i + 1];

		if (name->type == REDIS_REPLY_STRING && (size_t)name->len == (size_t)n &&
		    memcmp(name->str, field, (size_t)n) == 0 && value->type == REDIS_REPLY_STRING)
			return strtol(value->str, NULL, 10);
	}
	return 0;
}

/* {"openai":{"requests":3,"inputTokens":30,"outputTokens":12},...} from
 * a HGETALL reply, every provider of reg in registry order. */
static void write_providers(struct jsonw *w, const redisReply *reply, const struct registry *reg)
{
	jsonw_object_begin(w);
	for (size_t i = 0; i < reg->count; i++) {
		const char *id = reg->providers[i].id;

		jsonw_key(w, id);
		jsonw_object_begin(w);
		for (size_t k = 0; k < 3; k++) {
			jsonw_key(w, counters[k]);
			jsonw_int(w,
				  reply->type == REDIS_REPLY_ARRAY ? reply_count(reply, id, counters[k]) : 0);
		}
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
}

int usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
	      struct jsonw *w)
{
	char key[USAGE_KEY_MAX];
	const char *argv[2] = { "HGETALL", key };
	redisReply *reply;

	if (usage_key(ks, user, month, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	reply = keystore_command(ks, 2, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	jsonw_object_begin(w);
	jsonw_key(w, "month");
	jsonw_string(w, month);
	jsonw_key(w, "providers");
	write_providers(w, reply, reg);
	jsonw_object_end(w);
	freeReplyObject(reply);
	return GK_OK;
}
