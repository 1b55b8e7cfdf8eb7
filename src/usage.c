#include "usage.h"

#include <stdlib.h>

#include "status.h"

void usage_month(time_t t, char out[USAGE_MONTH_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, USAGE_MONTH_LEN + 1, "%Y-%m", &tm);
}

void usage_amounts(const struct chat_usage *usage, long long amounts[KEYSTORE_COUNTERS])
{
	amounts[KEYSTORE_REQUESTS] = 1;
	amounts[KEYSTORE_INPUT_TOKENS] = usage->input_tokens;
	amounts[KEYSTORE_OUTPUT_TOKENS] = usage->output_tokens;
}

int usage_add(struct keystore *ks, const char *user, const char *provider_id, enum keystore_source source,
	      const struct chat_usage *usage, time_t now)
{
	char month[USAGE_MONTH_LEN + 1];
	long long amounts[KEYSTORE_COUNTERS];

	usage_amounts(usage, amounts);
	usage_month(now, month);
	return keystore_usage_add(ks, user, month, provider_id, source, amounts);
}

/* {"requests":N,"inputTokens":N,"outputTokens":N} */
static void counters_json(struct jsonw *w, const long long count[KEYSTORE_COUNTERS])
{
	jsonw_object_begin(w);
	for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
		jsonw_key(w, keystore_counter_names[c]);
		jsonw_int(w, count[c]);
	}
	jsonw_object_end(w);
}

/* One provider's totals, then "bySource" with each source's counters. */
static void provider_usage_json(struct jsonw *w, const struct keystore_usage *u)
{
	jsonw_object_begin(w);
	for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
		jsonw_key(w, keystore_counter_names[c]);
		jsonw_int(w, u->count[c]);
	}
	jsonw_key(w, "bySource");
	jsonw_object_begin(w);
	for (int s = 0; s < KEYSTORE_SOURCES; s++) {
		jsonw_key(w, keystore_source_names[s]);
		counters_json(w, u->by_source[s]);
	}
	jsonw_object_end(w);
	jsonw_object_end(w);
}

/* {"month":...,"providers":{...}} from the counters, in registry order. */
void usage_month_json(struct jsonw *w, const char *month, const struct registry *reg,
		      const struct keystore_usage *counts)
{
	jsonw_object_begin(w);
	jsonw_key(w, "month");
	jsonw_string(w, month);
	jsonw_key(w, "providers");
	jsonw_object_begin(w);
	for (size_t i = 0; i < reg->count; i++) {
		jsonw_key(w, reg->providers[i].id);
		provider_usage_json(w, &counts[i]);
	}
	jsonw_object_end(w);
	jsonw_object_end(w);
}

int usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
	      struct jsonw *w)
{
	struct keystore_usage *counts;
	int rc;

	counts = calloc(reg->count ? reg->count : 1, sizeof(*counts));
	if (!counts)
		return GK_NOMEM;
	rc = keystore_usage_get(ks, user, month, reg, counts);
	if (rc == GK_OK)
		usage_month_json(w, month, reg, counts);
	free(counts);
	return rc;
}
