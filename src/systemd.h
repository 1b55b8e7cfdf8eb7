/* systemd.h: the two systemd protocols the service speaks, written by hand
 * so that nothing links libsystemd.
 *
 * Socket activation: systemd passes the listening socket as fd 3 and says
 * so in LISTEN_PID and LISTEN_FDS. Readiness: the master reports READY=1,
 * RELOADING=1, STOPPING=1 and a STATUS= line as datagrams to NOTIFY_SOCKET.
 * Both do nothing when systemd did not set their variables. */
#ifndef GK_SYSTEMD_H
#define GK_SYSTEMD_H

#include <stddef.h>

#define SYSTEMD_LISTEN_FDS_START 3

/* Returns the first socket systemd passed to this process, -1 when it
 * passed none (or passed them to another process), or -2 with err set when
 * the variables are malformed. Unsets LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES, and marks the passed descriptors close-on-exec. */
int systemd_listen_fd(char *err, size_t errlen);

/* Sends one notification ("READY=1\nSTATUS=serving", ...). Returns GK_OK,
 * also when NOTIFY_SOCKET is unset, or GK_ERR when the datagram could not
 * be sent. */
int systemd_notify(const char *state);
int systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
