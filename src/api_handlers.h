/* api_handlers.h: one handler per route, called by api_handle() once the
 * exchange passed its checks (exchange.h). Each answers into ex->resp and
 * returns GK_OK, or GK_ERR with the error reply set. */
#ifndef GK_API_HANDLERS_H
#define GK_API_HANDLERS_H

#include "exchange.h"

/* api_keys.c: the service, the caller, and the caller's keys. */
int api_keys_health(struct exchange *ex);
int api_keys_me(struct exchange *ex);
int api_keys_get(struct exchange *ex);
int api_keys_put(struct exchange *ex);
int api_keys_delete(struct exchange *ex);
int api_keys_effective(struct exchange *ex);
int api_keys_providers(struct exchange *ex);
int api_keys_usage(struct exchange *ex);

/* api_activity.c: what happened to the caller's keys. */
int api_activity_list(struct exchange *ex);

/* api_llm.c: calls to the providers with the effective key. */
int api_llm_chat(struct exchange *ex);
int api_llm_verify(struct exchange *ex);

#endif
