/* redis_url.h: where the key store lives, from GOFANNON_REDIS_URL.
 *
 *   redis://[user:password@]host:port[/db]
 *   unix:///path/redis.sock[?db=N]     (user and password as unix://user:pw@/path)
 *   redis-sentinel://[user:password@]host1[:port1],host2[:port2],.../MASTER[/db]
 *
 * With redis-sentinel:// the master's address is not in the URL: the
 * sentinels (port 26379 unless given, at most REDIS_SENTINELS_MAX) are asked
 * for the master named MASTER (sentinel.h); user and password are the ones
 * for the Redis servers, not for the sentinels.
 */
#ifndef GK_REDIS_URL_H
#define GK_REDIS_URL_H

#include <stddef.h>

#define REDIS_SENTINELS_MAX 8
#define REDIS_MASTER_NAME_MAX 64
#define REDIS_SENTINEL_PORT 26379

struct redis_address {
	char host[256];
	int port;
};

struct redis_target {
	char host[256]; /* empty for a unix socket or with sentinels */
	int port;
	char path[108]; /* unix socket path, empty for TCP */
	char user[128]; /* empty: no AUTH, or password-only AUTH */
	char password[256];
	int db;
	/* Sentinel mode: master_name is not empty, host and path are. */
	char master_name[REDIS_MASTER_NAME_MAX];
	int sentinel_count;
	struct redis_address sentinels[REDIS_SENTINELS_MAX];
	/* Not from the URL: config_load sets these from their own variables. */
	char sentinel_user[128];     /* GOFANNON_SENTINEL_USER */
	char sentinel_password[256]; /* GOFANNON_SENTINEL_PASSWORD */
	int min_replicas;	     /* GOFANNON_REDIS_MIN_REPLICAS */
};

/* Returns GK_OK, or GK_ERR with err set. The message never contains the
 * password. */
int redis_url_parse(const char *url, struct redis_target *out, char *err, size_t errlen);

#endif
