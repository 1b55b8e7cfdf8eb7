#include "redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "status.h"

/* Parses a decimal number in [min, max] from s[0..len). */
static int parse_number(const char *s, size_t len, long min, long max, long *out)
{
	long n = 0;

	if (len == 0 || len > 9)
		return GK_ERR;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return GK_ERR;
		n = n * 10 + (s[i] - '0');
	}
	if (n < min || n > max)
		return GK_ERR;
	*out = n;
	return GK_OK;
}

static int copy_part(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		return GK_ERR;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return GK_OK;
}

/* The value of a hex digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies a user or password percent-decoded, as URLs carry '@', ':' and '/'
 * in them ("p%40ss" is "p@ss"). A malformed escape or a NUL is an error. */
static int copy_decoded(char *dst, size_t cap, const char *src, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			int hi = i + 2 < len ? hex_value(src[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(src[i + 2]) : -1;

			if (lo < 0 || (hi == 0 && lo == 0))
				return GK_ERR;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return GK_ERR;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return GK_OK;
}

/* "user:password@" or "password@" (then user is empty) at *p, before end;
 * *p is moved past it. None is GK_OK. */
static int parse_userinfo(const char **p, const char *end, struct redis_target *out, char *err, size_t errlen)
{
	const char *at = memchr(*p, '@', (size_t)(end - *p));
	const char *colon;

	if (!at)
		return GK_OK;
	colon = memchr(*p, ':', (size_t)(at - *p));
	if (colon) {
		if (copy_decoded(out->user, sizeof(out->user), *p, (size_t)(colon - *p)) != GK_OK ||
		    copy_decoded(out->password, sizeof(out->password), colon + 1, (size_t)(at - colon - 1)) !=
			    GK_OK)
			return set_error(err, errlen,
					 "Redis URL user or password is too long or badly %%-encoded");
	} else if (copy_decoded(out->password, sizeof(out->password), *p, (size_t)(at - *p)) != GK_OK) {
		return set_error(err, errlen, "Redis URL password is too long or badly %%-encoded");
	}
	*p = at + 1;
	return GK_OK;
}

static int parse_tcp(const char *p, struct redis_target *out, char *err, size_t errlen)
{
	const char *end = p + strlen(p);
	const char *slash, *colon;
	long n;

	slash = memchr(p, '/', (size_t)(end - p));
	if (!slash)
		slash = end;
	if (parse_userinfo(&p, slash, out, err, errlen) != GK_OK)
		return GK_ERR;
	colon = memrchr(p, ':', (size_t)(slash - p));
	if (colon && p[0] != '[') {
		if (parse_number(colon + 1, (size_t)(slash - colon - 1), 1, 65535, &n) != GK_OK)
			return set_error(err, errlen, "Redis URL port must be a number from 1 to 65535");
		out->port = (int)n;
	} else {
		colon = slash;
	}
	if (colon == p || copy_part(out->host, sizeof(out->host), p, (size_t)(colon - p)) != GK_OK)
		return set_error(err, errlen, "Redis URL needs a host");
	if (slash < end && slash + 1 < end) {
		if (parse_number(slash + 1, (size_t)(end - slash - 1), 0, 1 << 20, &n) != GK_OK)
			return set_error(err, errlen, "Redis URL database must be a number");
		out->db = (int)n;
	}
	return GK_OK;
}

static int parse_unix(const char *p, struct redis_target *out, char *err, size_t errlen)
{
	const char *end = p + strlen(p);
	const char *query;
	long n;

	if (*p != '/' && parse_userinfo(&p, end, out, err, errlen) != GK_OK)
		return GK_ERR;
	query = strchr(p, '?');
	if (!query)
		query = end;
	if (*p != '/' || copy_part(out->path, sizeof(out->path), p, (size_t)(query - p)) != GK_OK)
		return set_error(err, errlen,
				 "Redis socket path must be absolute and shorter than 108 bytes");
	if (query < end) {
		if (strncmp(query, "?db=", 4) != 0 ||
		    parse_number(query + 4, (size_t)(end - query - 4), 0, 1 << 20, &n) != GK_OK)
			return set_error(err, errlen, "Redis URL query must be ?db=N");
		out->db = (int)n;
	}
	return GK_OK;
}

/* One "host[:port]" (an IPv6 address in brackets) of a sentinel list. */
static int parse_address(const char *p, const char *end, struct redis_address *out)
{
	const char *colon = NULL, *host_end;
	long n;

	if (p < end && *p == '[') {
		host_end = memchr(p, ']', (size_t)(end - p));
		if (!host_end || (host_end + 1 < end && host_end[1] != ':'))
			return GK_ERR;
		p++;
		colon = host_end + 1 < end ? host_end + 1 : NULL;
	} else {
		colon = memrchr(p, ':', (size_t)(end - p));
		host_end = colon ? colon : end;
	}
	out->port = REDIS_SENTINEL_PORT;
	if (colon) {
		if (parse_number(colon + 1, (size_t)(end - colon - 1), 1, 65535, &n) != GK_OK)
			return GK_ERR;
		out->port = (int)n;
	}
	if (host_end == p || memchr(p, '@', (size_t)(host_end - p)))
		return GK_ERR;
	return copy_part(out->host, sizeof(out->host), p, (size_t)(host_end - p));
}

static int parse_sentinel_list(const char *p, const char *end, struct redis_target *out, char *err,
			       size_t errlen)
{
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));

		if (!comma)
			comma = end;
		if (out->sentinel_count == REDIS_SENTINELS_MAX)
			return set_error(err, errlen, "Redis URL lists more than %d sentinels",
					 REDIS_SENTINELS_MAX);
		if (parse_address(p, comma, &out->sentinels[out->sentinel_count]) != GK_OK)
			return set_error(err, errlen,
					 "Redis URL sentinel %d must be host or host:port with a port from 1 "
					 "to 65535",
					 out->sentinel_count + 1);
		out->sentinel_count++;
		p = comma + 1;
	}
	return GK_OK;
}

