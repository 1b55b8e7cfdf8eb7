/* fcgi_params.h: the FastCGI parameters of a request, checked before the
 * service decides anything on them.
 *
 * nginx sends a parameter twice when its configuration sets it twice. The
 * usual habit, `include fastcgi_params;` then `fastcgi_param REMOTE_USER
 * $real_user;`, does exactly that: Debian's fastcgi_params sets REMOTE_USER
 * to $remote_user, the user named in the client's own Authorization: Basic
 * header, which nginx does not verify unless auth_basic is on. libfcgi's
 * FCGX_GetParam() returns the first value, so such a request would be
 * served as whoever the client chose. A request that carries a parameter
 * the service decides on more than once is therefore refused whole (500),
 * never served as either value, and the worker says how to fix nginx.
 *
 * No libfcgi here: envp is the NULL-terminated "NAME=VALUE" array libfcgi
 * builds, so the scan is unit-tested and fuzzed alone. */
#ifndef GK_FCGI_PARAMS_H
#define GK_FCGI_PARAMS_H

#include <stddef.h>
#include <stdint.h>

struct http_response;

/* The parameters the service decides on, besides the identity parameter. */
#define FCGI_PARAMS_DECISIVE 10
extern const char *const fcgi_params_decisive[FCGI_PARAMS_DECISIVE];

/* Slot FCGI_PARAMS_DECISIVE is the identity parameter (GOFANNON_USER_PARAM). */
#define FCGI_PARAMS_SLOTS (FCGI_PARAMS_DECISIVE + 1)

/* A repeated parameter is logged at most this often per name and process. */
#define FCGI_PARAMS_LOG_INTERVAL_MS 60000

/* Counts the entries of envp that FCGX_GetParam(name) would match: those
 * that start with name followed by '='. envp may be NULL. */
size_t fcgi_params_count(char *const *envp, const char *name);

/* Returns the slot of a parameter that envp holds more than once, the
 * identity parameter (user_param) first, or -1 when each of them appears
 * at most once. */
int fcgi_params_repeated(char *const *envp, const char *user_param);

/* The parameter name of a slot. */
const char *fcgi_params_name(int slot, const char *user_param);

/* When each slot may be logged next (CLOCK_MONOTONIC ms); zeroed: all due. */
struct fcgi_params_limiter {
	int64_t next_ms[FCGI_PARAMS_SLOTS];
};

/* Returns 1 when slot's line is due at now_ms, and then holds the next one
 * back for FCGI_PARAMS_LOG_INTERVAL_MS; 0 otherwise. */
int fcgi_params_log_due(struct fcgi_params_limiter *lim, int slot, int64_t now_ms);

/* What a worker runs on each request before building it. Returns GK_OK
 * when no decisive parameter is repeated; otherwise sets resp to
 * 500 {"detail":"Server misconfigured"}, logs event=param_repeated (at most
 * once a minute per name in this process) and returns GK_ERR. */
int fcgi_params_check(char *const *envp, const char *user_param, struct http_response *resp);

#endif
