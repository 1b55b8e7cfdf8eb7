#include "allowance.h"

#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "usage.h"

time_t allowance_next_month(time_t now)
{
	struct tm tm;

	gmtime_r(&now, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	/* December's next month is January of the next year */
	if (++tm.tm_mon == 12) {
		tm.tm_mon = 0;
		tm.tm_year++;
	}
	return timegm(&tm);
}

long long allowance_retry_after(time_t now)
{
	return (long long)(allowance_next_month(now) - now);
}

void allowance_compute(long long allowance, long long used, time_t now, struct allowance *a)
{
	a->allowance = allowance > 0 ? allowance : 0;
	a->used = used > 0 ? used : 0;
	a->remaining = a->used >= a->allowance ? 0 : a->allowance - a->used;
	a->resets_at = a->allowance > 0 ? allowance_next_month(now) : 0;
	a->spent = a->allowance > 0 && a->used >= a->allowance;
}

int allowance_get(struct keystore *ks, const char *user, const struct provider *p, time_t now,
		  struct allowance *a)
{
	const char *id = p->id;
	long long used = 0;

	if (p->system_key_allowance > 0) {
		char month[USAGE_MONTH_LEN + 1];
		int rc;

		usage_month(now, month);
		rc = keystore_usage_system_tokens(ks, user, month, &id, 1, &used);
		if (rc != GK_OK)
			return rc;
	}
	allowance_compute(p->system_key_allowance, used, now, a);
	return GK_OK;
}

int allowance_get_all(struct keystore *ks, const char *user, const struct registry *reg, time_t now,
		      struct allowance *out)
{
	char month[USAGE_MONTH_LEN + 1];
	const char **ids = calloc(reg->count ? reg->count : 1, sizeof(*ids));
	long long *used = calloc(reg->count ? reg->count : 1, sizeof(*used));
	size_t n = 0;
	int rc = GK_NOMEM;

	if (!ids || !used)
		goto out;
	for (size_t i = 0; i < reg->count; i++)
		if (reg->providers[i].system_key_allowance > 0)
			ids[n++] = reg->providers[i].id;
	usage_month(now, month);
	/* n == 0 sends nothing */
	rc = keystore_usage_system_tokens(ks, user, month, ids, n, used);
	if (rc != GK_OK)
		goto out;
	n = 0;
	for (size_t i = 0; i < reg->count; i++) {
		long long allowance = reg->providers[i].system_key_allowance;

		allowance_compute(allowance, allowance > 0 ? used[n++] : 0, now, &out[i]);
	}
out:
	free(ids);
	free(used);
	return rc;
}
