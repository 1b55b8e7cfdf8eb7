#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "num.h"
#include "status.h"

#define NOTIFY_MAX 512

static void forget_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int systemd_listen_fd(char *err, size_t errlen)
{
	const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
	long long pid, fds;

	if (!pid_text || !fds_text)
		return -1;
	if (num_parse(pid_text, 1, 0x7fffffffL, &pid, NULL, 0) != GK_OK ||
	    num_parse(fds_text, 0, 1024, &fds, NULL, 0) != GK_OK) {
		snprintf(err, errlen, "LISTEN_PID and LISTEN_FDS must be whole numbers");
		forget_listen_env();
		return -2;
	}
	/* The variables were meant for another process (a parent that ran us
	 * without clearing them): not ours to use. */
	if ((pid_t)pid != getpid())
		return -1;
	forget_listen_env();
	if (fds < 1)
		return -1;
	for (long i = 0; i < fds; i++)
		fcntl(SYSTEMD_LISTEN_FDS_START + (int)i, F_SETFD, FD_CLOEXEC);
	return SYSTEMD_LISTEN_FDS_START;
}

/* NOTIFY_SOCKET is a path, or "@name" for the abstract namespace. */
static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(name);

	if ((name[0] != '/' && name[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
		return GK_ERR;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return GK_OK;
}

int systemd_notify(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len = strlen(state);
	socklen_t sa_len;
	int fd, rc = GK_ERR;

	if (!name || !*name)
		return GK_OK;
	if (notify_address(name, &sa, &sa_len) != GK_OK)
		return GK_ERR;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return GK_ERR;
	if (sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sa_len) == (ssize_t)len)
		rc = GK_OK;
	close(fd);
	return rc;
}

int systemd_notifyf(const char *fmt, ...)
{
	char state[NOTIFY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(state, sizeof(state), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(state))
		return GK_ERR;
	return systemd_notify(state);
}
