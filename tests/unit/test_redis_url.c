/* test_redis_url.c: GOFANNON_REDIS_URL (product spec 5):
 * redis://[user:password@]host:port[/db], unix:///path[?db=N] and
 * redis-sentinel://[user:password@]host[:port],.../MASTER[/db]. */
#include "unit.h"

#include "redis_url.h"
#include "status.h"

struct url_case {
	const char *url;
	const char *host;
	int port;
	const char *path, *user, *password;
	int db;
};

static const struct url_case good_cases[] = {
	{ "redis://127.0.0.1:6379/0", "127.0.0.1", 6379, "", "", "", 0 },
	{ "redis://localhost", "localhost", 6379, "", "", "", 0 },
	{ "redis://localhost/", "localhost", 6379, "", "", "", 0 },
	{ "redis://localhost:6380", "localhost", 6380, "", "", "", 0 },
	{ "redis://localhost:6380/", "localhost", 6380, "", "", "", 0 },
	{ "redis://localhost/3", "localhost", 6379, "", "", "", 3 },
	{ "redis://redis.internal:1/15", "redis.internal", 1, "", "", "", 15 },
	{ "redis://h:65535/1048576", "h", 65535, "", "", "", 1 << 20 },
	{ "redis://h:6379/007", "h", 6379, "", "", "", 7 },
	{ "redis://user:pass@h:6379/2", "h", 6379, "", "user", "pass", 2 },
	{ "redis://default:s3cr3t@10.0.0.5", "10.0.0.5", 6379, "", "default", "s3cr3t", 0 },
	{ "redis://:pass@h", "h", 6379, "", "", "pass", 0 }, /* password-only AUTH */
	{ "redis://pass@h:7000", "h", 7000, "", "", "pass", 0 },
	{ "redis://user:p:a:ss@h", "h", 6379, "", "user", "p:a:ss", 0 }, /* ':' in a password */
	{ "redis://user:@h", "h", 6379, "", "user", "", 0 },
	/* percent-encoded user and password, as URLs carry '@', ':', '/' */
	{ "redis://us%3Aer:p%40ss%2Fw%25@h", "h", 6379, "", "us:er", "p@ss/w%", 0 },
	{ "unix://svc:a%2Fb@/tmp/r.sock", "", 6379, "/tmp/r.sock", "svc", "a/b", 0 },
	{ "unix:///var/run/redis/redis.sock", "", 6379, "/var/run/redis/redis.sock", "", "", 0 },
	{ "unix:///tmp/r.sock?db=4", "", 6379, "/tmp/r.sock", "", "", 4 },
	{ "unix:///tmp/r.sock?db=0", "", 6379, "/tmp/r.sock", "", "", 0 },
	{ "unix://user:pw@/tmp/r.sock", "", 6379, "/tmp/r.sock", "user", "pw", 0 },
	{ "unix://pw@/tmp/r.sock?db=1", "", 6379, "/tmp/r.sock", "", "pw", 1 },
	{ "unix:///tmp/a@b.sock", "", 6379, "/tmp/a@b.sock", "", "", 0 }, /* '@' in a path */
};

static void test_redis_url_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct url_case *c = &good_cases[i];
		struct redis_target t;
		char err[256] = "";

		memset(&t, 'X', sizeof(t));
		if (redis_url_parse(c->url, &t, err, sizeof(err)) != GK_OK)
			fail_msg("case %zu '%s': %s", i, c->url, err);
		if (strcmp(t.host, c->host) || t.port != c->port || strcmp(t.path, c->path) ||
		    strcmp(t.user, c->user) || strcmp(t.password, c->password) || t.db != c->db)
			fail_msg("case %zu '%s': host '%s' port %d path '%s' user '%s' password '%s' db %d",
				 i, c->url, t.host, t.port, t.path, t.user, t.password, t.db);
	}
}

