/* clock.h: the wall clock of every dated decision the service makes (the
 * month usage is counted in, a key's expiry, when it was last used, the
 * times in a user's activity). Monotonic timing (timeouts, backoff) does
 * not go through here.
 *
 * A build configured with --enable-test-hooks reads GOFANNON_TEST_NOW on
 * every call, so the test suites can move the clock of a running service:
 * Unix seconds ("1767225600"), a UTC time ("2026-12-31T23:59:59Z"), or the
 * absolute path of a file holding either (re-read each time). An empty,
 * unset or unreadable value is the real clock. Any other build never reads
 * the variable. */
#ifndef GK_CLOCK_H
#define GK_CLOCK_H

#include <stddef.h>
#include <time.h>

#define CLOCK_ISO_LEN 20 /* "2026-11-28T22:41:02Z" */

/* Seconds since the epoch, UTC. */
time_t clock_now(void);

/* Milliseconds since the epoch. With a test clock, its second times 1000. */
long long clock_now_ms(void);

/* t as "YYYY-MM-DDTHH:MM:SSZ" in out. */
void clock_format_iso(time_t t, char out[CLOCK_ISO_LEN + 1]);

/* Reads "YYYY-MM-DDTHH:MM:SSZ" (exactly that form) into *t: GK_OK or
 * GK_ERR. */
int clock_parse_iso(const char *s, time_t *t);

/* 1 in a build with test hooks, else 0 (gofannon-keys version says so). */
int clock_test_hooks(void);

#endif
