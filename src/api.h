/* api.h: the HTTP API, from a parsed request to a response.
 *
 * Checks run in the order docs/api.md gives: route (404, 405), identity
 * (401, 400), Origin (403), then the handler's own checks (413, 415, 422,
 * unknown provider 400, key value 422, Redis 503); exchange.h says how.
 * OPTIONS on a known path is a CORS preflight, answered 204 after routing
 * and before any identity check; every reply gets its CORS headers here
 * (cors.h). */
#ifndef GK_API_H
#define GK_API_H

#include "app.h"
#include "http.h"
#include "router.h"

/* Answers req into resp. Never fails: resp always holds a status and body. */
void api_handle(struct app *app, struct http_request *req, struct http_response *resp,
		struct route_result *route);

#endif
