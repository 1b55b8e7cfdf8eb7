/* log.h: one line per event on stderr, as key=value pairs.
 *
 *   ts=2026-11-26T10:00:00.123Z level=info pid=123 event=request method=GET ...
 *
 * Callers pass only values that are safe to log: route patterns, provider
 * ids, user ids, statuses. Never key material, never a request body. */
#ifndef GK_LOG_H
#define GK_LOG_H

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
};

void log_set_level(enum log_level level);
/* 1 when events of this level are written, so a caller can skip building one. */
int log_enabled(enum log_level level);
int log_parse_level(const char *name, enum log_level *out);

/* fields is a printf format for the rest of the line (may be NULL). */
void log_event(enum log_level level, const char *event, const char *fields, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies s into out (size len) as a log-safe value: quotes, backslashes and
 * control characters escaped, cut at len - 1 bytes. */
void log_escape(const char *s, char *out, unsigned len);

#endif
