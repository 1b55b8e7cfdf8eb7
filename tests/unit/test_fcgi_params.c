/* test_fcgi_params.c: a request that carries a decisive FastCGI parameter
 * twice (the identity above all) is refused whole, and the worker's log
 * line about it comes at most once a minute per name. */
#include "unit.h"

#include <json-c/json.h>

#include "fcgi_params.h"
#include "http.h"
#include "status.h"

#define IDENTITY FCGI_PARAMS_DECISIVE

/* What nginx sends for `include /etc/nginx/fastcgi_params;` followed by
 * `fastcgi_param REMOTE_USER $verified_user;` (Debian's file, in order),
 * plus the request headers it passes. */
static char *habit_envp[] = {
	"QUERY_STRING=",
	"REQUEST_METHOD=GET",
	"CONTENT_TYPE=",
	"CONTENT_LENGTH=",
	"SCRIPT_NAME=/api/users/me/api-keys",
	"REQUEST_URI=/api/users/me/api-keys",
	"DOCUMENT_URI=/api/users/me/api-keys",
	"DOCUMENT_ROOT=/usr/share/nginx/html",
	"SERVER_PROTOCOL=HTTP/1.1",
	"REQUEST_SCHEME=http",
	"GATEWAY_INTERFACE=CGI/1.1",
	"SERVER_SOFTWARE=nginx/1.22.1",
	"REMOTE_ADDR=127.0.0.1",
	"REMOTE_PORT=40000",
	"REMOTE_USER=victim",
	"SERVER_ADDR=127.0.0.1",
	"SERVER_PORT=8080",
	"SERVER_NAME=localhost",
	"REDIRECT_STATUS=200",
	"REMOTE_USER=",
	"HTTP_HOST=localhost:8080",
	"HTTP_AUTHORIZATION=Basic dmljdGltOng=",
	NULL,
};

/* The same site with the shipped gofannon-keys-fastcgi.conf instead. */
static char *shipped_envp[] = {
	"REQUEST_METHOD=PUT",
	"CONTENT_TYPE=application/json",
	"CONTENT_LENGTH=42",
	"REQUEST_URI=/api/users/me/api-keys",
	"DOCUMENT_URI=/api/users/me/api-keys",
	"REQUEST_SCHEME=https",
	"SERVER_PROTOCOL=HTTP/1.1",
	"REMOTE_ADDR=127.0.0.1",
	"REMOTE_USER=alice",
	"HTTP_HOST=keys.example.com",
	"HTTP_ORIGIN=https://keys.example.com",
	NULL,
};

static void test_count_matches_what_getparam_matches(void **state)
{
	char *envp[] = {
		"REMOTE_USER=a",   "REMOTE_USER_X=b",
		"REMOTE_USERS=c",  "REMOTE_USER=",
		"XREMOTE_USER=d",  "REMOTE_USER",
		"remote_user=e",   "REMOTE_USE=f",
		"REMOTE_USER=x=y", "",
		"=REMOTE_USER=g",  NULL,
	};
	char *empty[] = { NULL };

	(void)state;
	/* "REMOTE_USER=x=y" is REMOTE_USER with the value "x=y" for libfcgi too */
	assert_int_equal(fcgi_params_count(envp, "REMOTE_USER"), 3);
	assert_int_equal(fcgi_params_count(envp, "REMOTE_USER_X"), 1);
	assert_int_equal(fcgi_params_count(envp, "REMOTE_USE"), 1);
	assert_int_equal(fcgi_params_count(envp, "remote_user"), 1);
	assert_int_equal(fcgi_params_count(envp, "HTTP_HOST"), 0);
	assert_int_equal(fcgi_params_count(empty, "REMOTE_USER"), 0);
	assert_int_equal(fcgi_params_count(NULL, "REMOTE_USER"), 0);
}

static void test_habit_configuration_repeats_the_identity(void **state)
{
	int slot = fcgi_params_repeated(habit_envp, "REMOTE_USER");

	(void)state;
	assert_int_equal(slot, IDENTITY);
	assert_string_equal(fcgi_params_name(slot, "REMOTE_USER"), "REMOTE_USER");
	assert_int_equal(fcgi_params_repeated(shipped_envp, "REMOTE_USER"), -1);
	assert_int_equal(fcgi_params_repeated(NULL, "REMOTE_USER"), -1);
}

/* Each decisive parameter, added to the shipped set until it is there
 * twice, is found; so is one sent three times. */
static void test_every_decisive_parameter_is_checked(void **state)
{
	char *envp[16];
	char line[64];
	size_t n = 0;

	(void)state;
	while (shipped_envp[n])
		n++;
	assert_true(n + 4 <= ARRAY_SIZE(envp));
	for (int i = 0; i < FCGI_PARAMS_DECISIVE; i++) {
		const char *name = fcgi_params_decisive[i];
		size_t m = n;

		snprintf(line, sizeof(line), "%s=second", name);
		memcpy(envp, shipped_envp, n * sizeof(envp[0]));
		/* HTTPS and HTTP_AUTHORIZATION are not in the shipped set: once is fine */
		if (fcgi_params_count(shipped_envp, name) == 0) {
			envp[m++] = line;
			envp[m] = NULL;
			assert_int_equal(fcgi_params_repeated(envp, "REMOTE_USER"), -1);
		}
		envp[m++] = line;
		envp[m] = NULL;
		if (fcgi_params_repeated(envp, "REMOTE_USER") != i)
			fail_msg("%s sent twice was not found", name);
		envp[m++] = line;
		envp[m] = NULL;
		assert_int_equal(fcgi_params_count(envp, name), 3);
		assert_int_equal(fcgi_params_repeated(envp, "REMOTE_USER"), i);
	}
}

