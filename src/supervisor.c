#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dumpable.h"
#include "fcgi_server.h"
#include "log.h"
#include "status.h"
#include "systemd.h"

#define HEALTHY_UPTIME_MS 10000 /* a worker that lived this long was no crash loop */
#define RESPAWN_DELAY_MS 100	/* after the second early death; doubles after each */
#define RESPAWN_DELAY_MAX_MS 3000
#define START_TIMEOUT_MS 10000 /* a worker not accepting by then is killed */
#define FAST_STOP_TIMEOUT_MS 2000
#define JITTER_DIVISOR 10 /* max-requests jitter: up to a tenth more */

enum worker_state {
	WORKER_FREE,	 /* the slot is unused */
	WORKER_STARTING, /* forked, not yet accepting */
	WORKER_READY,	 /* accepting requests */
	WORKER_RETIRING, /* told to finish its request and exit */
};

struct worker {
	enum worker_state state;
	pid_t pid;
	unsigned generation; /* the configuration it was forked with */
	int64_t started_ms;
	int64_t kill_at_ms; /* retiring or starting: SIGKILL after this */
};

struct supervisor {
	struct app *app;
	pid_t master_pid;
	int listen_fd;
	int signal_fd;
	int ready_rd, ready_wr; /* workers write their pid here once accepting */
	int wanted;
	struct worker *workers;
	size_t slots;
	unsigned generation; /* bumped by each reload */
	int announced;	     /* READY=1 sent for this generation */
	int stopping;
	int graceful;
	int stop_forced;
	int64_t stop_deadline_ms;
	int crash_streak;      /* early deaths in a row */
	int64_t respawn_at_ms; /* no spawning before this */
	long restarts;
	int exit_code;
};

/* The worker's side: what its signal handler needs. */
static volatile sig_atomic_t worker_stop;
static int worker_listen_fd = -1;
static int worker_null_fd = -1;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How a worker ended, as log fields ("signal=9") and in words for the
 * crash-loop message and systemd's STATUS ("signal 9, Killed"). */
static void describe_status(int status, char *fields, size_t flen, char *words, size_t wlen)
{
	if (WIFEXITED(status)) {
		snprintf(fields, flen, "exit=%d", WEXITSTATUS(status));
		snprintf(words, wlen, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(fields, flen, "signal=%d", WTERMSIG(status));
		snprintf(words, wlen, "signal %d, %s", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		snprintf(fields, flen, "status=%d", status);
		snprintf(words, wlen, "wait status %d", status);
	}
}

/* ------------------------------------------------------------------------
 * Worker
 */

/* Runs in the worker on SIGTERM, SIGQUIT, or the master's death. The
 * handler is installed with SA_RESTART, so a request being read or written
 * is not cut short; /dev/null is swapped in for the listening socket, so an
 * accept() that is about to start, or is restarted after this handler,
 * fails at once instead of taking a connection this worker would no longer
 * serve. Only async-signal-safe calls here. */
static void on_worker_stop(int sig)
{
	int saved = errno;

	(void)sig;
	worker_stop = 1;
	if (worker_listen_fd >= 0 && worker_null_fd >= 0)
		dup2(worker_null_fd, worker_listen_fd);
	errno = saved;
}

/* The master keeps these signals blocked for its signalfd; a worker gets
 * its own dispositions, then unblocks them. */
static int worker_signals(int listen_fd)
{
	struct sigaction sa;
	sigset_t all;

	worker_listen_fd = listen_fd;
	worker_null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (worker_null_fd < 0)
		return GK_ERR;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_worker_stop;
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGQUIT, &sa, NULL) != 0)
		return GK_ERR;
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN; /* the master reloads; a terminal hangup reaches the whole group */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&all);
	return sigprocmask(SIG_SETMASK, &all, NULL) == 0 ? GK_OK : GK_ERR;
}

static long jittered_limit(long max_requests)
{
	if (max_requests <= 0)
		return 0;
	return max_requests + (long)randombytes_uniform((uint32_t)(max_requests / JITTER_DIVISOR) + 1);
}

