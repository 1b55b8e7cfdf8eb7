/* gofannon-keys: per-user API keys for LLM providers, as a FastCGI service.
 *
 *   gofannon-keys [serve] [--listen PATH|HOST:PORT|[IPV6]:PORT] [--workers N]
 *   gofannon-keys keygen [--append] FILE
 *   gofannon-keys rekey
 *   gofannon-keys stats
 *   gofannon-keys user USER
 *   gofannon-keys revoke USER PROVIDER
 *   gofannon-keys version
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "clock.h"
#include "cmd_stats.h"
#include "cmd_user.h"
#include "config.h"
#include "dumpable.h"
#include "fcgi_server.h"
#include "llm.h"
#include "log.h"
#include "num.h"
#include "rekey.h"
#include "status.h"
#include "supervisor.h"
#include "systemd.h"

#define LISTEN_BACKLOG 1024

struct serve_options {
	const char *listen;
	int workers; /* -1: from the configuration */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: gofannon-keys [serve] [--listen PATH|HOST:PORT|[IPV6]:PORT] [--workers N]\n"
		     "       gofannon-keys keygen [--append] FILE\n"
		     "       gofannon-keys rekey\n"
		     "       gofannon-keys stats\n"
		     "       gofannon-keys user USER\n"
		     "       gofannon-keys revoke USER PROVIDER\n"
		     "       gofannon-keys version\n"
		     "\n"
		     "serve takes its FastCGI socket from fd 0 (spawn-fcgi -n), from systemd\n"
		     "socket activation, or from --listen. rekey seals every stored key again\n"
		     "under the newest master key. Settings come from GOFANNON_* environment\n"
		     "variables. The manual has every command, variable, signal and file:\n"
		     "man 8 gofannon-keys\n");
}

static int cmd_keygen(int argc, char **argv)
{
	char err[512], kid[KID_MAX + 1];
	int append = 0;
	const char *path;

	if (argc >= 2 && strcmp(argv[1], "--append") == 0) {
		append = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		usage(stderr);
		return 2;
	}
	path = argv[1];
	if (keyring_generate(path, append, kid, sizeof(kid), err, sizeof(err)) != GK_OK) {
		fprintf(stderr, "gofannon-keys: %s\n", err);
		return 1;
	}
	fprintf(stderr, "gofannon-keys: %s master key '%s' %s '%s'\n", append ? "added" : "created", kid,
		append ? "to" : "in", path);
	return 0;
}

/* One log line for the record, one sentence for the operator. */
static void report_rekey(int rc, const struct rekey_report *r, const char *kid)
{
	log_event(rc == GK_OK ? LOG_INFO : LOG_ERROR, "rekey_done",
		  "complete=%s master_key=%s hashes=%lu resealed=%lu already_current=%lu "
		  "unreadable=%lu unknown_provider=%lu retries=%lu failed=%lu",
		  rc == GK_OK ? "yes" : "no", kid, r->hashes, r->resealed, r->current, r->unreadable,
		  r->unknown, r->retries, r->failed);
	printf("rekey %s: %lu user hashes, %lu values sealed again under master key '%s', "
	       "%lu already under it, %lu unreadable and %lu of unknown providers left as they were\n",
	       rc == GK_OK ? "complete" : "INCOMPLETE", r->hashes, r->resealed, kid, r->current,
	       r->unreadable, r->unknown);
	if (rc != GK_OK)
		printf("rekey: keep the old master keys in the file and run rekey again once Redis "
		       "answers\n");
}

static int cmd_rekey(int argc, char **argv)
{
	struct rekey_report r;
	struct config config;
	struct app app;
	int rc;

	(void)argv;
	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (app_load_for_command(&config, &app) != GK_OK)
		return 1;
	rc = rekey_all(&app, &r);
	report_rekey(rc, &r, keyring_current(&app.keyring)->kid);
	app_release(&app);
	return rc == GK_OK ? 0 : 1;
}

