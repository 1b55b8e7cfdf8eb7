/* cors.h: the CORS headers of an API reply, for a front end served from
 * another origin (GOFANNON_ALLOWED_ORIGINS).
 *
 * Only an origin listed in GOFANNON_ALLOWED_ORIGINS is ever echoed in
 * Access-Control-Allow-Origin, always with Access-Control-Allow-Credentials,
 * since the identity travels in credentials (a cookie, basic auth, a bearer
 * token). With the list empty (the default: same origin only) no reply
 * carries CORS headers. Every reply carries Vary: Origin, so no cache hands
 * the answer made for one origin to another. An unlisted origin gets no CORS
 * headers at all, so the browser withholds the reply from its page; its
 * writes are refused with 403 by the API's Origin check, whatever the
 * browser does.
 *
 * The functions only add headers to a struct http_response (the strings
 * must outlive it, like every header value); they decide from their
 * arguments alone and are unit-tested. */
#ifndef GK_CORS_H
#define GK_CORS_H

#include "http.h"

/* What a preflight allows beyond the methods: the request headers the API
 * reads, and how long a browser may keep the answer (seconds). */
#define CORS_ALLOW_HEADERS "Authorization, Content-Type"
#define CORS_MAX_AGE "600"

/* 1 when origin is one of the origins in allowed (space or comma
 * separated, compared exactly); 0 for a NULL or empty origin or list. */
int cors_origin_listed(const char *origin, const char *allowed);

/* Adds the headers every reply carries: Vary: Origin, and for a listed
 * origin Access-Control-Allow-Origin: <origin> and
 * Access-Control-Allow-Credentials: true. GK_ERR when resp has no room. */
int cors_reply_headers(struct http_response *resp, const char *origin, const char *allowed);

/* Adds what a preflight's answer carries beyond cors_reply_headers(), for a
 * listed origin only: Access-Control-Allow-Methods: <methods>,
 * Access-Control-Allow-Headers and Access-Control-Max-Age. GK_ERR when
 * resp has no room. */
int cors_preflight_headers(struct http_response *resp, const char *origin, const char *allowed,
			   const char *methods);

#endif
