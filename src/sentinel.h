/* sentinel.h: finding the Redis master through Redis Sentinel.
 *
 * Follows Redis's "Sentinel client spec": the sentinels of the URL are
 * asked in turn, each with a short connect and command timeout, for
 * SENTINEL get-master-addr-by-name MASTER; the first one that answers with
 * an address is asked first the next time. A sentinel that cannot be
 * reached, fails AUTH, times out or does not know the master is skipped.
 * The caller connects to the address and checks with ROLE that it really
 * is the master (sentinel_reply_is_master), as a sentinel may still name a
 * master that has just been demoted.
 *
 * The reply checks are pure functions of a hiredis reply, unit-tested and
 * fuzzed (tests/fuzz/fuzz_sentinel.c). sentinel_ask does network I/O and
 * holds no state but the index it is given. */
#ifndef GK_SENTINEL_H
#define GK_SENTINEL_H

#include <stddef.h>

#include "redis_url.h"

struct redisReply;

/* The address in a get-master-addr-by-name reply: a two-element array of
 * an IP (or host name) and a port. Returns GK_OK, or GK_ERR for a nil
 * reply (the sentinel does not know the master) or anything else. */
int sentinel_reply_address(const struct redisReply *reply, struct redis_address *out);

/* 1 when a ROLE reply says "master", else 0 ("slave", "sentinel", an
 * error, anything malformed). */
int sentinel_reply_is_master(const struct redisReply *reply);

/* Asks the sentinels of t in turn, starting at *first (updated to the one
 * that answered), for the master's address. Returns GK_OK with *out set,
 * or GK_UNAVAILABLE with why saying what the last sentinel did (never a
 * password). */
int sentinel_ask(const struct redis_target *t, int timeout_ms, int *first, struct redis_address *out,
		 char *why, size_t whylen);

#endif
