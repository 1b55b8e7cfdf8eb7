/* activity.c: the activity entries and key_changed log lines of a user's
 * keys, and the activity page's query (activity.h). */
#include "activity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "num.h"
#include "status.h"

int activity_changes_key(const char *action)
{
	static const char *const changes[] = { "added", "replaced", "removed", "expired", "revoked" };

	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		if (strcmp(action, changes[i]) == 0)
			return 1;
	return 0;
}

const char *activity_source(const char *key_source)
{
	return key_source && strcmp(key_source, "env") == 0 ? "system" : "user";
}

const char *activity_client(const char *remote_addr)
{
	if (!remote_addr || strlen(remote_addr) > ACTIVITY_CLIENT_MAX)
		return "";
	return remote_addr;
}

void activity_log_change(const char *user, const struct keystore_event *ev)
{
	char name[LOG_ESCAPE_SIZE(IDENTITY_MAX)];

	if (!activity_changes_key(ev->action))
		return;
	log_escape(user, name, sizeof(name));
	log_event(LOG_INFO, "key_changed", "user=\"%s\" provider=%s action=%s by=%s", name, ev->provider,
		  ev->action, ev->by);
}

void activity_record(struct keystore *ks, const char *user, struct keystore_event *ev)
{
	char at[CLOCK_ISO_LEN + 1];
	int rc;

	if (!ev->at) {
		clock_format_iso(clock_now(), at);
		ev->at = at;
	}
	activity_log_change(user, ev);
	rc = keystore_activity_add(ks, user, ev);
	if (rc != GK_OK && rc != GK_UNCERTAIN)
		log_event(LOG_WARN, "activity_not_recorded", "provider=%s action=%s", ev->provider,
			  ev->action);
	if (ev->at == at)
		ev->at = NULL;
}

/* One decimal number of at most 20 digits that fits in 64 bits unsigned. */
static int valid_u64(const char *s, size_t len)
{
	char digits[21];
	char *end;

	if (len == 0 || len > 20)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	memcpy(digits, s, len);
	digits[len] = '\0';
	errno = 0;
	(void)strtoull(digits, &end, 10); /* only whether it overflows */
	return errno == 0 && *end == '\0';
}

int activity_valid_id(const char *s, size_t len)
{
	const char *dash = memchr(s, '-', len);

	return dash && valid_u64(s, (size_t)(dash - s)) && valid_u64(dash + 1, len - (size_t)(dash - s) - 1);
}

static int parse_limit(const char *v, size_t len, struct activity_page *page, char *why, size_t whylen)
{
	char text[8];

	if (len == 0 || len >= sizeof(text))
		goto bad;
	memcpy(text, v, len);
	text[len] = '\0';
	if (num_parse(text, 1, ACTIVITY_PAGE_MAX, &page->limit, NULL, 0) == GK_OK)
		return GK_OK;
bad:
	snprintf(why, whylen, "limit must be a whole number from 1 to %d", ACTIVITY_PAGE_MAX);
	return GK_ERR;
}

int activity_parse_page(const char *query, struct activity_page *page, char *why, size_t whylen)
{
	const char *p = query;

	page->limit = ACTIVITY_PAGE_DEFAULT;
	page->cursor[0] = '\0';
	while (p && *p) {
		size_t len = strcspn(p, "&"), name_len = strcspn(p, "=");
		const char *value = p + name_len + 1;
		size_t value_len = name_len < len ? len - name_len - 1 : 0;

		if (name_len > len)
			name_len = len;
		if (name_len == 5 && strncmp(p, "limit", 5) == 0) {
			if (parse_limit(value, name_len < len ? value_len : 0, page, why, whylen) != GK_OK)
				return GK_ERR;
		} else if (name_len == 6 && strncmp(p, "cursor", 6) == 0) {
			if (name_len == len || !activity_valid_id(value, value_len)) {
				snprintf(why, whylen, "cursor must be the cursor of a previous page");
				return GK_ERR;
			}
			memcpy(page->cursor, value, value_len);
			page->cursor[value_len] = '\0';
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return GK_OK;
}
