/* fuzz_router.c: a method and a decoded path, as nginx passes them. The
 * first byte picks the method, the rest (up to a NUL) is the path. */
#include "fuzz.h"

#include "router.h"

static const char *const methods[] = {
	"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "",
};

/* The pattern with {provider} replaced by the capture must give the path
 * back: the router matched what it says it matched. */
static void check_found(const char *path, const struct route_result *out)
{
	const char *hole = strstr(out->name, "{provider}");
	size_t plen = strlen(out->provider);

	if (!hole) {
		FUZZ_CHECK(strcmp(out->name, path) == 0);
		FUZZ_CHECK(plen == 0);
		return;
	}
	FUZZ_CHECK(plen >= 1 && plen <= ROUTE_SEGMENT_MAX);
	FUZZ_CHECK(strchr(out->provider, '/') == NULL);
	FUZZ_CHECK(strncmp(path, out->name, (size_t)(hole - out->name)) == 0);
	path += hole - out->name;
	FUZZ_CHECK(strncmp(path, out->provider, plen) == 0);
	FUZZ_CHECK(strcmp(path + plen, hole + strlen("{provider}")) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_result out;
	const char *method;
	char *path;

	if (size == 0)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	path = fuzz_cstring(data + 1, size - 1);
	switch (router_match(method, path, &out)) {
	case ROUTE_FOUND:
		FUZZ_CHECK(out.name && out.allow[0] == '\0');
		FUZZ_CHECK(out.id < ROUTE_COUNT);
		check_found(path, &out);
		break;
	case ROUTE_METHOD_NOT_ALLOWED:
		/* the method asked for is not among the ones the path takes */
		FUZZ_CHECK(out.allow[0] != '\0');
		FUZZ_CHECK(method[0] == '\0' || strstr(out.allow, method) == NULL);
		FUZZ_CHECK(out.provider[0] == '\0');
		break;
	case ROUTE_PREFLIGHT:
		/* only OPTIONS, on a path some route serves */
		FUZZ_CHECK(strcmp(method, "OPTIONS") == 0);
		FUZZ_CHECK(out.name && out.allow[0] != '\0' && out.provider[0] == '\0');
		break;
	case ROUTE_NOT_FOUND:
		FUZZ_CHECK(out.allow[0] == '\0' && out.provider[0] == '\0');
		break;
	default:
		FUZZ_CHECK(!"unknown route_match");
	}
	free(path);
	return 0;
}
