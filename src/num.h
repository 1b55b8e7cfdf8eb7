/* num.h: the one checked parser of numbers written in text (environment
 * variables, command-line options, CGI parameters).
 *
 * A number is ASCII decimal digits, with a leading '-' only where min is
 * negative: no spaces, no '+', no base prefix, no trailing bytes, nothing
 * that overflows. strtol() takes all of those; this parser takes none. */
#ifndef GK_NUM_H
#define GK_NUM_H

#include <stddef.h>

/* Stores the number in *out when it lies in [min, max]: GK_OK. Otherwise
 * GK_ERR, *out untouched, and err (when not NULL) says what was wanted:
 * "must be a whole number from 1 to 65535", for the caller to prefix with
 * the name of what it parsed. */
int num_parse(const char *s, long long min, long long max, long long *out, char *err, size_t errlen);

#endif