static void release_master_state(struct supervisor *sv)
{
	free(sv->workers);
	sv->workers = NULL;
}

/* A worker's share of GOFANNON_LLM_WORKERS_MAX: each may fork max/workers
 * children for LLM calls (at least one while max is not 0), so the
 * service never has more than max of them, or workers when that is more. */
static int llm_children_share(const struct config *cfg)
{
	int share;

	if (cfg->llm_workers_max <= 0 || cfg->workers <= 0)
		return 0;
	share = cfg->llm_workers_max / cfg->workers;
	return share > 0 ? share : 1;
}

/* The child after fork(): serves until told to stop, its request limit is
 * reached, or the master dies. Exits 0 when it stopped in order. */
static void worker_main(struct supervisor *sv) __attribute__((noreturn));
static void worker_main(struct supervisor *sv)
{
	pid_t self = getpid();
	long limit = jittered_limit(sv->app->config->max_requests);
	long served;
	int orderly;
	char err[256];

	close(sv->signal_fd);
	close(sv->ready_rd);
	release_master_state(sv);
	/* Inherited from the master already; said again so that a worker
	 * never depends on what ran before the fork. */
	if (dumpable_restrict(err, sizeof(err)) != GK_OK) {
		log_event(LOG_ERROR, "worker_setup_failed", "error=\"%s\"", err);
		exit(1);
	}
	if (worker_signals(sv->listen_fd) != GK_OK) {
		log_event(LOG_ERROR, "worker_setup_failed", "error=\"%s\"", strerror(errno));
		exit(1);
	}
	/* If the master died before prctl() ran, no signal will come: look. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != sv->master_pid)
		exit(0);
	/* Connect to Redis before taking requests, so the first one does not
	 * pay for it; if Redis is down the requests answer 503 and the worker
	 * keeps serving. */
	keystore_ping(&sv->app->store);
	if (write(sv->ready_wr, &self, sizeof(self)) != (ssize_t)sizeof(self))
		log_event(LOG_WARN, "worker_ready_unreported", "error=\"%s\"", strerror(errno));
	close(sv->ready_wr);

	fcgi_set_llm_children(llm_children_share(sv->app->config));
	served = fcgi_serve(sv->app, sv->listen_fd, limit, &worker_stop, -1);
	orderly = worker_stop || (limit > 0 && served >= limit);
	log_event(orderly ? LOG_INFO : LOG_ERROR, "worker_exiting", "served=%ld reason=%s", served,
		  worker_stop ? "asked" : (orderly ? "max_requests" : "accept_failed"));
	app_release(sv->app);
	exit(orderly ? 0 : 1);
}

/* ------------------------------------------------------------------------
 * Master: the worker table
 */

static struct worker *find_worker(struct supervisor *sv, pid_t pid)
{
	for (size_t i = 0; i < sv->slots; i++)
		if (sv->workers[i].state != WORKER_FREE && sv->workers[i].pid == pid)
			return &sv->workers[i];
	return NULL;
}

struct census {
	int live;   /* any state but free */
	int active; /* starting or ready: what serves, or will */
	int starting;
	int accepting; /* ready, of any generation */
	int ready;     /* ready and of the current generation */
	int old;       /* active, of an earlier generation */
};

static struct census count_workers(const struct supervisor *sv)
{
	struct census c = { 0, 0, 0, 0, 0, 0 };

	for (size_t i = 0; i < sv->slots; i++) {
		const struct worker *w = &sv->workers[i];

		if (w->state == WORKER_FREE)
			continue;
		c.live++;
		if (w->state == WORKER_RETIRING)
			continue;
		c.active++;
		if (w->state == WORKER_STARTING)
			c.starting++;
		else
			c.accepting++;
		if (w->generation != sv->generation)
			c.old++;
		else if (w->state == WORKER_READY)
			c.ready++;
	}
	return c;
}

