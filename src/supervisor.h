/* supervisor.h: the pre-fork master.
 *
 * supervisor_run() forks app->config->workers workers, each serving
 * requests on listen_fd with its own Redis connection, and keeps that many
 * running until it is told to stop. The process model it keeps (replacing
 * dead workers, the crash-loop stop after CRASH_LOOP_LIMIT early deaths,
 * SIGTERM, SIGQUIT, SIGINT, SIGHUP, GOFANNON_MAX_REQUESTS, the systemd
 * notifications, workers 0) is described once, in docs/operations.md
 * ("The process model", "Signals"). Signals reach the master through a
 * signalfd, so nothing but the worker's stop flag runs in a handler. */
#ifndef GK_SUPERVISOR_H
#define GK_SUPERVISOR_H

#include "app.h"

#define CRASH_LOOP_LIMIT 5

/* Serves until stopped. Returns the process exit status: 0 after a stop
 * that was asked for, 1 when the workers keep crashing or the master
 * cannot run. */
int supervisor_run(struct app *app, int listen_fd);

#endif