static int parse_serve_options(int argc, char **argv, struct serve_options *opt)
{
	long long n;
	char why[96];

	opt->listen = NULL;
	opt->workers = -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			opt->listen = argv[++i];
		} else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
			if (num_parse(argv[++i], 0, CONFIG_WORKERS_MAX, &n, why, sizeof(why)) != GK_OK) {
				fprintf(stderr, "gofannon-keys: --workers %s\n", why);
				return GK_ERR;
			}
			opt->workers = (int)n;
		} else {
			usage(stderr);
			return GK_ERR;
		}
	}
	return GK_OK;
}

/* The socket to serve: fd 0 from spawn-fcgi, else the one systemd passed,
 * else --listen. */
static int find_listener(const struct serve_options *opt)
{
	char err[256];
	int fd;

	if (fcgi_is_listener(STDIN_FILENO))
		return STDIN_FILENO;
	fd = systemd_listen_fd(err, sizeof(err));
	if (fd == -2) {
		log_event(LOG_ERROR, "socket_activation_failed", "error=\"%s\"", err);
		return -1;
	}
	if (fd >= 0) {
		if (fcgi_is_listener(fd))
			return fd;
		log_event(LOG_ERROR, "socket_activation_failed",
			  "error=\"fd %d from systemd is not a listening stream socket\" "
			  "hint=\"the .socket unit needs ListenStream= and Accept=no\"",
			  fd);
		return -1;
	}
	if (!opt->listen) {
		log_event(LOG_ERROR, "no_listen_socket",
			  "hint=\"run under spawn-fcgi -n, systemd socket activation, or pass --listen "
			  "PATH|HOST:PORT\"");
		return -1;
	}
	fd = fcgi_listen(opt->listen, LISTEN_BACKLOG);
	if (fd < 0) {
		char spec[128];

		log_escape(opt->listen, spec, sizeof(spec));
		log_event(LOG_ERROR, "listen_failed", "listen=\"%s\" error=\"%s\"", spec, strerror(errno));
	}
	return fd;
}

static int cmd_serve(int argc, char **argv)
{
	struct serve_options opt;
	struct config config;
	struct app app;
	int listen_fd, rc;

	if (parse_serve_options(argc, argv, &opt) != GK_OK)
		return 2;
	/* Before any worker is forked, as libcurl requires. */
	if (llm_global_init() != GK_OK) {
		log_event(LOG_ERROR, "startup_failed", "error=\"unable to initialise libcurl\"");
		return 1;
	}
	if (app_load_for_command(&config, &app) != GK_OK) {
		llm_global_cleanup();
		return 1;
	}
	/* Each worker fills its own from its first connection on; the
	 * master serves nothing unless it is the only process. */
	if (config.key_cache && keystore_cache_enable(&app.store) != GK_OK)
		log_event(LOG_WARN, "key_cache_off", "error=\"out of memory\"");
	/* --workers wins over GOFANNON_WORKERS. */
	if (opt.workers >= 0)
		config.workers = opt.workers;
	if (dumpable_allowed() == 1)
		log_event(LOG_WARN, "core_dumps_allowed",
			  "hint=\"GOFANNON_ALLOW_CORE_DUMPS=1: a core file or a debugger attached to this "
			  "service sees the master keys and users' keys; unset it when done\"");
	listen_fd = find_listener(&opt);
	if (listen_fd < 0) {
		app_release(&app);
		llm_global_cleanup();
		return 1;
	}
	log_event(LOG_INFO, "started", "version=%s providers=%zu master_keys=%zu", PACKAGE_VERSION,
		  app.registry.count, app.keyring.count);
	rc = supervisor_run(&app, listen_fd);
	log_event(rc == 0 ? LOG_INFO : LOG_ERROR, "stopped", "status=%d", rc);
	app_release(&app);
	llm_global_cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	char err[256];

	/* First of all: every command handles keys (see dumpable.h). */
	if (dumpable_restrict(err, sizeof(err)) != GK_OK) {
		log_event(LOG_ERROR, "startup_failed", "error=\"%s\"", err);
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "gofannon-keys: unable to initialise libsodium\n");
		return 1;
	}
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rekey") == 0)
		return cmd_rekey(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "stats") == 0)
		return cmd_stats(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "user") == 0)
		return cmd_user(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return cmd_revoke(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("gofannon-keys %s%s\n", PACKAGE_VERSION, clock_test_hooks() ? " (test hooks)" : "");
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	return cmd_serve(argc, argv);
}
