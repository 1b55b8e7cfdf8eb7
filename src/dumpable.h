/* dumpable.h: keeps the service's processes out of core files and ptrace.
 *
 * Every process of the service holds secrets: the master keys, the system
 * keys, the Redis password, and in a worker the keys of the request in hand
 * (some of them in libfcgi's and json-c's buffers, which the service cannot
 * wipe). A core file of any of them would hold those. PR_SET_DUMPABLE 0
 * means no core file, no ptrace and no /proc/PID/mem or environ for other
 * processes of the same user (root keeps them), and the files in /proc/PID
 * become root's. The flag is inherited over fork() and reset by execve();
 * the service never execs, and sets it again in each worker anyway.
 *
 * GOFANNON_ALLOW_CORE_DUMPS=1 leaves the processes dumpable, to debug a
 * crash on a machine whose keys may end up in the core file. */
#ifndef GK_DUMPABLE_H
#define GK_DUMPABLE_H

#include <stddef.h>

/* Reads GOFANNON_ALLOW_CORE_DUMPS: unset, "" or "0" is no, "1" yes.
 * Returns 1, 0, or -1 for any other value. */
int dumpable_allowed(void);

/* Makes this process non-dumpable unless GOFANNON_ALLOW_CORE_DUMPS=1.
 * Returns GK_OK, or GK_ERR with err set when the variable is invalid or the
 * kernel refused (the process is then left non-dumpable where possible). */
int dumpable_restrict(char *err, size_t errlen);

#endif
