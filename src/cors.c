#include "cors.h"

#include "status.h"

int cors_origin_listed(const char *origin, const char *allowed)
{
	if (!origin || !*origin || !allowed)
		return 0;
	return http_origin_listed(origin, allowed);
}

int cors_reply_headers(struct http_response *resp, const char *origin, const char *allowed)
{
	if (http_header_add(resp, "Vary", "Origin") != GK_OK)
		return GK_ERR;
	if (!cors_origin_listed(origin, allowed))
		return GK_OK;
	if (http_header_add(resp, "Access-Control-Allow-Origin", origin) != GK_OK ||
	    http_header_add(resp, "Access-Control-Allow-Credentials", "true") != GK_OK)
		return GK_ERR;
	return GK_OK;
}

int cors_preflight_headers(struct http_response *resp, const char *origin, const char *allowed,
			   const char *methods)
{
	if (!cors_origin_listed(origin, allowed))
		return GK_OK;
	if (http_header_add(resp, "Access-Control-Allow-Methods", methods) != GK_OK ||
	    http_header_add(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS) != GK_OK ||
	    http_header_add(resp, "Access-Control-Max-Age", CORS_MAX_AGE) != GK_OK)
		return GK_ERR;
	return GK_OK;
}
