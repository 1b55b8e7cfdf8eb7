/* keystore_usage.c: the usage counters of keystore.h, one hash per user
 * and UTC month, "<prefix>:usage:{<user>}:<YYYY-MM>", fields
 * "<provider>:<counter>". */
#include "keystore.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "keystore_internal.h"
#include "num.h"
#include "status.h"

#define USAGE_INFIX ":usage:{"
#define USAGE_FIELD_MAX (PROVIDER_ID_MAX + 16)

const char *const keystore_counter_names[KEYSTORE_COUNTERS] = { "requests", "inputTokens", "outputTokens" };

int keystore_usage_key(const struct keystore *ks, const char *user, const char *month, char *out, size_t len)
{
	return keystore_fits(snprintf(out, len, "%s" USAGE_INFIX "%s}:%s", ks->prefix, user, month), len);
}

int keystore_usage_field(const char *provider_id, enum keystore_counter counter, char *out, size_t len)
{
	return keystore_fits(snprintf(out, len, "%s:%s", provider_id, keystore_counter_names[counter]), len);
}

int keystore_usage_add(struct keystore *ks, const char *user, const char *month, const char *provider_id,
		       const long long amounts[KEYSTORE_COUNTERS])
{
	char key[KEY_NAME_MAX], field[KEYSTORE_COUNTERS][USAGE_FIELD_MAX], by[KEYSTORE_COUNTERS][24];
	const char *hincrby[KEYSTORE_COUNTERS][4];
	const char *const *argv[KEYSTORE_COUNTERS];
	size_t n = 0;
	int rc;

	if (keystore_usage_key(ks, user, month, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
		/* a zero adds nothing: leave it out */
		if (amounts[c] <= 0)
			continue;
		if (keystore_usage_field(provider_id, (enum keystore_counter)c, field[n], sizeof(field[n])) !=
		    GK_OK)
			return GK_NOMEM;
		snprintf(by[n], sizeof(by[n]), "%lld", amounts[c]);
		hincrby[n][0] = "HINCRBY";
		hincrby[n][1] = key;
		hincrby[n][2] = field[n];
		hincrby[n][3] = by[n];
		argv[n] = hincrby[n];
		n++;
	}
	if (n == 0)
		return GK_OK;
	rc = keystore_pipeline_run(ks, n, 4, argv);
	if (rc != GK_OK)
		return rc;
	/* one WAIT for the three counters */
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

/* The index of the provider and counter a usage field names, or GK_ERR for
 * a field of a provider or counter this service does not know (left). */
static int counter_of_field(const struct registry *reg, const char *field, size_t len, size_t *provider,
			    int *counter)
{
	char want[USAGE_FIELD_MAX];

	for (size_t i = 0; i < reg->count; i++)
		for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
			if (keystore_usage_field(reg->providers[i].id, (enum keystore_counter)c, want,
						 sizeof(want)) != GK_OK ||
			    strlen(want) != len || memcmp(want, field, len) != 0)
				continue;
			*provider = i;
			*counter = c;
			return GK_OK;
		}
	return GK_ERR;
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
		size_t provider;
		int counter;
		long long n;

		if (!f || !v || f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
			*why = "a field or value that is not a string";
			goto refused;
		}
		if (counter_of_field(reg, f->str, f->len, &provider, &counter) != GK_OK)
			continue;
		if (parse_counter(v->str, v->len, &n) != GK_OK) {
			*why = "a counter that is not a whole number";
			goto refused;
		}
		out[provider].count[counter] = n;
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
