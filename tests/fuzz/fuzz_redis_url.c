/* fuzz_redis_url.c: GOFANNON_REDIS_URL. */
#include "fuzz.h"

#include "redis_url.h"
#include "status.h"

/* rot13 for letters, +5 for digits: a string of the same classes that
 * differs from s wherever s has a letter or a digit. */
static void disguise(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			s[i] = (char)('a' + (c - 'a' + 13) % 26);
		else if (c >= 'A' && c <= 'Z')
			s[i] = (char)('A' + (c - 'A' + 13) % 26);
		else if (c >= '0' && c <= '9')
			s[i] = (char)('0' + (c - '0' + 5) % 10);
	}
}

/* The error of url quotes password when it is the URL's own text: with
 * the password disguised where the URL holds it (its user information,
 * between "://" and "@"), the same error no longer holds it. A password
 * that is a word of the message itself ("sentinel" in "redis-sentinel://")
 * is still there then. A password the URL %-encodes is not looked for. */
static int quotes_password(const char *url, const char *password)
{
	size_t plen = strlen(password);
	char *copy = strdup(url), *from, *to, *at, err[256] = "";
	struct redis_target t;
	int quoted = 0;

	if (!copy)
		return 0;
	from = strstr(copy, "://");
	to = from ? strchr(from + 3, '@') : NULL;
	at = to ? memmem(from + 3, (size_t)(to - from - 3), password, plen) : NULL;
	if (at) {
		disguise(at, plen);
		redis_url_parse(copy, &t, err, sizeof(err));
		quoted = strstr(err, password) == NULL;
	}
	free(copy);
	return quoted;
}

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
		if (strlen(t.password) >= 8 && strstr(err, t.password))
			FUZZ_CHECK(!quotes_password(url, t.password));
	}
	free(url);
	return 0;
}
