/* supervisor.h: the pre-fork master.
 *
 * supervisor_run() forks app->config->workers workers, each serving
 * requests on listen_fd with its own Redis connection, and keeps that many
 * running until it is told to stop:
 *
 *   - a worker that dies is replaced at once; one that dies soon after it
 *     started is replaced after a delay that doubles each time, and after
 *     CRASH_LOOP_LIMIT such deaths in a row the master stops the others and
 *     returns 1, so that the service manager sees the failure;
 *   - SIGTERM, SIGQUIT: workers stop accepting, finish the request in hand
 *     and exit; whatever still runs after GOFANNON_STOP_TIMEOUT (by default
 *     GOFANNON_LLM_TIMEOUT + 10 s) is killed;
 *   - SIGINT: workers are killed at once;
 *   - SIGHUP: app_reload() in the master, then every worker is replaced by
 *     one forked from the new configuration, one at a time, the new worker
 *     accepting before the old one is told to finish, and given at least
 *     GOFANNON_LLM_TIMEOUT + 10 s to do so: no request fails;
 *   - GOFANNON_MAX_REQUESTS: a worker exits after that many requests, plus
 *     up to a tenth more so that workers do not all restart together, and
 *     is replaced;
 *   - workers exit (gracefully) when the master dies.
 *
 * The master reports READY, RELOADING, STOPPING and a STATUS line to
 * systemd when NOTIFY_SOCKET is set. With workers 0 the master serves the
 * requests itself, with the same signals. Signals reach the master through
 * a signalfd, so nothing but the worker's stop flag runs in a handler. */
#ifndef GK_SUPERVISOR_H
#define GK_SUPERVISOR_H

#include "app.h"

#define CRASH_LOOP_LIMIT 5

/* Serves until stopped. Returns the process exit status: 0 after a stop
 * that was asked for, 1 when the workers keep crashing or the master
 * cannot run. */
int supervisor_run(struct app *app, int listen_fd);

#endif