static int spawn_worker(struct supervisor *sv, int64_t now)
{
	struct worker *w = NULL;
	pid_t pid;

	for (size_t i = 0; i < sv->slots && !w; i++)
		if (sv->workers[i].state == WORKER_FREE)
			w = &sv->workers[i];
	if (!w)
		return GK_ERR; /* every slot holds a worker still finishing: wait for one */
	pid = fork();
	if (pid < 0) {
		log_event(LOG_ERROR, "fork_failed", "error=\"%s\" retry_ms=1000", strerror(errno));
		sv->respawn_at_ms = now + 1000;
		return GK_ERR;
	}
	if (pid == 0)
		worker_main(sv);
	w->state = WORKER_STARTING;
	w->pid = pid;
	w->generation = sv->generation;
	w->started_ms = now;
	w->kill_at_ms = now + START_TIMEOUT_MS;
	log_event(LOG_INFO, "worker_started", "worker=%ld generation=%u", (long)pid, sv->generation);
	return GK_OK;
}

/* A retiring worker is not in anyone's way: it may finish whatever it
 * holds, even when GOFANNON_STOP_TIMEOUT was set short for quick stops. */
static int64_t retire_timeout_ms(const struct supervisor *sv)
{
	const struct config *c = sv->app->config;
	int s = c->llm_timeout_s + STOP_MARGIN_S;

	return (int64_t)(c->stop_timeout_s > s ? c->stop_timeout_s : s) * 1000;
}

static void retire_worker(struct supervisor *sv, struct worker *w, int64_t now)
{
	w->state = WORKER_RETIRING;
	w->kill_at_ms = now + retire_timeout_ms(sv);
	kill(w->pid, SIGTERM);
	log_event(LOG_INFO, "worker_retiring", "worker=%ld generation=%u", (long)w->pid, w->generation);
}

/* During a reload: the oldest worker of an earlier generation. */
static struct worker *oldest_outdated(struct supervisor *sv)
{
	struct worker *oldest = NULL;

	for (size_t i = 0; i < sv->slots; i++) {
		struct worker *w = &sv->workers[i];

		if ((w->state == WORKER_STARTING || w->state == WORKER_READY) &&
		    w->generation != sv->generation && (!oldest || w->started_ms < oldest->started_ms))
			oldest = w;
	}
	return oldest;
}

static void announce_ready(struct supervisor *sv)
{
	systemd_notifyf("READY=1\nSTATUS=serving with %d workers, %ld restarted, configuration %u",
			sv->wanted, sv->restarts, sv->generation);
	if (sv->generation > 0)
		log_event(LOG_INFO, "workers_replaced", "generation=%u workers=%d", sv->generation,
			  sv->wanted);
	else
		log_event(LOG_INFO, "workers_ready", "workers=%d", sv->wanted);
	sv->announced = 1;
}

/* Brings the table to what it should be: as many active workers as wanted
 * and, during a reload, one extra of the new generation starting; once it
 * accepts, more workers accept than wanted and the oldest outdated one is
 * told to finish. So a reload never has fewer workers accepting than
 * wanted, and never more than one extra. */
static void reconcile(struct supervisor *sv, int64_t now)
{
	struct census c = count_workers(sv);
	struct worker *old;

	if (sv->stopping)
		return;
	while (c.accepting > sv->wanted && c.old > 0 && (old = oldest_outdated(sv)) != NULL) {
		retire_worker(sv, old, now);
		c = count_workers(sv);
	}
	if (now >= sv->respawn_at_ms) {
		while (c.active < sv->wanted && spawn_worker(sv, now) == GK_OK) {
			c.active++;
			c.starting++;
		}
		if (c.old > 0 && c.starting == 0 && c.active <= sv->wanted)
			spawn_worker(sv, now);
	}
	if (!sv->announced && c.old == 0 && c.ready >= sv->wanted)
		announce_ready(sv);
}

static void worker_ready(struct supervisor *sv, pid_t pid)
{
	struct worker *w = find_worker(sv, pid);

	if (!w || w->state != WORKER_STARTING)
		return;
	w->state = WORKER_READY;
	w->kill_at_ms = 0;
}