/* GOFANNON_USER_PARAM names the identity: a doubled REMOTE_USER no longer
 * decides anything, a doubled HTTP_X_USER does, and goes first. */
static void test_identity_follows_the_configured_name(void **state)
{
	char *envp[] = {
		"REMOTE_USER=a",      "REMOTE_USER=b",	    "HTTP_X_USER=alice",
		"REQUEST_METHOD=GET", "REQUEST_METHOD=PUT", NULL,
	};
	char *identity_too[] = { "REQUEST_METHOD=GET", "REQUEST_METHOD=PUT", "HTTP_X_USER=alice",
				 "HTTP_X_USER=mallory", NULL };
	char *only_other[] = { "REMOTE_USER=a", "REMOTE_USER=b", "HTTP_X_USER=alice", NULL };

	(void)state;
	assert_int_equal(fcgi_params_repeated(only_other, "HTTP_X_USER"), -1);
	assert_int_equal(fcgi_params_repeated(envp, "HTTP_X_USER"), 0); /* REQUEST_METHOD */
	assert_int_equal(fcgi_params_repeated(identity_too, "HTTP_X_USER"), IDENTITY);
	assert_string_equal(fcgi_params_name(IDENTITY, "HTTP_X_USER"), "HTTP_X_USER");
	/* an identity parameter that is also a decisive one is found either way */
	assert_true(fcgi_params_repeated(identity_too, "REQUEST_METHOD") >= 0);
}

static void test_log_due_once_a_minute_per_name(void **state)
{
	struct fcgi_params_limiter lim;
	int64_t t0 = 5;

	(void)state;
	memset(&lim, 0, sizeof(lim));
	assert_int_equal(fcgi_params_log_due(&lim, IDENTITY, t0), 1);
	assert_int_equal(fcgi_params_log_due(&lim, IDENTITY, t0), 0);
	assert_int_equal(fcgi_params_log_due(&lim, IDENTITY, t0 + FCGI_PARAMS_LOG_INTERVAL_MS - 1), 0);
	/* another name has its own minute */
	assert_int_equal(fcgi_params_log_due(&lim, 0, t0 + 1), 1);
	assert_int_equal(fcgi_params_log_due(&lim, 0, t0 + 2), 0);
	assert_int_equal(fcgi_params_log_due(&lim, IDENTITY, t0 + FCGI_PARAMS_LOG_INTERVAL_MS), 1);
	assert_int_equal(fcgi_params_log_due(&lim, IDENTITY, t0 + FCGI_PARAMS_LOG_INTERVAL_MS + 1), 0);
	/* slots out of range are never due */
	assert_int_equal(fcgi_params_log_due(&lim, -1, t0), 0);
	assert_int_equal(fcgi_params_log_due(&lim, FCGI_PARAMS_SLOTS, t0), 0);
}

/* Runs fcgi_params_check() n times on envp with stderr in a file; returns
 * the file's text (malloc'd) and the last response in resp. */
static char *check_logged(char **envp, int n, struct http_response *resp, int *rc)
{
	char dir[PATH_MAX], path[PATH_MAX], *text;
	int saved = dup(STDERR_FILENO), fd;

	unit_mkdtemp(dir);
	unit_path(path, dir, "stderr");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	for (int i = 0; i < n; i++) {
		http_response_release(resp);
		http_response_init(resp);
		*rc = fcgi_params_check(envp, "REMOTE_USER", resp);
	}
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(fd);
	text = unit_read_file(path, NULL);
	unit_rmdir(dir);
	return text;
}

static size_t count_substr(const char *s, const char *sub)
{
	size_t n = 0;

	for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
		n++;
	return n;
}

static void test_check_refuses_with_500_and_logs_once(void **state)
{
	struct http_response resp;
	struct json_object *detail;
	char *log;
	int rc = GK_OK;

	(void)state;
	http_response_init(&resp);
	log = check_logged(habit_envp, 20, &resp, &rc);
	assert_int_equal(rc, GK_ERR);
	assert_int_equal(resp.status, 500);
	assert_true(json_object_object_get_ex(resp.body, "detail", &detail));
	assert_string_equal(json_object_get_string(detail), "Server misconfigured");
	assert_int_equal(count_substr(log, "event=param_repeated"), 1);
	assert_non_null(strstr(log, "level=error"));
	assert_non_null(strstr(log, "name=REMOTE_USER count=2 hint=\""));
	assert_non_null(strstr(log, "fastcgi_params"));
	assert_non_null(strstr(log, "gofannon-keys-fastcgi.conf"));
	/* neither value is named */
	assert_null(strstr(log, "victim"));
	free(log);

	/* a request that repeats nothing is left alone and logs nothing */
	log = check_logged(shipped_envp, 3, &resp, &rc);
	assert_int_equal(rc, GK_OK);
	assert_int_equal(resp.status, 500); /* as http_response_init left it */
	assert_null(resp.body);
	assert_string_equal(log, "");
	free(log);
	http_response_release(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_matches_what_getparam_matches),
		cmocka_unit_test(test_habit_configuration_repeats_the_identity),
		cmocka_unit_test(test_every_decisive_parameter_is_checked),
		cmocka_unit_test(test_identity_follows_the_configured_name),
		cmocka_unit_test(test_log_due_once_a_minute_per_name),
		cmocka_unit_test(test_check_refuses_with_500_and_logs_once),
	};

	return cmocka_run_group_tests_name("fcgi_params", tests, NULL, NULL);
}
