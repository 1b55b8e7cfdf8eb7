/* llm_limit.h: at most GOFANNON_LLM_PER_USER LLM calls per user at once,
 * across every worker and every host that shares the Redis.
 *
 * Each call holds a lease in Redis (keystore_lease_acquire) that ends when
 * the call does (llm_limit_release) or, if the process died first, at the
 * lease's deadline: the LLM timeout plus LLM_LIMIT_MARGIN_S. A limit of 0
 * takes no lease and never refuses. Hosts' clocks must agree to well
 * within the margin: a lease's deadline is read on another host's clock. */
#ifndef GK_LLM_LIMIT_H
#define GK_LLM_LIMIT_H

#include "keystore.h"

/* Beyond the LLM timeout, what a call may spend before and after its
 * provider call (Redis, sending the reply) while holding a lease. */
#define LLM_LIMIT_MARGIN_S 5

/* The Retry-After of a refusal: calls usually end well within the LLM
 * timeout, so the client is told to try again soon, not at the worst case. */
#define LLM_LIMIT_RETRY_AFTER "2"

#define LLM_LIMIT_CALL_ID_LEN 32

struct llm_lease {
	char call_id[LLM_LIMIT_CALL_ID_LEN + 1]; /* empty when none is held */
	const char *user;
};

/* Takes a lease for one call of user. GK_OK: go ahead (lease held, or no
 * limit); GK_CONFLICT: the user is at the limit, nothing is held (answer
 * 429); GK_UNAVAILABLE: Redis did not answer, nothing is held (503). */
int llm_limit_acquire(struct keystore *ks, int per_user, int llm_timeout_s, const char *user,
		      struct llm_lease *lease);

/* Ends the lease, if one is held; whatever the call's outcome. A failure
 * to reach Redis is logged and leaves the lease to its deadline. */
void llm_limit_release(struct keystore *ks, struct llm_lease *lease);

#endif
