#include "sentinel.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "error.h"
#include "status.h"

/* The client spec asks for a short timeout per sentinel, "a few hundred
 * milliseconds": a dead sentinel must not cost the whole request. */
#define SENTINEL_TIMEOUT_MAX_MS 500

int sentinel_reply_address(const redisReply *reply, struct redis_address *out)
{
	const redisReply *ip, *port;
	long n = 0;

	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
		return GK_ERR;
	ip = reply->element[0];
	port = reply->element[1];
	if (ip->type != REDIS_REPLY_STRING || port->type != REDIS_REPLY_STRING || ip->len == 0 ||
	    ip->len >= sizeof(out->host) || memchr(ip->str, '\0', ip->len) || port->len == 0 || port->len > 5)
		return GK_ERR;
	for (size_t i = 0; i < port->len; i++) {
		if (port->str[i] < '0' || port->str[i] > '9')
			return GK_ERR;
		n = n * 10 + (port->str[i] - '0');
	}
	if (n < 1 || n > 65535)
		return GK_ERR;
	memcpy(out->host, ip->str, ip->len);
	out->host[ip->len] = '\0';
	out->port = (int)n;
	return GK_OK;
}

int sentinel_reply_is_master(const redisReply *reply)
{
	const redisReply *role;

	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
		return 0;
	role = reply->element[0];
	return (role->type == REDIS_REPLY_STRING || role->type == REDIS_REPLY_STATUS) && role->len == 6 &&
	       memcmp(role->str, "master", 6) == 0;
}

/* AUTH to a sentinel that requires it (GOFANNON_SENTINEL_PASSWORD). */
static int sentinel_auth(redisContext *c, const struct redis_address *s, const struct redis_target *t,
			 char *why, size_t whylen)
{
	const char *argv[3];
	int argc = 0, rc = GK_OK;
	redisReply *reply;

	if (!t->sentinel_password[0])
		return GK_OK;
	argv[argc++] = "AUTH";
	if (t->sentinel_user[0])
		argv[argc++] = t->sentinel_user;
	argv[argc++] = t->sentinel_password;
	reply = redisCommandArgv(c, argc, argv, NULL);
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		/* Redis's error text names no password; hiredis's neither. */
		set_error(why, whylen, "sentinel %s:%d: AUTH: %s", s->host, s->port,
			  reply ? reply->str : c->errstr);
		rc = GK_ERR;
	}
	if (reply)
		freeReplyObject(reply);
	return rc;
}

/* One sentinel: connect, AUTH, ask. */
static int ask_one(const struct redis_address *s, const struct redis_target *t, struct timeval tv,
		   struct redis_address *out, char *why, size_t whylen)
{
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", t->master_name };
	redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
	redisReply *reply = NULL;
	int rc = GK_ERR;

	if (!c || c->err) {
		set_error(why, whylen, "sentinel %s:%d: %s", s->host, s->port,
			  c ? c->errstr : "out of memory");
		goto out;
	}
	if (redisSetTimeout(c, tv) != REDIS_OK) {
		set_error(why, whylen, "sentinel %s:%d: unable to set the timeout", s->host, s->port);
		goto out;
	}
	if (sentinel_auth(c, s, t, why, whylen) != GK_OK)
		goto out;
	reply = redisCommandArgv(c, 3, argv, NULL);
	if (!reply)
		set_error(why, whylen, "sentinel %s:%d: %s", s->host, s->port, c->errstr);
	else if (reply->type == REDIS_REPLY_ERROR)
		set_error(why, whylen, "sentinel %s:%d: %s", s->host, s->port, reply->str);
	else if (sentinel_reply_address(reply, out) != GK_OK)
		set_error(why, whylen, "sentinel %s:%d does not know master '%s'", s->host, s->port,
			  t->master_name);
	else
		rc = GK_OK;
out:
	if (reply)
		freeReplyObject(reply);
	if (c)
		redisFree(c);
	return rc;
}

int sentinel_ask(const struct redis_target *t, int timeout_ms, int *first, struct redis_address *out,
		 char *why, size_t whylen)
{
	int ms = timeout_ms < SENTINEL_TIMEOUT_MAX_MS ? timeout_ms : SENTINEL_TIMEOUT_MAX_MS;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	set_error(why, whylen, "no sentinel configured");
	if (*first < 0 || *first >= t->sentinel_count)
		*first = 0;
	for (int k = 0; k < t->sentinel_count; k++) {
		int i = (*first + k) % t->sentinel_count;

		if (ask_one(&t->sentinels[i], t, tv, out, why, whylen) == GK_OK) {
			*first = i;
			return GK_OK;
		}
	}
	return GK_UNAVAILABLE;
}
