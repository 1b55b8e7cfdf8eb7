/* llm_limit.c: the per-user cap on concurrent LLM calls (llm_limit.h).
 * The Redis commands are keystore.c's; this module decides. */
#include "llm_limit.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "status.h"

static long long realtime_ms(void)
{
	struct timespec ts;

	/* Wall clock, not monotonic: deadlines are compared across hosts. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void new_call_id(char out[LLM_LIMIT_CALL_ID_LEN + 1])
{
	unsigned char raw[LLM_LIMIT_CALL_ID_LEN / 2];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(out, LLM_LIMIT_CALL_ID_LEN + 1, raw, sizeof(raw));
}

int llm_limit_acquire(struct keystore *ks, int per_user, int llm_timeout_s, const char *user,
		      struct llm_lease *lease)
{
	long long now = realtime_ms(), held = 0;
	long long deadline = now + ((long long)llm_timeout_s + LLM_LIMIT_MARGIN_S) * 1000;
	int rc;

	lease->call_id[0] = '\0';
	lease->user = user;
	if (per_user <= 0)
		return GK_OK;
	new_call_id(lease->call_id);
	rc = keystore_lease_acquire(ks, user, lease->call_id, now, deadline, &held);
	if (rc == GK_OK && held <= per_user)
		return GK_OK;
	/* Over the limit, or unsure whether the ZADD went in: take it back. */
	llm_limit_release(ks, lease);
	if (rc != GK_OK)
		return GK_UNAVAILABLE;
	log_event(LOG_INFO, "llm_limited", "held=%lld limit=%d", held - 1, per_user);
	return GK_CONFLICT;
}

void llm_limit_release(struct keystore *ks, struct llm_lease *lease)
{
	if (!lease->call_id[0])
		return;
	if (keystore_lease_release(ks, lease->user, lease->call_id) != GK_OK)
		log_event(LOG_WARN, "llm_lease_kept", "until=deadline");
	lease->call_id[0] = '\0';
}
