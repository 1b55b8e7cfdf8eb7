/* fuzz_redis_url.c: GOFANNON_REDIS_URL. */
#include "fuzz.h"

#include "redis_url.h"
#include "status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redis_target t;
	char *url = fuzz_cstring(data, size);
	char err[256];

	err[0] = '\0';
	if (redis_url_parse(url, &t, err, sizeof(err)) == GK_OK) {
		FUZZ_CHECK(t.port >= 1 && t.port <= 65535);
		FUZZ_CHECK(t.db >= 0 && t.db <= (1 << 20));
		/* exactly one of a host, a socket path and sentinels */
		FUZZ_CHECK((t.host[0] != '\0') + (t.path[0] != '\0') + (t.master_name[0] != '\0') == 1);
		FUZZ_CHECK((t.master_name[0] != '\0') == (t.sentinel_count > 0));
		FUZZ_CHECK(t.sentinel_count >= 0 && t.sentinel_count <= REDIS_SENTINELS_MAX);
		for (int i = 0; i < t.sentinel_count; i++) {
			FUZZ_CHECK(t.sentinels[i].host[0] != '\0');
			FUZZ_CHECK(memchr(t.sentinels[i].host, '\0', sizeof(t.sentinels[i].host)));
			FUZZ_CHECK(t.sentinels[i].port >= 1 && t.sentinels[i].port <= 65535);
		}
		FUZZ_CHECK(memchr(t.master_name, '\0', sizeof(t.master_name)));
		FUZZ_CHECK(t.path[0] == '\0' || t.path[0] == '/');
		FUZZ_CHECK(memchr(t.host, '\0', sizeof(t.host)) && memchr(t.path, '\0', sizeof(t.path)));
		FUZZ_CHECK(memchr(t.user, '\0', sizeof(t.user)) &&
			   memchr(t.password, '\0', sizeof(t.password)));
	} else {
		FUZZ_CHECK(err[0] != '\0');
		/* the message never quotes the password (checked where one is long
		 * enough not to appear by chance) */
		if (strlen(t.password) >= 8)
			FUZZ_CHECK(strstr(err, t.password) == NULL);
	}
	free(url);
	return 0;
}
