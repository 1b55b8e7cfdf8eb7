/* keystore_usage.c: the usage counters of keystore.h, one hash per user
 * and UTC month, "<prefix>:usage:{<user>}:<YYYY-MM>", fields
 * "<provider>:<counter>" (every call) and "<provider>:<source>:<counter>"
 * (the calls made with the user's own key, or with the system key). */
#include "keystore.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore_internal.h"
#include "num.h"
#include "status.h"

#define USAGE_INFIX ":usage:{"
#define USAGE_FIELD_MAX (PROVIDER_ID_MAX + 24)
/* a total and a per-source HINCRBY for each counter */
#define USAGE_INCRS (2 * KEYSTORE_COUNTERS)

const char *const keystore_counter_names[KEYSTORE_COUNTERS] = { "requests", "inputTokens", "outputTokens" };
const char *const keystore_source_names[KEYSTORE_SOURCES] = { "user", "system" };

int keystore_usage_key(const struct keystore *ks, const char *user, const char *month, char *out, size_t len)
{
	return keystore_fits(snprintf(out, len, "%s" USAGE_INFIX "%s}:%s", ks->prefix, user, month), len);
}

int keystore_usage_field(const char *provider_id, enum keystore_counter counter, char *out, size_t len)
{
	return keystore_fits(snprintf(out, len, "%s:%s", provider_id, keystore_counter_names[counter]), len);
}

int keystore_usage_source_field(const char *provider_id, enum keystore_source source,
				enum keystore_counter counter, char *out, size_t len)
{
	return keystore_fits(snprintf(out, len, "%s:%s:%s", provider_id, keystore_source_names[source],
				      keystore_counter_names[counter]),
			     len);
}

int keystore_usage_add(struct keystore *ks, const char *user, const char *month, const char *provider_id,
		       enum keystore_source source, const long long amounts[KEYSTORE_COUNTERS])
{
	char key[KEY_NAME_MAX], field[USAGE_INCRS][USAGE_FIELD_MAX], by[KEYSTORE_COUNTERS][24];
	const char *hincrby[USAGE_INCRS][4];
	const char *const *argv[USAGE_INCRS];
	size_t n = 0;
	int rc;

	if (keystore_usage_key(ks, user, month, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
		/* a zero adds nothing: leave it out */
		if (amounts[c] <= 0)
			continue;
		if (keystore_usage_field(provider_id, (enum keystore_counter)c, field[n], sizeof(field[n])) !=
			    GK_OK ||
		    keystore_usage_source_field(provider_id, source, (enum keystore_counter)c, field[n + 1],
						sizeof(field[n + 1])) != GK_OK)
			return GK_NOMEM;
		snprintf(by[c], sizeof(by[c]), "%lld", amounts[c]);
		for (size_t k = n; k < n + 2; k++) {
			hincrby[k][0] = "HINCRBY";
			hincrby[k][1] = key;
			hincrby[k][2] = field[k];
			hincrby[k][3] = by[c];
			argv[k] = hincrby[k];
		}
		n += 2;
	}
	if (n == 0)
		return GK_OK;
	rc = keystore_pipeline_run(ks, n, 4, argv);
	if (rc != GK_OK)
		return rc;
	/* one WAIT for every counter */
	return keystore_wait_replicas(ks);
}

/* A counter's value: a decimal integer as HINCRBY leaves it, nothing else
 * (an unchecked strtol would read "12abc" as 12 and "abc" as 0). hiredis
 * ends each string with a NUL; one inside it would cut the number short. */
static int parse_counter(const char *s, size_t len, long long *out)
{
	if (strlen(s) != len)
		return GK_ERR;
	return num_parse(s, LLONG_MIN, LLONG_MAX, out, NULL, 0);
}

static int same_name(const char *want, const char *field, size_t len)
{
	return strlen(want) == len && memcmp(want, field, len) == 0;
}

/* The counter of out that a usage field names (a total or a source's), or
 * NULL for a field of a provider or counter this service does not know
 * (left). */
static long long *counter_of_field(const struct registry *reg, const char *field, size_t len,
				   struct keystore_usage *out)
{
	char want[USAGE_FIELD_MAX];

	for (size_t i = 0; i < reg->count; i++)
		for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
			const char *id = reg->providers[i].id;

			if (keystore_usage_field(id, (enum keystore_counter)c, want, sizeof(want)) == GK_OK &&
			    same_name(want, field, len))
				return &out[i].count[c];
			for (int s = 0; s < KEYSTORE_SOURCES; s++)
				if (keystore_usage_source_field(id, (enum keystore_source)s,
								(enum keystore_counter)c, want,
								sizeof(want)) == GK_OK &&
				    same_name(want, field, len))
					return &out[i].by_source[s][c];
		}
	return NULL;
}

