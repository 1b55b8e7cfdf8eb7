/* usage.h: what each user spent, per provider and UTC month: what is
 * counted, and the JSON it is read as. The counters live in Redis beside
 * the user's keys; keystore.h owns their names and commands. A request is
 * counted once the provider accepted it (2xx), with the tokens it
 * reported, even when the client left mid-stream. */
#ifndef GK_USAGE_H
#define GK_USAGE_H

#include <time.h>

#include "chat.h"
#include "jsonw.h"
#include "keystore.h"
#include "registry.h"

#define USAGE_MONTH_LEN 7 /* "2026-11" */

/* The UTC month of t as "YYYY-MM". */
void usage_month(time_t t, char out[USAGE_MONTH_LEN + 1]);

/* What one request adds to each counter: 1 request and its tokens. */
void usage_amounts(const struct chat_usage *usage, long long amounts[KEYSTORE_COUNTERS]);

/* Adds one request and its tokens in the month of now, to the totals and
 * to the counters of the key source it went out with. GK_OK,
 * GK_UNAVAILABLE, GK_UNCERTAIN (see keystore.h) or GK_NOMEM. */
int usage_add(struct keystore *ks, const char *user, const char *provider_id, enum keystore_source source,
	      const struct chat_usage *usage, time_t now);

/* Writes the JSON of usage_get from counts (reg->count entries) into w. */
void usage_month_json(struct jsonw *w, const char *month, const struct registry *reg,
		      const struct keystore_usage *counts);

/* Writes one month into w as
 *   {"month":"2026-11","providers":{"openai":{"requests":3,"inputTokens":30,
 *    "outputTokens":12,"bySource":{"user":{"requests":1,...},"system":{...}}},...}}
 * with every provider of reg, in registry order, zeros where nothing was
 * counted. GK_OK (w may still have failed: jsonw_finish says), GK_NOMEM or
 * GK_UNAVAILABLE. */
int usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
	      struct jsonw *w);

#endif