struct bad_case {
	const char *url;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ "", "must start with redis://, unix:// or redis-sentinel://" },
	{ "localhost:6379", "must start with" },
	{ "http://localhost", "must start with" },
	{ "rediss://localhost", "must start with" }, /* no TLS in hiredis 0.14 */
	{ "redis:/localhost", "must start with" },
	{ "redis://", "needs a host" },
	{ "redis://:6379", "needs a host" },
	{ "redis:///0", "needs a host" },
	{ "redis://user:pw@", "needs a host" },
	{ "redis://user:pw@:6379", "needs a host" },
	{ "redis://user:p%4@h", "badly %-encoded" },
	{ "redis://user:p%zz@h", "badly %-encoded" },
	{ "redis://user:p%00w@h", "badly %-encoded" },
	{ "redis://p%@h", "badly %-encoded" },
	{ "redis://h:", "port" },
	{ "redis://h:0", "port" },
	{ "redis://h:65536", "port" },
	{ "redis://h:-1", "port" },
	{ "redis://h:+1", "port" },
	{ "redis://h:abc", "port" },
	{ "redis://h:63 79", "port" },
	{ "redis://h:99999999999999999999", "port" },
	{ "redis://h:6379/x", "database" },
	{ "redis://h:6379/-1", "database" },
	{ "redis://h/1048577", "database" },
	{ "redis://h/99999999999999999999", "database" },
	{ "redis://h:6379/0/extra", "database" },
	{ "redis://h:6379/0?x=1", "database" },
	{ "unix://", "absolute" },
	{ "unix://relative.sock", "absolute" },
	{ "unix://user:pw@relative.sock", "absolute" },
	{ "unix:///tmp/r.sock?db=", "?db=N" },
	{ "unix:///tmp/r.sock?db=x", "?db=N" },
	{ "unix:///tmp/r.sock?db=-1", "?db=N" },
	{ "unix:///tmp/r.sock?db=1048577", "?db=N" },
	{ "unix:///tmp/r.sock?foo=1", "?db=N" },
	{ "unix:///tmp/r.sock?", "?db=N" },
	{ "redis-sentinel://", "needs the master name" },
	{ "redis-sentinel://h1:26379", "needs the master name" },
	{ "redis-sentinel:///mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://h1,/mymaster", "sentinel 2 must be" },
	{ "redis-sentinel://,h1/mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://h1:0/mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://h1,h2:65536/mymaster", "sentinel 2 must be" },
	{ "redis-sentinel://h1:/mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://[::1/mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://[::1]x/mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://[]:1/mymaster", "sentinel 1 must be" },
	{ "redis-sentinel://u:pw@h1,x@h2/mymaster", "sentinel 2 must be" },
	{ "redis-sentinel://a,b,c,d,e,f,g,h,i/mymaster", "more than 8 sentinels" },
	{ "redis-sentinel://h1/", "master name must be" },
	{ "redis-sentinel://h1//0", "master name must be" },
	{ "redis-sentinel://h1/my master", "master name must be" },
	{ "redis-sentinel://h1/m:1", "master name must be" },
	{ "redis-sentinel://h1/m/x", "database" },
	{ "redis-sentinel://h1/m/0/1", "database" },
	{ "redis-sentinel://h1/m/1048577", "database" },
	{ "redis-sentinel://u:p%zz@h1/m", "badly %-encoded" },
};

static void test_redis_url_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct redis_target t;
		char err[256] = "";

		if (redis_url_parse(c->url, &t, err, sizeof(err)) != GK_ERR)
			fail_msg("case %zu '%s' accepted", i, c->url);
		if (!strstr(err, c->err))
			fail_msg("case %zu '%s': '%s' does not contain '%s'", i, c->url, err, c->err);
	}
}

/* redis-sentinel://: the sentinels in order, the master name, the db. */
static void test_redis_url_sentinel(void **state)
{
	struct redis_target t;
	char err[256] = "";

	(void)state;
	memset(&t, 'X', sizeof(t));
	assert_int_equal(redis_url_parse("redis-sentinel://gofannon-keys:p%40ss@10.0.0.1:26380,sentinel-b,"
					 "[::1]:5000,[fe80::1]/gofannon-keys.main/3",
					 &t, err, sizeof(err)),
			 GK_OK);
	assert_string_equal(t.master_name, "gofannon-keys.main");
	assert_int_equal(t.db, 3);
	assert_string_equal(t.user, "gofannon-keys");
	assert_string_equal(t.password, "p@ss");
	assert_string_equal(t.host, "");
	assert_string_equal(t.path, "");
	assert_int_equal(t.sentinel_count, 4);
	assert_string_equal(t.sentinels[0].host, "10.0.0.1");
	assert_int_equal(t.sentinels[0].port, 26380);
	assert_string_equal(t.sentinels[1].host, "sentinel-b");
	assert_int_equal(t.sentinels[1].port, REDIS_SENTINEL_PORT);
	assert_string_equal(t.sentinels[2].host, "::1");
	assert_int_equal(t.sentinels[2].port, 5000);
	assert_string_equal(t.sentinels[3].host, "fe80::1");
	assert_int_equal(t.sentinels[3].port, REDIS_SENTINEL_PORT);
	/* the settings from other variables start empty */
	assert_string_equal(t.sentinel_user, "");
	assert_string_equal(t.sentinel_password, "");
	assert_int_equal(t.min_replicas, 0);

	assert_int_equal(redis_url_parse("redis-sentinel://h/m", &t, err, sizeof(err)), GK_OK);
	assert_int_equal(t.sentinel_count, 1);
	assert_string_equal(t.master_name, "m");
	assert_int_equal(t.db, 0);
	assert_string_equal(t.password, "");
	assert_int_equal(redis_url_parse("redis-sentinel://a,b,c,d,e,f,g,h/m/", &t, err, sizeof(err)), GK_OK);
	assert_int_equal(t.sentinel_count, REDIS_SENTINELS_MAX);
	assert_string_equal(t.sentinels[7].host, "h");
	/* a parse of another URL forgets the sentinels */
	assert_int_equal(redis_url_parse("redis://h", &t, err, sizeof(err)), GK_OK);
	assert_int_equal(t.sentinel_count, 0);
	assert_string_equal(t.master_name, "");
}

