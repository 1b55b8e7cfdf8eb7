/* keystore_stats.c: the operator's view of keystore.h (gofannon-keys
 * stats): one walk over every user's key hash, one over every usage hash
 * of a month, each a SCAN ... COUNT 1000 whose batch of names is read with
 * pipelined HMGETs. Reads only: the field names are those of keystore.c
 * and keystore_usage.c, and no value of a key field is ever asked for. */
#include "keystore.h"

#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "keystore_internal.h"
#include "log.h"
#include "num.h"
#include "status.h"

#define SCAN_COUNT "1000"
/* the key hash's fields of each provider that the walk reads (keystore.h) */
#define UPDATED_SUFFIX ":updatedAt"
#define EXPIRES_SUFFIX ":expiresAt"

/* One walk: the names SCAN matches, each read with HMGET of fields, and
 * visit called with every reply. */
struct walk {
	const char *pattern;
	const char **fields;
	size_t nfields;
	void (*visit)(struct walk *w, const redisReply *values);
	void *ctx;
	long long hashes;
};

static int append_hmgets(struct keystore *ks, struct walk *w, const redisReply *names, const char **argv)
{
	argv[0] = "HMGET";
	memcpy(argv + 2, w->fields, w->nfields * sizeof(*argv));
	for (size_t i = 0; i < names->elements; i++) {
		/* hiredis ends each string with a NUL; the service's names hold none */
		argv[1] = names->element[i]->str;
		if (redisAppendCommandArgv(ks->ctx, (int)(2 + w->nfields), argv, NULL) != REDIS_OK)
			return GK_NOMEM;
	}
	return GK_OK;
}

/* 1 for Redis's answer to an HMGET of a name that holds another type: a
 * stray key that matched the pattern, not the server failing. */
static int wrong_type(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGTYPE", 9) == 0;
}

/* Reads the replies of the batch's HMGETs, in order, visiting each; a
 * name that is not a hash is left out (an operator's summary does not
 * stop at one stray key) and not counted. */
static int read_hmgets(struct keystore *ks, struct walk *w, size_t count)
{
	const char *why;
	long long strays = 0;
	int rc = GK_OK;

	for (size_t i = 0; i < count; i++) {
		void *r = NULL;

		if (redisGetReply(ks->ctx, &r) != REDIS_OK) {
			log_event(LOG_ERROR, "redis_unavailable", "during=HMGET error=\"%s\"",
				  ks->ctx->errstr[0] ? ks->ctx->errstr : "no reply");
			keystore_drop(ks);
			return GK_UNAVAILABLE;
		}
		/* every reply is read even after a bad one, so none is left on
		 * the connection */
		if (rc == GK_OK && wrong_type(r))
			strays++;
		else if (rc == GK_OK && keystore_check_hmget(r, w->nfields, &why) != GK_OK)
			rc = GK_ERR;
		else if (rc == GK_OK)
			w->visit(w, r);
		freeReplyObject(r);
	}
	if (rc != GK_OK)
		return keystore_unexpected_reply(ks, "HMGET", NULL, why);
	w->hashes += (long long)count - strays;
	return GK_OK;
}

/* Every element of a SCAN reply's list of names must be a string. */
static int names_are_strings(const redisReply *names)
{
	for (size_t i = 0; i < names->elements; i++)
		if (!names->element[i] || names->element[i]->type != REDIS_REPLY_STRING)
			return 0;
	return 1;
}

/* One SCAN step and the HMGETs of what it found: GK_OK with cursor moved
 * on ("0" at the end). */
static int walk_step(struct keystore *ks, struct walk *w, char cursor[KEYSTORE_CURSOR_MAX], const char **argv)
{
	const char *scan[6] = { "SCAN", cursor, "MATCH", w->pattern, "COUNT", SCAN_COUNT };
	redisReply *reply = keystore_command(ks, 6, scan, NULL);
	const redisReply *names;
	int rc;

	if (!reply)
		return GK_UNAVAILABLE;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING || reply->element[0]->len >= KEYSTORE_CURSOR_MAX ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY || !names_are_strings(reply->element[1])) {
		rc = keystore_unexpected_reply(ks, "SCAN", reply, "not a cursor and a list of names");
		goto out;
	}
	names = reply->element[1];
	rc = append_hmgets(ks, w, names, argv);
	if (rc == GK_OK && names->elements > 0)
		rc = read_hmgets(ks, w, names->elements);
	else if (rc != GK_OK)
		keystore_drop(ks); /* commands may sit unsent in its buffer */
	if (rc == GK_OK) {
		memcpy(cursor, reply->element[0]->str, reply->element[0]->len);
		cursor[reply->element[0]->len] = '\0';
	}
