/* api.c: dispatches an API request: CORS headers on every reply, the route
 * (404, 405, preflight), the caller's checks (exchange.c), then the route's
 * handler (api_keys.c, api_llm.c). */
#include "api.h"

#include "api_handlers.h"
#include "cors.h"
#include "status.h"

typedef int (*handler_fn)(struct exchange *ex);

/* One route a line (clang-format would pack them two a line). */
/* clang-format off */
static const handler_fn handlers[ROUTE_COUNT] = {
	[ROUTE_HEALTH] = api_keys_health,
	[ROUTE_ME] = api_keys_me,
	[ROUTE_API_KEYS_GET] = api_keys_get,
	[ROUTE_API_KEYS_PUT] = api_keys_put,
	[ROUTE_API_KEY_DELETE] = api_keys_delete,
	[ROUTE_API_KEY_EFFECTIVE] = api_keys_effective,
	[ROUTE_API_KEY_VERIFY] = api_llm_verify,
	[ROUTE_PROVIDERS] = api_keys_providers,
	[ROUTE_LLM_CHAT] = api_llm_chat,
	[ROUTE_USAGE] = api_keys_usage,
	[ROUTE_API_KEY_ACTIVITY] = api_activity_list,
};
/* clang-format on */

void api_handle(struct app *app, struct http_request *req, struct http_response *resp,
		struct route_result *route)
{
	struct exchange ex = { app, req, resp, route, NULL, NULL };

	/* The one place every reply, errors included, gets its CORS headers;
	 * a streamed reply copies them from resp (api_llm.c's stream_begin). */
	if (cors_reply_headers(resp, req->origin, app->config->allowed_origins) != GK_OK) {
		http_fail(resp, 500, "Too many reply headers");
		return;
	}
	switch (router_match(req->method, req->path, route)) {
	case ROUTE_PREFLIGHT:
		exchange_preflight(&ex);
		return;
	case ROUTE_NOT_FOUND:
		http_fail(resp, 404, "Not found");
		return;
	case ROUTE_METHOD_NOT_ALLOWED:
		http_fail(resp, 405, "Method not allowed");
		http_header_add(resp, "Allow", route->allow);
		return;
	case ROUTE_FOUND:
		break;
	}
	if (exchange_check_caller(&ex) != GK_OK)
		return;
	handlers[route->id](&ex);
}
