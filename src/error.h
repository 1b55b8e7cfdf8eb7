/* error.h: error messages for the caller's buffer.
 *
 * Loaders (configuration, registry, keyring, env file, Redis URL) report
 * what failed into a buffer their caller owns, which turns it into a log
 * line or an exit message. The message says what failed, quotes the subject
 * where that is safe, and never holds key material. */
#ifndef GK_ERROR_H
#define GK_ERROR_H

#include <stddef.h>

/* Formats into err (truncated to errlen) and returns GK_ERR, so a loader
 * can `return set_error(err, errlen, "unable to open '%s'", path);`. */
int set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Puts the formatted prefix in front of the message already in err (both
 * cut to errlen) and returns GK_ERR: a file loader names the file around
 * its parser's message with `error_prefix(err, errlen, "'%s': ", path)`. */
int error_prefix(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A numeric constant as a string literal, so a fixed message quotes the
 * limit itself: "at most " GK_STR(API_KEY_MAX) " characters". */
#define GK_STR_(x) #x
#define GK_STR(x) GK_STR_(x)

#endif
