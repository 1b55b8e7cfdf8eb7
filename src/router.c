#include "router.h"

#include <stdio.h>
#include <string.h>

struct route {
	const char *method;
	const char *pattern;
	enum route_id id;
	int needs_identity;
};

static const struct route routes[] = {
	{ "GET", "/api/health", ROUTE_HEALTH, 0 },
	{ "GET", "/api/users/me", ROUTE_ME, 1 },
	{ "GET", "/api/users/me/api-keys", ROUTE_API_KEYS_GET, 1 },
	{ "PUT", "/api/users/me/api-keys", ROUTE_API_KEYS_PUT, 1 },
	{ "DELETE", "/api/users/me/api-keys/{provider}", ROUTE_API_KEY_DELETE, 1 },
	{ "GET", "/api/users/me/api-keys/activity", ROUTE_API_KEY_ACTIVITY, 1 },
	{ "GET", "/api/users/me/api-keys/{provider}/effective", ROUTE_API_KEY_EFFECTIVE, 1 },
	{ "POST", "/api/users/me/api-keys/{provider}/verify", ROUTE_API_KEY_VERIFY, 1 },
	{ "GET", "/api/users/me/usage", ROUTE_USAGE, 1 },
	{ "GET", "/api/providers", ROUTE_PROVIDERS, 1 },
	{ "POST", "/api/llm/chat", ROUTE_LLM_CHAT, 1 },
};

/* Compares path with pattern; on a match copies the {provider} segment. */
static int pattern_matches(const char *pattern, const char *path, char *provider)
{
	static const char capture[] = "{provider}";

	provider[0] = '\0';
	while (*pattern && *path) {
		if (*pattern == capture[0] && strncmp(pattern, capture, sizeof(capture) - 1) == 0) {
			size_t len = strcspn(path, "/");

			if (len == 0 || len > ROUTE_SEGMENT_MAX)
				return 0;
			memcpy(provider, path, len);
			provider[len] = '\0';
			pattern += sizeof(capture) - 1;
			path += len;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

/* A path a route names literally is that route's alone: "activity" is not
 * a {provider} (the registry refuses it as an id), so DELETE on it is 405,
 * not "Unknown provider". */
static int literal_route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strchr(routes[i].pattern, '{') && strcmp(routes[i].pattern, path) == 0)
			return 1;
	return 0;
}

static void append_allow(char *allow, size_t size, const char *method)
{
	size_t used = strlen(allow);

	if (strstr(allow, method))
		return;
	snprintf(allow + used, size - used, "%s%s", used ? ", " : "", method);
}

enum route_match router_match(const char *method, const char *path, struct route_result *out)
{
	char provider[ROUTE_SEGMENT_MAX + 1];
	int path_known = 0, literal;

	memset(out, 0, sizeof(*out));
	if (!method || !path)
		return ROUTE_NOT_FOUND;
	literal = literal_route(path);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *route = &routes[i];

		if ((literal && strchr(route->pattern, '{')) ||
		    !pattern_matches(route->pattern, path, provider))
			continue;
		path_known = 1;
		out->name = route->pattern;
		append_allow(out->allow, sizeof(out->allow), route->method);
		if (strcmp(route->method, method) != 0)
			continue;
		out->id = route->id;
		out->needs_identity = route->needs_identity;
		memcpy(out->provider, provider, sizeof(provider));
		out->allow[0] = '\0';
		return ROUTE_FOUND;
	}
	if (!path_known)
		return ROUTE_NOT_FOUND;
	/* No route serves OPTIONS itself: on a known path it is always the
	 * browser asking which methods it may use. */
	return strcmp(method, "OPTIONS") == 0 ? ROUTE_PREFLIGHT : ROUTE_METHOD_NOT_ALLOWED;
}
