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

/* Copies s into out (size len) as a value that is safe inside a quoted
 * log field, one that cannot end the field, start a line, or make the line
 * read differently from what it holds:
 *
 *   " and \                      \" and \\
 *   bytes 0x00-0x1f, 0x7f        \xNN   (two lower-case hex digits)
 *   a byte that is not part of
 *   well-formed UTF-8            \xNN   (each such byte)
 *   C1 controls U+0080-U+009F,
 *   bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E,
 *   U+2066-U+2069, and the line and paragraph separators U+2028, U+2029
 *                                \u{XXXX} (four upper-case hex digits)
 *
 * Everything else, printable ASCII and other well-formed UTF-8, is copied
 * as it is. A value that does not fit is cut after a whole character or a
 * whole escape and ends in the mark \... ; read left to right, escaping
 * never writes a backslash followed by a dot, so a cut value is never
 * mistaken for a whole one, whatever it held. A value of n bytes is kept
 * whole when len is at least LOG_ESCAPE_SIZE(n). */
#define LOG_TRUNCATED "\\..."
#define LOG_ESCAPE_SIZE(n) (4 * (n) + 1)
void log_escape(const char *s, char *out, unsigned len);

#endif