static void read_ready_notes(struct supervisor *sv)
{
	pid_t pids[64];
	ssize_t n;

	while ((n = read(sv->ready_rd, pids, sizeof(pids))) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof(pids[0]); i++)
			worker_ready(sv, pids[i]);
}

/* ------------------------------------------------------------------------
 * Master: stopping, crashing, reloading
 */

static void begin_stop(struct supervisor *sv, int graceful, const char *why, int64_t now)
{
	if (sv->stopping && !(sv->graceful && !graceful))
		return; /* already stopping, and this would not be faster */
	sv->stopping = 1;
	sv->graceful = graceful;
	sv->stop_deadline_ms = now + (graceful ? (int64_t)sv->app->config->stop_timeout_s * 1000
					       : FAST_STOP_TIMEOUT_MS);
	systemd_notifyf("STOPPING=1\nSTATUS=stopping (%s)", why);
	log_event(LOG_INFO, "stopping", "mode=%s reason=%s", graceful ? "graceful" : "fast", why);
	for (size_t i = 0; i < sv->slots; i++) {
		struct worker *w = &sv->workers[i];

		if (w->state == WORKER_FREE)
			continue;
		kill(w->pid, graceful ? SIGTERM : SIGKILL);
		w->state = WORKER_RETIRING;
		w->kill_at_ms = 0;
	}
}

static int64_t respawn_delay_ms(int streak)
{
	int64_t delay = RESPAWN_DELAY_MS;

	if (streak <= 1)
		return 0;
	for (int i = 2; i < streak && delay < RESPAWN_DELAY_MAX_MS; i++)
		delay *= 2;
	return delay < RESPAWN_DELAY_MAX_MS ? delay : RESPAWN_DELAY_MAX_MS;
}

static void worker_died(struct supervisor *sv, int64_t uptime, const char *how, int64_t now)
{
	sv->restarts++;
	if (uptime >= HEALTHY_UPTIME_MS)
		sv->crash_streak = 0;
	sv->crash_streak++;
	if (sv->crash_streak >= CRASH_LOOP_LIMIT) {
		log_event(LOG_ERROR, "crash_loop",
			  "deaths_in_a_row=%d last=\"%s\" hint=\"workers die within %d s of starting; "
			  "the master stops so that the service manager can restart the service; "
			  "the lines above say why they die\"",
			  sv->crash_streak, how, HEALTHY_UPTIME_MS / 1000);
		systemd_notifyf("STATUS=workers keep crashing (%d in a row, last %s); giving up",
				sv->crash_streak, how);
		sv->exit_code = 1;
		begin_stop(sv, 1, "crash_loop", now);
		return;
	}
	sv->respawn_at_ms = now + respawn_delay_ms(sv->crash_streak);
	systemd_notifyf("STATUS=serving with %d workers, %ld restarted", sv->wanted, sv->restarts);
	if (sv->respawn_at_ms > now)
		log_event(LOG_WARN, "respawn_delayed", "delay_ms=%lld deaths_in_a_row=%d",
			  (long long)(sv->respawn_at_ms - now), sv->crash_streak);
}

static void worker_exited(struct supervisor *sv, struct worker *w, int status, int64_t now)
{
	int64_t uptime = now - w->started_ms;
	int orderly = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	int expected = w->state == WORKER_RETIRING;
	char how[32], words[96];

	describe_status(status, how, sizeof(how), words, sizeof(words));
	log_event(expected || orderly ? LOG_INFO : LOG_ERROR, "worker_exited",
		  "worker=%ld generation=%u %s uptime_ms=%lld reason=%s", (long)w->pid, w->generation, how,
		  (long long)uptime,
		  expected  ? "stopped"
		  : orderly ? "recycled"
			    : "died");
	w->state = WORKER_FREE;
	w->pid = 0;
	if (!expected && !orderly && !sv->stopping)
		worker_died(sv, uptime, words, now);
}

