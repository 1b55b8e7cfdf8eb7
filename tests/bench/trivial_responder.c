/* trivial_responder: the ceiling scripts/bench compares gofannon-keys to.
 *
 *   spawn-fcgi -n -s SOCKET -- trivial_responder WORKERS [linger]
 *
 * Forks WORKERS processes that accept on the socket spawn-fcgi passes as
 * fd 0 and answer every request with a JSON body and the headers the API
 * sends, doing nothing else: what nginx plus FastCGI cost with the same
 * worker count. The body is {"status":"ok"}, or exactly N bytes when the
 * request URI carries "bytes=N", so that scripts/bench can compare an
 * endpoint with a ceiling that moves as many bytes. Requests end with
 * fcgi_finish(), as the service's do: a plain close once the request is
 * read whole, the fastest FastCGI allows; with "linger", libfcgi's own
 * lingering close, the ceiling as it was before. Links libfcgi only.
 * SIGTERM stops it; workers exit with it. */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/fcgi_finish.h"

#define WORKERS_MAX 256
#define BODY_MAX 65536

static char body[BODY_MAX];
static int linger;

/* {"status":"ok"}, or {"pad":"xxx..."} of exactly len bytes (len >= 11). */
static size_t fill_body(size_t len)
{
	static const char ok[] = "{\"status\":\"ok\"}";

	if (len < 11 || len > BODY_MAX) {
		memcpy(body, ok, sizeof(ok) - 1);
		return sizeof(ok) - 1;
	}
	memcpy(body, "{\"pad\":\"", 8);
	memset(body + 8, 'x', len - 10);
	memcpy(body + len - 2, "\"}", 2);
	return len;
}

static size_t wanted_bytes(const char *uri)
{
	const char *p = uri ? strstr(uri, "bytes=") : NULL;

	return p ? (size_t)strtoul(p + 6, NULL, 10) : 0;
}

static void serve(void)
{
	FCGX_Request rq;
	char head[256];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&rq, STDIN_FILENO, 0) != 0)
		exit(1);
	while (FCGX_Accept_r(&rq) >= 0) {
		size_t len = fill_body(wanted_bytes(FCGX_GetParam("REQUEST_URI", rq.envp)));
		int n = snprintf(head, sizeof(head),
				 "Status: 200 OK\r\n"
				 "Content-Type: application/json\r\n"
				 "Cache-Control: no-store\r\n"
				 "X-Content-Type-Options: nosniff\r\n"
				 "Content-Length: %zu\r\n\r\n",
				 len);

		FCGX_PutStr(head, n, rq.out);
		FCGX_PutStr(body, (int)len, rq.out);
		if (linger)
			FCGX_Finish_r(&rq);
		else
			fcgi_finish(&rq);
	}
	exit(0);
}

int main(int argc, char **argv)
{
	pid_t pids[WORKERS_MAX];
	long workers = argc == 2 || argc == 3 ? strtol(argv[1], NULL, 10) : 0;
	sigset_t set;
	int sig;

	linger = argc == 3 && strcmp(argv[2], "linger") == 0;
	if (workers < 1 || workers > WORKERS_MAX || (argc == 3 && !linger)) {
		fprintf(stderr,
			"usage: spawn-fcgi -n -s SOCKET -- trivial_responder WORKERS (1-%d) [linger]\n",
			WORKERS_MAX);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (long i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_UNBLOCK, &set, NULL);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			serve();
		}
	}
	sigwait(&set, &sig);
	for (long i = 0; i < workers; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