out:
	freeReplyObject(reply);
	return rc;
}

static int walk_all(struct keystore *ks, struct walk *w)
{
	char cursor[KEYSTORE_CURSOR_MAX] = "0";
	const char **argv = calloc(2 + w->nfields, sizeof(*argv));
	int rc = GK_NOMEM;

	w->hashes = 0;
	if (!argv)
		return GK_NOMEM;
	do {
		rc = walk_step(ks, w, cursor, argv);
	} while (rc == GK_OK && strcmp(cursor, "0") != 0);
	free(argv);
	return rc;
}

/* The fields of a walk: for each of reg's providers that passes keep,
 * one field per suffix; index[k] is the provider of field k / nsuffixes. */
static const char **provider_fields(const struct registry *reg, int user_fields, const char *const *suffixes,
				    size_t nsuffixes, size_t *index, size_t *count)
{
	const char **fields = calloc(reg->count * nsuffixes + 1, sizeof(*fields));
	size_t n = 0;

	*count = 0;
	if (!fields)
		return NULL;
	for (size_t i = 0; i < reg->count; i++) {
		const struct provider *p = &reg->providers[i];
		const char *base = user_fields ? p->user_key_field : p->id;

		if (!base)
			continue;
		for (size_t s = 0; s < nsuffixes; s++) {
			size_t len = strlen(base) + strlen(suffixes[s]) + 1;
			char *f = malloc(len);

			if (!f)
				goto fail;
			snprintf(f, len, "%s%s", base, suffixes[s]);
			fields[n * nsuffixes + s] = f;
		}
		index[n++] = i;
	}
	*count = n;
	return fields;
fail:
	for (size_t k = 0; k < reg->count * nsuffixes; k++)
		free((char *)fields[k]);
	free(fields);
	return NULL;
}

static void free_fields(const char **fields, size_t n)
{
	for (size_t k = 0; fields && k < n; k++)
		free((char *)fields[k]);
	free(fields);
}

/* --- keys ------------------------------------------------------------- */

struct key_walk {
	const size_t *index;
	size_t providers;
	time_t now, old_before;
	struct keystore_key_stats *out;
};

/* An ISO time of a reply element, or -1 when absent or unreadable. */
static time_t element_time(const redisReply *e)
{
	char buf[CLOCK_ISO_LEN + 1];
	time_t t;

	if (e->type != REDIS_REPLY_STRING || e->len != CLOCK_ISO_LEN)
		return -1;
	memcpy(buf, e->str, CLOCK_ISO_LEN);
	buf[CLOCK_ISO_LEN] = '\0';
	return clock_parse_iso(buf, &t) == GK_OK ? t : -1;
}

static void visit_keys(struct walk *w, const redisReply *values)
{
	struct key_walk *k = w->ctx;

	for (size_t n = 0; n < k->providers; n++) {
		const redisReply *updated = values->element[2 * n], *expires = values->element[2 * n + 1];
		struct keystore_key_stats *s = &k->out[k->index[n]];
		time_t updated_at, expires_at;

		/* every write of a key sets ":updatedAt" with it (keystore_put) */
		if (updated->type != REDIS_REPLY_STRING)
			continue;
		expires_at = element_time(expires);
		if (expires_at >= 0 && expires_at <= k->now) {
			s->expired++;
			continue;
		}
		s->users++;
		updated_at = element_time(updated);
		if (updated_at >= 0 && updated_at < k->old_before)
			s->old++;
	}
}

int keystore_stats_keys(struct keystore *ks, const struct registry *reg, time_t now, time_t old_before,
			struct keystore_key_stats *out, long long *hashes)
{
	static const char *const suffixes[] = { UPDATED_SUFFIX, EXPIRES_SUFFIX };
	char prefix[2 * sizeof(ks->prefix)], pattern[2 * sizeof(ks->prefix) + 32];
	size_t *index = calloc(reg->count + 1, sizeof(*index)), n = 0;
	const char **fields = index ? provider_fields(reg, 1, suffixes, 2, index, &n) : NULL;
	struct key_walk k = { index, n, now, old_before, out };
	struct walk w = { pattern, fields, 2 * n, visit_keys, &k, 0 };
	int rc = GK_NOMEM;