static void reap(struct supervisor *sv, int64_t now)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct worker *w = find_worker(sv, pid);

		if (w)
			worker_exited(sv, w, status, now);
	}
}

static void kill_overdue(struct supervisor *sv, int64_t now)
{
	int killed = 0;

	for (size_t i = 0; i < sv->slots; i++) {
		struct worker *w = &sv->workers[i];

		if (w->state == WORKER_FREE)
			continue;
		if (sv->stopping && now >= sv->stop_deadline_ms) {
			kill(w->pid, SIGKILL);
			killed++;
		} else if (w->kill_at_ms && now >= w->kill_at_ms) {
			log_event(LOG_WARN, "worker_killed", "worker=%ld reason=%s", (long)w->pid,
				  w->state == WORKER_STARTING ? "not_ready_in_time" : "retire_timeout");
			kill(w->pid, SIGKILL);
			w->kill_at_ms = 0;
		}
	}
	if (killed && !sv->stop_forced) {
		sv->stop_forced = 1;
		log_event(LOG_WARN, "stop_timeout", "killed=%d timeout_s=%d", killed,
			  sv->graceful ? sv->app->config->stop_timeout_s : FAST_STOP_TIMEOUT_MS / 1000);
	}
}

static int reload_configuration(struct supervisor *sv)
{
	char err[1024];

	systemd_notifyf("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading", (long long)now_ms() * 1000);
	if (app_reload(sv->app, err, sizeof(err)) != GK_OK) {
		log_event(LOG_ERROR, "reload_failed", "error=\"%s\" kept=\"previous configuration\"", err);
		systemd_notifyf("READY=1\nSTATUS=reload failed, serving the previous configuration: %.300s",
				err);
		return GK_ERR;
	}
	log_event(LOG_INFO, "reloaded", "providers=%zu master_keys=%zu", sv->app->registry.count,
		  sv->app->keyring.count);
	return GK_OK;
}

static void begin_reload(struct supervisor *sv)
{
	if (sv->stopping || reload_configuration(sv) != GK_OK)
		return;
	sv->generation++;
	sv->announced = 0;
}