int keystore_usage_read(const redisReply *all, const struct registry *reg, struct keystore_usage *out,
			const char **why)
{
	memset(out, 0, reg->count * sizeof(*out));
	if (!all || all->type != REDIS_REPLY_ARRAY || all->elements % 2 != 0) {
		*why = "not an array of field and value pairs";
		return GK_ERR;
	}
	for (size_t i = 0; i < all->elements; i += 2) {
		const redisReply *f = all->element[i], *v = all->element[i + 1];
		long long n, *counter;

		if (!f || !v || f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
			*why = "a field or value that is not a string";
			goto refused;
		}
		counter = counter_of_field(reg, f->str, f->len, out);
		if (!counter)
			continue;
		if (parse_counter(v->str, v->len, &n) != GK_OK) {
			*why = "a counter that is not a whole number";
			goto refused;
		}
		*counter = n;
	}
	return GK_OK;
refused:
	memset(out, 0, reg->count * sizeof(*out));
	return GK_ERR;
}

int keystore_usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
		       struct keystore_usage *out)
{
	char key[KEY_NAME_MAX];
	const char *argv[2] = { "HGETALL", key };
	redisReply *reply;
	const char *why;
	int rc = GK_OK;

	memset(out, 0, reg->count * sizeof(*out));
	if (keystore_usage_key(ks, user, month, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	reply = keystore_command(ks, 2, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	if (keystore_usage_read(reply, reg, out, &why) != GK_OK)
		rc = keystore_unexpected_reply(ks, "HGETALL", reply, why);
	freeReplyObject(reply);
	return rc;
}

/* Reads the HMGET reply of keystore_usage_system_tokens: pairs of input
 * and output tokens, nil as 0. */
static int read_system_tokens(const redisReply *reply, size_t n, long long *tokens, const char **why)
{
	if (keystore_check_hmget(reply, 2 * n, why) != GK_OK)
		return GK_ERR;
	for (size_t i = 0; i < n; i++) {
		tokens[i] = 0;
		for (size_t k = 2 * i; k < 2 * i + 2; k++) {
			const redisReply *e = reply->element[k];
			long long v;

			if (e->type == REDIS_REPLY_NIL)
				continue;
			if (parse_counter(e->str, e->len, &v) != GK_OK) {
				*why = "a counter that is not a whole number";
				return GK_ERR;
			}
			/* below 0 only by a hand-made change (HINCRBY past zero):
			 * none spent, as gofannon-keys stats reads it. From 0 up,
			 * LLONG_MAX - tokens cannot overflow, and a sum past the
			 * range is still "over any allowance" */
			if (v < 0)
				v = 0;
			tokens[i] = v > LLONG_MAX - tokens[i] ? LLONG_MAX : tokens[i] + v;
		}
	}
	return GK_OK;
}

int keystore_usage_system_tokens(struct keystore *ks, const char *user, const char *month,
				 const char *const *ids, size_t n, long long *tokens)
{
	char key[KEY_NAME_MAX];
	char(*fields)[USAGE_FIELD_MAX] = NULL;
	const char **argv = NULL;
	redisReply *reply = NULL;
	const char *why;
	int rc = GK_NOMEM;

	memset(tokens, 0, n * sizeof(*tokens));
	if (n == 0)
		return GK_OK;
	fields = calloc(2 * n, sizeof(*fields));
	argv = calloc(2 + 2 * n, sizeof(*argv));
	if (!fields || !argv || keystore_usage_key(ks, user, month, key, sizeof(key)) != GK_OK)
		goto out;
	argv[0] = "HMGET";
	argv[1] = key;
	for (size_t i = 0; i < n; i++) {
		if (keystore_usage_source_field(ids[i], KEYSTORE_SOURCE_SYSTEM, KEYSTORE_INPUT_TOKENS,
						fields[2 * i], sizeof(fields[0])) != GK_OK ||
		    keystore_usage_source_field(ids[i], KEYSTORE_SOURCE_SYSTEM, KEYSTORE_OUTPUT_TOKENS,
						fields[2 * i + 1], sizeof(fields[0])) != GK_OK)
			goto out;
		argv[2 + 2 * i] = fields[2 * i];
		argv[3 + 2 * i] = fields[2 * i + 1];
	}
	rc = GK_UNAVAILABLE;
	reply = keystore_command(ks, (int)(2 + 2 * n), argv, NULL);
	if (!reply)
		goto out;
	rc = GK_OK;
	if (read_system_tokens(reply, n, tokens, &why) != GK_OK) {
		memset(tokens, 0, n * sizeof(*tokens));
		rc = keystore_unexpected_reply(ks, "HMGET", reply, why);
	}
out:
	if (reply)
		freeReplyObject(reply);
	free(argv);
	free(fields);
	return rc;
}