	memset(out, 0, reg->count * sizeof(*out));
	*hashes = 0;
	if (!fields || keystore_glob_escape(ks->prefix, prefix, sizeof(prefix)) != GK_OK)
		goto out;
	/* keystore_user_key's name with every user: "<prefix>:users:{*}:apiKeys" */
	snprintf(pattern, sizeof(pattern), "%s:users:{*}:apiKeys", prefix);
	rc = n == 0 ? GK_OK : walk_all(ks, &w);
	*hashes = w.hashes;
out:
	free_fields(fields, reg->count * 2);
	free(index);
	return rc;
}

/* --- usage ------------------------------------------------------------ */

struct usage_walk {
	const struct registry *reg;
	const size_t *index;
	size_t providers;
	struct keystore_usage_stats *out;
};

/* A counter as HINCRBY leaves it; anything else counts 0 (an operator's
 * summary does not stop at one odd value). */
static long long element_count(const redisReply *e)
{
	char buf[24];
	long long v;

	if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= sizeof(buf))
		return 0;
	memcpy(buf, e->str, e->len);
	buf[e->len] = '\0';
	return num_parse(buf, 0, LLONG_MAX, &v, NULL, 0) == GK_OK ? v : 0;
}

static long long add_capped(long long a, long long b)
{
	return b > LLONG_MAX - a ? LLONG_MAX : a + b;
}

static void visit_usage(struct walk *w, const redisReply *values)
{
	struct usage_walk *u = w->ctx;

	for (size_t n = 0; n < u->providers; n++) {
		const struct provider *p = &u->reg->providers[u->index[n]];
		struct keystore_usage_stats *s = &u->out[u->index[n]];
		long long tokens = add_capped(element_count(values->element[2 * n]),
					      element_count(values->element[2 * n + 1]));

		if (tokens == 0)
			continue;
		s->system_tokens = add_capped(s->system_tokens, tokens);
		s->system_users++;
		if (p->system_key_allowance > 0 && tokens >= p->system_key_allowance)
			s->at_allowance++;
	}
}

int keystore_stats_usage(struct keystore *ks, const struct registry *reg, const char *month,
			 struct keystore_usage_stats *out, long long *hashes)
{
	char suffix_in[40], suffix_out[40];
	const char *suffixes[] = { suffix_in, suffix_out };
	char prefix[2 * sizeof(ks->prefix)], pattern[2 * sizeof(ks->prefix) + 48], esc_month[32];
	size_t *index = calloc(reg->count + 1, sizeof(*index)), n = 0;
	const char **fields = NULL;
	struct usage_walk u = { reg, index, 0, out };
	struct walk w = { pattern, NULL, 0, visit_usage, &u, 0 };
	int rc = GK_NOMEM;

	memset(out, 0, reg->count * sizeof(*out));
	*hashes = 0;
	/* "<provider>" + ":system:inputTokens": keystore_usage_source_field's names */
	snprintf(suffix_in, sizeof(suffix_in), ":%s:%s", keystore_source_names[KEYSTORE_SOURCE_SYSTEM],
		 keystore_counter_names[KEYSTORE_INPUT_TOKENS]);
	snprintf(suffix_out, sizeof(suffix_out), ":%s:%s", keystore_source_names[KEYSTORE_SOURCE_SYSTEM],
		 keystore_counter_names[KEYSTORE_OUTPUT_TOKENS]);
	if (index)
		fields = provider_fields(reg, 0, suffixes, 2, index, &n);
	if (!fields || keystore_glob_escape(ks->prefix, prefix, sizeof(prefix)) != GK_OK ||
	    keystore_glob_escape(month, esc_month, sizeof(esc_month)) != GK_OK)
		goto out;
	/* keystore_usage_key's name with every user */
	snprintf(pattern, sizeof(pattern), "%s:usage:{*}:%s", prefix, esc_month);
	u.providers = n;
	w.fields = fields;
	w.nfields = 2 * n;
	rc = n == 0 ? GK_OK : walk_all(ks, &w);
	*hashes = w.hashes;
out:
	free_fields(fields, reg->count * 2);
	free(index);
	return rc;
}