static void handle_signals(struct supervisor *sv, int64_t now)
{
	struct signalfd_siginfo si;

	while (read(sv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			begin_reload(sv);
			break;
		case SIGTERM:
		case SIGQUIT:
			begin_stop(sv, 1, si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGQUIT", now);
			break;
		case SIGINT:
			begin_stop(sv, 0, "SIGINT", now);
			break;
		default: /* SIGCHLD: reap() looks on every turn */
			break;
		}
	}
}

/* The earliest moment something must happen without an event: a respawn,
 * a kill; -1 when there is none. */
static int poll_timeout(const struct supervisor *sv, int64_t now)
{
	int64_t next = INT64_MAX;

	if (sv->stopping)
		next = sv->stop_deadline_ms;
	else if (sv->respawn_at_ms > now)
		next = sv->respawn_at_ms;
	for (size_t i = 0; i < sv->slots; i++)
		if (sv->workers[i].state != WORKER_FREE && sv->workers[i].kill_at_ms &&
		    sv->workers[i].kill_at_ms < next)
			next = sv->workers[i].kill_at_ms;
	if (next == INT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	return next - now > 60000 ? 60000 : (int)(next - now);
}

static void wait_for_events(struct supervisor *sv)
{
	struct pollfd pfd[2] = { { sv->signal_fd, POLLIN, 0 }, { sv->ready_rd, POLLIN, 0 } };
	int64_t now = now_ms();

	if (poll(pfd, 2, poll_timeout(sv, now)) < 0 && errno != EINTR) {
		log_event(LOG_ERROR, "poll_failed", "error=\"%s\"", strerror(errno));
		sleep(1);
		return;
	}
	now = now_ms();
	if (pfd[0].revents & POLLIN)
		handle_signals(sv, now);
	if (pfd[1].revents & POLLIN)
		read_ready_notes(sv);
}

static int supervise(struct supervisor *sv)
{
	log_event(LOG_INFO, "supervisor_started", "workers=%d max_requests=%ld stop_timeout_s=%d", sv->wanted,
		  sv->app->config->max_requests, sv->app->config->stop_timeout_s);
	for (;;) {
		int64_t now = now_ms();

		reap(sv, now);
		kill_overdue(sv, now);
		if (sv->stopping && count_workers(sv).live == 0)
			break;
		reconcile(sv, now);
		wait_for_events(sv);
	}
	return sv->exit_code;
}

/* ------------------------------------------------------------------------
 * Master serving in-process (workers 0)
 */

static int signal_waiting(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) > 0;
}

static int serve_in_process(struct supervisor *sv)
{
	static volatile sig_atomic_t stop;
	struct signalfd_siginfo si;

	log_event(LOG_INFO, "serving_in_process", NULL);
	systemd_notify("READY=1\nSTATUS=serving in process");
	while (!stop) {
		/* Signals wait in the signalfd while a request is served, so
		 * the request in hand always completes; fcgi_serve() returns
		 * once one waits, keeping the connections nginx keeps. */
		fcgi_serve(sv->app, sv->listen_fd, 0, &stop, sv->signal_fd);
		if (!signal_waiting(sv->signal_fd)) {
			usleep(100000); /* accept failed (logged): do not spin */
			continue;
		}
		while (read(sv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP && reload_configuration(sv) == GK_OK)
				systemd_notify("READY=1\nSTATUS=serving in process");
			else if (si.ssi_signo != SIGHUP && si.ssi_signo != SIGCHLD)
				stop = 1;
		}
	}
	/* Serves what nginx already sent on kept connections, closes them. */
	fcgi_serve(sv->app, sv->listen_fd, 0, &stop, -1);
	systemd_notify("STOPPING=1\nSTATUS=stopping");
	return 0;
}

/* ------------------------------------------------------------------------
 * Set-up
 */

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

static int supervisor_init(struct supervisor *sv, struct app *app, int listen_fd)
{
	struct sigaction ignore;
	sigset_t set;
	int pipefd[2];

	memset(sv, 0, sizeof(*sv));
	sv->app = app;
	sv->master_pid = getpid();
	sv->listen_fd = listen_fd;
	sv->signal_fd = sv->ready_rd = sv->ready_wr = -1;
	sv->wanted = app->config->workers;
	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ignore, NULL);
	if (block_signals(&set) != 0)
		goto fail;
	sv->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sv->signal_fd < 0)
		goto fail;
	if (sv->wanted == 0)
		return GK_OK;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		goto fail;
	sv->ready_rd = pipefd[0];
	sv->ready_wr = pipefd[1];
	if (fcntl(sv->ready_rd, F_SETFL, O_NONBLOCK) != 0)
		goto fail;
	/* Room for every worker, a replacement starting beside each during a
	 * reload, and the retiring ones finishing their last request. */
	sv->slots = (size_t)sv->wanted * 2 + 2;
	sv->workers = calloc(sv->slots, sizeof(*sv->workers));
	if (!sv->workers)
		goto fail;
	return GK_OK;
fail:
	log_event(LOG_ERROR, "supervisor_setup_failed", "error=\"%s\"", strerror(errno));
	return GK_ERR;
}

static void supervisor_release(struct supervisor *sv)
{
	if (sv->signal_fd >= 0)
		close(sv->signal_fd);
	if (sv->ready_rd >= 0)
		close(sv->ready_rd);
	if (sv->ready_wr >= 0)
		close(sv->ready_wr);
	release_master_state(sv);
}

int supervisor_run(struct app *app, int listen_fd)
{
	struct supervisor sv;
	int rc = 1;

	if (supervisor_init(&sv, app, listen_fd) == GK_OK)
		rc = sv.wanted == 0 ? serve_in_process(&sv) : supervise(&sv);
	supervisor_release(&sv);
	return rc;
}
