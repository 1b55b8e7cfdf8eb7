#include "fcgi_params.h"

#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "status.h"

/* Everything fcgi_server.c reads, and HTTP_AUTHORIZATION, which bearer
 * tokens will be read from. HTTPS is not read today, but it says the same
 * as REQUEST_SCHEME, and two answers to "was this TLS" are one too many. */
const char *const fcgi_params_decisive[FCGI_PARAMS_DECISIVE] = {
	"REQUEST_METHOD", "REQUEST_URI", "DOCUMENT_URI",   "CONTENT_LENGTH", "CONTENT_TYPE",
	"HTTP_HOST",	  "HTTP_ORIGIN", "REQUEST_SCHEME", "HTTPS",	     "HTTP_AUTHORIZATION",
};

static struct fcgi_params_limiter worker_limiter;

size_t fcgi_params_count(char *const *envp, const char *name)
{
	size_t len = strlen(name), n = 0;

	if (!envp)
		return 0;
	for (char *const *p = envp; *p; p++)
		if (strncmp(*p, name, len) == 0 && (*p)[len] == '=')
			n++;
	return n;
}

const char *fcgi_params_name(int slot, const char *user_param)
{
	if (slot >= 0 && slot < FCGI_PARAMS_DECISIVE)
		return fcgi_params_decisive[slot];
	return user_param;
}

/* One pass over envp, counting each slot's entries (what
 * fcgi_params_count() gives for each name, without a scan per name: this
 * runs on every request). */
int fcgi_params_repeated(char *const *envp, const char *user_param)
{
	size_t lens[FCGI_PARAMS_SLOTS], count[FCGI_PARAMS_SLOTS] = { 0 };

	if (!envp)
		return -1;
	for (int i = 0; i < FCGI_PARAMS_SLOTS; i++)
		lens[i] = strlen(fcgi_params_name(i, user_param));
	for (char *const *p = envp; *p; p++) {
		const char *eq = strchr(*p, '=');
		size_t len = eq ? (size_t)(eq - *p) : 0;

		for (int i = 0; eq && i < FCGI_PARAMS_SLOTS; i++)
			if (lens[i] == len && memcmp(*p, fcgi_params_name(i, user_param), len) == 0)
				count[i]++;
	}
	/* The identity first: it is the one that lets a client be someone else. */
	if (count[FCGI_PARAMS_DECISIVE] > 1)
		return FCGI_PARAMS_DECISIVE;
	for (int i = 0; i < FCGI_PARAMS_DECISIVE; i++)
		if (count[i] > 1)
			return i;
	return -1;
}

int fcgi_params_log_due(struct fcgi_params_limiter *lim, int slot, int64_t now_ms)
{
	if (slot < 0 || slot >= FCGI_PARAMS_SLOTS || now_ms < lim->next_ms[slot])
		return 0;
	lim->next_ms[slot] = now_ms + FCGI_PARAMS_LOG_INTERVAL_MS;
	return 1;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_repeated(int slot, const char *user_param, size_t count)
{
	char name[96];

	log_escape(fcgi_params_name(slot, user_param), name, sizeof(name));
	if (slot == FCGI_PARAMS_DECISIVE)
		log_event(LOG_ERROR, "param_repeated",
			  "name=%s count=%zu hint=\"nginx sends the identity parameter %zu times and the "
			  "first may be the client's own unverified Authorization: Basic user (Debian's "
			  "fastcgi_params sets REMOTE_USER $remote_user): do not include fastcgi_params "
			  "before setting the identity, or include the shipped gofannon-keys-fastcgi.conf "
			  "instead; every request is refused until then\"",
			  name, count, count);
	else
		log_event(LOG_ERROR, "param_repeated",
			  "name=%s count=%zu hint=\"nginx sends this parameter %zu times: a fastcgi_param "
			  "line repeats one from an included file such as fastcgi_params (or, for HTTP_*, "
			  "the client sent the header twice); set each parameter once, as the shipped "
			  "gofannon-keys-fastcgi.conf does; such requests are refused until then\"",
			  name, count, count);
}

int fcgi_params_check(char *const *envp, const char *user_param, struct http_response *resp)
{
	int slot = fcgi_params_repeated(envp, user_param);

	if (slot < 0)
		return GK_OK;
	if (fcgi_params_log_due(&worker_limiter, slot, monotonic_ms()))
		log_repeated(slot, user_param, fcgi_params_count(envp, fcgi_params_name(slot, user_param)));
	return http_fail(resp, 500, "Server misconfigured");
}
