/* redis_url.h: where the key store lives, from GOFANNON_REDIS_URL.
 *
 *   redis://[user:password@]host:port[/db]
 *   unix:///path/redis.sock[?db=N]     (user and password as unix://user:pw@/path)
 */
#ifndef GK_REDIS_URL_H
#define GK_REDIS_URL_H

#include <stddef.h>

struct redis_target {
	char host[256]; /* empty for a unix socket */
	int port;
	char path[108]; /* unix socket path, empty for TCP */
	char user[128]; /* empty: no AUTH, or password-only AUTH */
	char password[256];
	int db;
};

/* Returns GK_OK, or GK_ERR with err set. The message never contains the
 * password. */
int redis_url_parse(const char *url, struct redis_target *out, char *err, size_t errlen);

#endif
