#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "status.h"

void clock_format_iso(time_t t, char out[CLOCK_ISO_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, CLOCK_ISO_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The number of the two digits at s (the caller checked they are digits). */
static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int clock_parse_iso(const char *s, time_t *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm = { 0 };
	char again[CLOCK_ISO_LEN + 1];

	if (strlen(s) != CLOCK_ISO_LEN)
		return GK_ERR;
	for (size_t i = 0; i < CLOCK_ISO_LEN; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return GK_ERR;
	tm.tm_year = two_digits(s) * 100 + two_digits(s + 2) - 1900;
	tm.tm_mon = two_digits(s + 5) - 1;
	tm.tm_mday = two_digits(s + 8);
	tm.tm_hour = two_digits(s + 11);
	tm.tm_min = two_digits(s + 14);
	tm.tm_sec = two_digits(s + 17);
	*t = timegm(&tm);
	/* timegm turns 2026-02-30 into March 2: a date that does not come
	 * back the same is refused */
	clock_format_iso(*t, again);
	return strcmp(again, s) == 0 ? GK_OK : GK_ERR;
}

#ifdef GK_TEST_HOOKS
static int parse_test_value(const char *s, time_t *t)
{
	long long secs;

	if (clock_parse_iso(s, t) == GK_OK)
		return GK_OK;
	if (num_parse(s, 0, 253402300799LL, &secs, NULL, 0) != GK_OK)
		return GK_ERR;
	*t = (time_t)secs;
	return GK_OK;
}

static int test_now(time_t *t)
{
	const char *value = getenv("GOFANNON_TEST_NOW");
	char line[64] = "";
	FILE *f;

	if (!value || !*value)
		return GK_ERR;
	if (value[0] != '/')
		return parse_test_value(value, t);
	f = fopen(value, "r");
	if (!f)
		return GK_ERR;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return parse_test_value(line, t);
}

int clock_test_hooks(void)
{
	return 1;
}
#else
static int test_now(time_t *t)
{
	(void)t;
	return GK_ERR;
}

int clock_test_hooks(void)
{
	return 0;
}
#endif

time_t clock_now(void)
{
	time_t t;

	if (test_now(&t) == GK_OK)
		return t;
	return time(NULL);
}

long long clock_now_ms(void)
{
	struct timespec ts;
	time_t t;

	if (test_now(&t) == GK_OK)
		return (long long)t * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