/* Field sizes: host 255, socket path 107, user 127, password 255 bytes. */
static void test_redis_url_limits(void **state)
{
	struct redis_target t;
	char url[1024], err[256] = "";
	char *s;

	(void)state;
	s = unit_repeat('h', sizeof(t.host) - 1);
	snprintf(url, sizeof(url), "redis://%s:1", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.host, s);
	snprintf(url, sizeof(url), "redis://%sh:1", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_ERR);
	free(s);

	s = unit_repeat('p', sizeof(t.path) - 1);
	s[0] = '/';
	snprintf(url, sizeof(url), "unix://%s", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.path, s);
	snprintf(url, sizeof(url), "unix://%sp", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "108"));
	free(s);

	s = unit_repeat('u', sizeof(t.user) - 1);
	snprintf(url, sizeof(url), "redis://%s:pw@h", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.user, s);
	snprintf(url, sizeof(url), "redis://%su:pw@h", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "too long"));
	free(s);

	s = unit_repeat('w', sizeof(t.password) - 1);
	snprintf(url, sizeof(url), "redis://u:%s@h", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.password, s);
	snprintf(url, sizeof(url), "redis://%s@h", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.password, s);
	snprintf(url, sizeof(url), "redis://u:%sw@h", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_ERR);
	snprintf(url, sizeof(url), "redis://%sw@h", s);
	assert_int_equal(redis_url_parse(url, &t, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "password is too long"));
	free(s);
}

/* No error message ever contains the password. */
static void test_redis_url_errors_hide_password(void **state)
{
	static const char *const urls[] = {
		"redis://u:SuperSecret@h:0",
		"redis://u:SuperSecret@h:6379/x",
		"redis://u:SuperSecret@",
		"redis://SuperSecret@:1",
		"unix://u:SuperSecret@relative",
		"unix://SuperSecret@/tmp/r.sock?db=x",
		"redis-sentinel://u:SuperSecret@h1,/m",
		"redis-sentinel://u:SuperSecret@h1/bad name",
		"redis-sentinel://u:SuperSecret@h1",
		"redis://u:SuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecret"
		"SuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecret"
		"SuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecret"
		"SuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecretSuperSecret"
		"@h",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		struct redis_target t;
		char err[512] = "";

		if (redis_url_parse(urls[i], &t, err, sizeof(err)) != GK_ERR)
			fail_msg("case %zu accepted", i);
		if (strstr(err, "SuperSecret") || strstr(err, "Secret"))
			fail_msg("case %zu: the error quotes the password: %s", i, err);
	}
}

/* A parse starts from a clean target: nothing carries over. */
static void test_redis_url_reset(void **state)
{
	struct redis_target t;
	char err[256];

	(void)state;
	assert_int_equal(redis_url_parse("redis://u:p@h:7000/5", &t, err, sizeof(err)), GK_OK);
	assert_int_equal(redis_url_parse("unix:///tmp/r.sock", &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.host, "");
	assert_string_equal(t.user, "");
	assert_string_equal(t.password, "");
	assert_int_equal(t.db, 0);
	assert_int_equal(redis_url_parse("redis://h", &t, err, sizeof(err)), GK_OK);
	assert_string_equal(t.path, "");
	assert_int_equal(t.port, 6379);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redis_url_good),
		cmocka_unit_test(test_redis_url_bad),
		cmocka_unit_test(test_redis_url_sentinel),
		cmocka_unit_test(test_redis_url_limits),
		cmocka_unit_test(test_redis_url_errors_hide_password),
		cmocka_unit_test(test_redis_url_reset),
	};

	return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
