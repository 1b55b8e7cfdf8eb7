/* router.h: which handler a method and path belong to.
 *
 * Paths are matched segment by segment against a fixed table; "{provider}"
 * captures one segment. OPTIONS on a known path is a CORS preflight, which
 * the API answers itself with the methods that path serves. Pure function
 * of its input: unit-tested and fuzzed. */
#ifndef GK_ROUTER_H
#define GK_ROUTER_H

#include <stddef.h>

enum route_id {
	ROUTE_HEALTH,
	ROUTE_ME,
	ROUTE_API_KEYS_GET,
	ROUTE_API_KEYS_PUT,
	ROUTE_API_KEY_DELETE,
	ROUTE_API_KEY_EFFECTIVE,
	ROUTE_API_KEY_VERIFY,
	ROUTE_PROVIDERS,
	ROUTE_LLM_CHAT,
	ROUTE_USAGE,
	ROUTE_API_KEY_ACTIVITY,
	ROUTE_COUNT
};

enum route_match {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,	  /* 404 */
	ROUTE_METHOD_NOT_ALLOWED, /* 405, allow says which methods are */
	ROUTE_PREFLIGHT		  /* OPTIONS on a known path, allow as for 405 */
};

#define ROUTE_SEGMENT_MAX 256

struct route_result {
	enum route_id id;
	const char *name; /* for log lines: the pattern, never the raw path */
	int needs_identity;
	char provider[ROUTE_SEGMENT_MAX + 1]; /* the {provider} segment, or "" */
	char allow[64];			      /* for ROUTE_METHOD_NOT_ALLOWED and _PREFLIGHT */
};

enum route_match router_match(const char *method, const char *path, struct route_result *out);

#endif