/* A master name as Sentinel configurations use them. */
static int valid_master_name(const char *p, size_t len)
{
	if (len == 0 || len >= REDIS_MASTER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)p[i]) && !strchr("._-", p[i]))
			return 0;
	return 1;
}

static int parse_sentinel(const char *p, struct redis_target *out, char *err, size_t errlen)
{
	const char *end = p + strlen(p);
	const char *slash = memchr(p, '/', (size_t)(end - p));
	const char *name, *name_end;
	long n;

	if (!slash)
		return set_error(err, errlen,
				 "Redis URL needs the master name: redis-sentinel://HOSTS/MASTER");
	if (parse_userinfo(&p, slash, out, err, errlen) != GK_OK ||
	    parse_sentinel_list(p, slash, out, err, errlen) != GK_OK)
		return GK_ERR;
	name = slash + 1;
	name_end = memchr(name, '/', (size_t)(end - name));
	if (!name_end)
		name_end = end;
	if (!valid_master_name(name, (size_t)(name_end - name)))
		return set_error(err, errlen,
				 "Redis URL master name must be 1 to %d letters, digits, '.', '_' or '-'",
				 REDIS_MASTER_NAME_MAX - 1);
	memcpy(out->master_name, name, (size_t)(name_end - name));
	out->master_name[name_end - name] = '\0';
	if (name_end < end && name_end + 1 < end) {
		if (parse_number(name_end + 1, (size_t)(end - name_end - 1), 0, 1 << 20, &n) != GK_OK)
			return set_error(err, errlen, "Redis URL database must be a number");
		out->db = (int)n;
	}
	return GK_OK;
}

int redis_url_parse(const char *url, struct redis_target *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->port = 6379;
	if (strncmp(url, "redis://", 8) == 0)
		return parse_tcp(url + 8, out, err, errlen);
	if (strncmp(url, "unix://", 7) == 0)
		return parse_unix(url + 7, out, err, errlen);
	if (strncmp(url, "redis-sentinel://", 17) == 0)
		return parse_sentinel(url + 17, out, err, errlen);
	return set_error(err, errlen, "Redis URL must start with redis://, unix:// or redis-sentinel://");
}
