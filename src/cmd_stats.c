#include "cmd_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "keystore.h"
#include "log.h"
#include "registry.h"
#include "status.h"
#include "usage.h"

struct stats {
	struct keystore_key_stats *keys;
	struct keystore_usage_stats *usage;
	long long key_hashes, usage_hashes;
	char month[USAGE_MONTH_LEN + 1];
	char at[CLOCK_ISO_LEN + 1];
	double seconds;
};

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The configuration and the registry serve would run with (allowances
 * included); GK_ERR after saying why on stderr. */
static int load(struct config *config, struct registry *reg)
{
	char err[1024];

	if (config_load(config, err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "gofannon-keys: stats: %s\n", err);
		return GK_ERR;
	}
	log_set_level(config->log_level);
	if (registry_load(reg, config->providers_file, err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "gofannon-keys: stats: unable to load the provider registry: %s\n", err);
		return GK_ERR;
	}
	return GK_OK;
}

/* Both walks; the time they took into st. */
static int gather(struct keystore *ks, const struct registry *reg, struct stats *st)
{
	time_t now = clock_now();
	double start = monotonic_s();
	int rc;

	usage_month(now, st->month);
	clock_format_iso(now, st->at);
	rc = keystore_stats_keys(ks, reg, now, now - (time_t)STATS_OLD_DAYS * 86400, st->keys,
				 &st->key_hashes);
	if (rc == GK_OK)
		rc = keystore_stats_usage(ks, reg, st->month, st->usage, &st->usage_hashes);
	st->seconds = monotonic_s() - start;
	return rc;
}

/* "-" where a column does not apply to a provider. */
static void cell(long long v, int applies, int width)
{
	if (applies)
		printf(" %*lld", width, v);
	else
		printf(" %*s", width, "-");
}

static void print_stats(const struct registry *reg, const struct stats *st)
{
	char tokens_head[32];

	snprintf(tokens_head, sizeof(tokens_head), "system-tokens-%s", st->month);
	printf("gofannon-keys stats at %s\n", st->at);
	printf("%-16s %14s %14s %10s %21s %13s %16s %13s\n", "provider", "users-with-key", "older-than-90d",
	       "expired", tokens_head, "system-users", "allowance", "at-allowance");
	for (size_t i = 0; i < reg->count; i++) {
		const struct provider *p = &reg->providers[i];
		int user_keys = p->user_key_field != NULL, allowance = p->system_key_allowance > 0;

		printf("%-16s", p->id);
		cell(st->keys[i].users, user_keys, 14);
		cell(st->keys[i].old, user_keys, 14);
		cell(st->keys[i].expired, user_keys, 10);
		cell(st->usage[i].system_tokens, 1, 21);
		cell(st->usage[i].system_users, 1, 13);
		cell(p->system_key_allowance, allowance, 16);
		cell(st->usage[i].at_allowance, allowance, 13);
		printf("\n");
	}
	printf("read %lld key hashes and %lld usage hashes of %s in %.2f s\n", st->key_hashes,
	       st->usage_hashes, st->month, st->seconds);
}

int cmd_stats(int argc, char **argv)
{
	struct config config;
	struct registry reg = { 0 };
	struct keystore ks;
	struct stats st;
	int rc, status = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: gofannon-keys stats\n");
		return 2;
	}
	memset(&st, 0, sizeof(st));
	if (load(&config, &reg) != GK_OK)
		return 1;
	keystore_init(&ks, &config.redis, config.redis_prefix, config.redis_timeout_ms);
	st.keys = calloc(reg.count, sizeof(*st.keys));
	st.usage = calloc(reg.count, sizeof(*st.usage));
	if (!st.keys || !st.usage) {
		fprintf(stderr, "gofannon-keys: stats: out of memory\n");
		goto out;
	}
	rc = gather(&ks, &reg, &st);
	if (rc != GK_OK) {
		fprintf(stderr, "gofannon-keys: stats: %s; nothing is reported\n",
			rc == GK_UNAVAILABLE ? "Redis did not answer (see the log line above)"
					     : "out of memory");
		goto out;
	}
	print_stats(&reg, &st);
	status = 0;
out:
	free(st.keys);
	free(st.usage);
	keystore_release(&ks);
	registry_release(&reg);
	return status;
}
