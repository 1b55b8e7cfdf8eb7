/* usage.h: what each user spent, per provider and month.
 *
 * One Redis hash per user and UTC month, beside the user's keys:
 *   "<prefix>:usage:{<user>}:<YYYY-MM>"  fields "<provider>:requests",
 *   "<provider>:inputTokens", "<provider>:outputTokens"
 * counted with HINCRBY (the braces are the same Redis Cluster hash tag as
 * the key hash). A request is counted once the provider accepted it (2xx),
 * with the tokens it reported, even when the client left mid-stream. */
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

/* Adds one request and its tokens. GK_OK, GK_UNAVAILABLE or GK_NOMEM. */
int usage_add(struct keystore *ks, const char *user, const char *provider_id, const struct chat_usage *usage,
	      time_t now);

/* Writes one month into w as
 *   {"month":"2026-11","providers":{"openai":{"requests":3,"inputTokens":30,
 *    "outputTokens":12},...}}
 * with every provider of reg, in registry order, zeros where nothing was
 * counted. GK_OK (w may still have failed: jsonw_finish says), GK_NOMEM or
 * GK_UNAVAILABLE. */
int usage_get(struct keystore *ks, const char *user, const char *month, const struct registry *reg,
	      struct jsonw *w);

#endif
