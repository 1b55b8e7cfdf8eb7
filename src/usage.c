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

int usage_add(struct keystore *ks, const char *user, const char *provider_id, const struct chat_usage *usage,
	      time_t now)
{
	char month[USAGE_MONTH_LEN + 1];
	long long amounts[KEYSTORE_COUNTERS];

	usage_amounts(usage, amounts);
	usage_month(now, month);
	return keystore_usage_add(ks, user, month, provider_id, amounts);
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
		jsonw_object_begin(w);
		for (int c = 0; c < KEYSTORE_COUNTERS; c++) {
			jsonw_key(w, keystore_counter_names[c]);
			jsonw_int(w, counts[i].count[c]);
		}
		jsonw_object_end(w);
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
