/* allowance.h: the monthly per-user allowances on the system-wide keys.
 *
 * A provider with an allowance (registry.h: system_key_allowance, from
 * "systemKeyMonthlyTokens" or <ID>_SYSTEM_KEY_MONTHLY_TOKENS) lets each
 * user spend that many tokens, input plus output, per UTC month with its
 * system key. What was spent is the system-source counters of the user's
 * usage hash of the month (keystore.h), read with one HMGET; nothing else
 * is stored. A call with the system key is refused once the month's usage
 * has reached the allowance before it starts, so the call that crosses it
 * is served: a month may end over by one call's tokens, and by one more
 * for each call racing at the edge. That is the price of taking no lock.
 * A call with the user's own key is never measured against it.
 *
 * Owns the arithmetic (used, remaining, the start of the next month) and
 * the read; the handlers turn a spent allowance into 429 (docs/llm.md). */
#ifndef GK_ALLOWANCE_H
#define GK_ALLOWANCE_H

#include <time.h>

#include "keystore.h"
#include "registry.h"

struct allowance {
	long long allowance; /* tokens per month; 0: the provider has none */
	long long used;	     /* system-key tokens of this month */
	long long remaining; /* allowance - used, never below 0 */
	time_t resets_at;    /* the first second of the next UTC month; 0 without an allowance */
	int spent;	     /* used has reached the allowance */
};

/* The first second of the UTC month after the one now lies in. */
time_t allowance_next_month(time_t now);

/* Seconds from now to allowance_next_month(now): a Retry-After, >= 1. */
long long allowance_retry_after(time_t now);

/* Fills *a from an allowance (0: none, then nothing is spent) and the
 * tokens used by now. */
void allowance_compute(long long allowance, long long used, time_t now, struct allowance *a);

/* The user's allowance on p's system key at now. Asks Redis only when p
 * has an allowance. GK_OK, GK_UNAVAILABLE or GK_NOMEM. */
int allowance_get(struct keystore *ks, const char *user, const struct provider *p, time_t now,
		  struct allowance *a);

/* The same for every provider of reg into out (reg->count entries), in
 * one HMGET, and none when no provider has an allowance. */
int allowance_get_all(struct keystore *ks, const char *user, const struct registry *reg, time_t now,
		      struct allowance *out);

#endif
