/* cmd_stats.h: gofannon-keys stats, the operator's view of every user at
 * once: per provider, how many users have a key, how many of those keys
 * are older than 90 days, and what the system-wide key spent this UTC
 * month, read from Redis with SCAN (keystore.h), never KEYS. Needs the
 * service's Redis settings and registry, not the master key: it opens no
 * key, and prints no key, mask or user id. */
#ifndef GK_CMD_STATS_H
#define GK_CMD_STATS_H

#define STATS_OLD_DAYS 90

/* argv[0] is "stats". Returns the exit status: 0, 1 (Redis or the
 * configuration failed, said on stderr) or 2 (a wrong command line). */
int cmd_stats(int argc, char **argv);

#endif
