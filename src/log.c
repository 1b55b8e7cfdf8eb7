#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;

static const char *level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level)
{
	min_level = level;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_ERROR; i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void log_event(enum log_level level, const char *event, const char *fields, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t used;
	int n;

	if (level < min_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s pid=%ld event=%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)tv.tv_usec / 1000, level_names[level], (long)getpid(), event);
	used = n < 0 ? 0 : (size_t)n;
	if (fields && used < sizeof(line) - 2) {
		va_list ap;

		line[used++] = ' ';
		va_start(ap, fields);
		n = vsnprintf(line + used, sizeof(line) - used - 1, fields, ap);
		va_end(ap);
		if (n > 0)
			used += (size_t)n < sizeof(line) - used - 1 ? (size_t)n : sizeof(line) - used - 2;
	}
	if (used > sizeof(line) - 2)
		used = sizeof(line) - 2;
	line[used++] = '\n';
	/* One write per line, so lines from several workers never interleave. */
	if (write(STDERR_FILENO, line, used) < 0)
		return;
}

/* The length of the well-formed UTF-8 sequence at s (2 to 4) and its code
 * point in *cp; 0 when s does not start one (no overlongs, no surrogates,
 * nothing past U+10FFFF). A NUL is never a continuation byte, so this
 * never reads past the end of the string. */
static unsigned utf8_decode(const unsigned char *s, unsigned long *cp)
{
	unsigned n;
	unsigned long c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (unsigned k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[k] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Code points that change how a line reads without being seen. */
static int invisible_control(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
	       cp == 0x2029;
}

/* The escaped form of the character at s into unit (at least 9 bytes);
 * returns its length and sets *used to the bytes of s it stands for. */
static unsigned escape_one(const char *s, char *unit, unsigned *used)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;
	unsigned n;

	*used = 1;
	if (u[0] == '"' || u[0] == '\\') {
		unit[0] = '\\';
		unit[1] = (char)u[0];
		return 2;
	}
	if (u[0] >= 0x20 && u[0] < 0x7f) {
		unit[0] = (char)u[0];
		return 1;
	}
	if (u[0] < 0x80 || (n = utf8_decode(u, &cp)) == 0)
		return (unsigned)snprintf(unit, 9, "\\x%02x", u[0]);
	*used = n;
	if (invisible_control(cp))
		return (unsigned)snprintf(unit, 9, "\\u{%04lX}", cp);
	memcpy(unit, s, n);
	return n;
}

void log_escape(const char *s, char *out, unsigned len)
{
	static const char mark[] = LOG_TRUNCATED;
	unsigned o = 0, safe = 0;

	if (len == 0)
		return;
	while (s && *s) {
		char unit[9];
		unsigned used, n = escape_one(s, unit, &used);

		if (o + n >= len) {
			/* Cut: back to the last whole unit after which the mark fits. */
			if (sizeof(mark) > len) {
				o = 0;
				break;
			}
			memcpy(out + safe, mark, sizeof(mark) - 1);
			o = safe + (unsigned)sizeof(mark) - 1;
			break;
		}
		memcpy(out + o, unit, n);
		o += n;
		if (o + sizeof(mark) <= len)
			safe = o;
		s += used;
	}
	out[o] = '\0';
}
