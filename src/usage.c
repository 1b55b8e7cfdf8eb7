#include "usage.h"

#include <json-c/json.h>
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
struct json_object *usage_month_json(const char *month, const struct registry *reg,
				     const struct keystore_usage *counts)
{
	struct json_object *obj = json_object_new_object(), *providers = json_object_new_object();

	for (size_t i = 0; i < reg->count; i++) {
		struct json_object *entry = json_object_new_object();

		for (int c = 0; c < KEYSTORE_COUNTERS; c++)
			json_object_object_add(entry, keystore_counter_names[c],
					       json_object_new_int64(counts[i].count[c]));
		json_object_object_add(providers, reg->providers[i].id, entry);
	}
	json_object_object_add(obj, "month", json_object_new_string(month));
	json_object_object_add(obj, "providers", providers);
	return obj;
}

int usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
	      struct json_object **out)
{
	struct keystore_usage *counts;
	int rc;

	*out = NULL;
	counts = calloc(reg->count ? reg->count : 1, sizeof(*counts));
	if (!counts)
		return GK_NOMEM;
	rc = keystore_usage_get(ks, user, month, reg, counts);
	if (rc == GK_OK)
		*out = usage_month_json(month, reg, counts);
	free(counts);
	return rc;
}
