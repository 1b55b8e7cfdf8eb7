/* keylife.c: expiry, last use and rejection of a stored key (keylife.h). */
#include "keylife.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "activity.h"
#include "log.h"
#include "status.h"

int keylife_touch_due(const char *last_used_at, time_t now)
{
	time_t last;

	if (!last_used_at || clock_parse_iso(last_used_at, &last) != GK_OK)
		return 1;
	return now - last >= KEYSTORE_TOUCH_EVERY_S || now < last;
}

int keylife_expired(const char *expires_at, time_t now)
{
	time_t at;

	if (!expires_at)
		return 0;
	return clock_parse_iso(expires_at, &at) != GK_OK || now >= at;
}

int keylife_expires_soon(const char *expires_at, time_t now)
{
	time_t at;

	if (!expires_at || keylife_expired(expires_at, now) || clock_parse_iso(expires_at, &at) != GK_OK)
		return 0;
	return at - now <= (time_t)KEYLIFE_SOON_DAYS * KEYLIFE_DAY_S;
}

static int parse_expires_at(struct json_object *v, time_t now, char out[CLOCK_ISO_LEN + 1], char *why,
			    size_t whylen)
{
	time_t at;

	/* a NUL inside would hide what follows it from the parser */
	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v) ||
	    clock_parse_iso(json_object_get_string(v), &at) != GK_OK) {
		snprintf(why, whylen, "Field 'expiresAt' must be a UTC time as YYYY-MM-DDTHH:MM:SSZ");
		return GK_ERR;
	}
	if (at <= now) {
		snprintf(why, whylen, "Field 'expiresAt' must be in the future");
		return GK_ERR;
	}
	if (at - now > (time_t)KEYLIFE_DAYS_MAX * KEYLIFE_DAY_S) {
		snprintf(why, whylen, "Field 'expiresAt' must be at most %d days ahead", KEYLIFE_DAYS_MAX);
		return GK_ERR;
	}
	clock_format_iso(at, out);
	return GK_OK;
}

static int parse_expires_in_days(struct json_object *v, time_t now, char out[CLOCK_ISO_LEN + 1], char *why,
				 size_t whylen)
{
	int64_t days;

	/* an integer only: not 30.5, not "30", not true */
	days = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
	if (days < 1 || days > KEYLIFE_DAYS_MAX) {
		snprintf(why, whylen, "Field 'expiresInDays' must be a whole number from 1 to %d",
			 KEYLIFE_DAYS_MAX);
		return GK_ERR;
	}
	clock_format_iso(now + (time_t)days * KEYLIFE_DAY_S, out);
	return GK_OK;
}

/* The member called name, NULL when absent or null. */
static struct json_object *member(struct json_object *root, const char *name)
{
	struct json_object *v = NULL;

	if (!root || !json_object_object_get_ex(root, name, &v))
		return NULL;
	return v; /* json-c's null is a NULL object */
}

int keylife_parse_expiry(struct json_object *root, time_t now, char out[CLOCK_ISO_LEN + 1], char *why,
			 size_t whylen)
{
	struct json_object *at = member(root, "expiresAt"), *days = member(root, "expiresInDays");

	out[0] = '\0';
	if (at && days) {
		snprintf(why, whylen, "Give either 'expiresAt' or 'expiresInDays', not both");
		return GK_ERR;
	}
	if (at)
		return parse_expires_at(at, now, out, why, whylen);
	if (days)
		return parse_expires_in_days(days, now, out, why, whylen);
	return GK_OK;
}

/* Deletes the expired key of p (stored in sk), and reports it in sk as
 * none stored, expired at now. GK_CONFLICT when the key changed first. */
static int expire_one(struct keystore *ks, struct arena *arena, const char *user, const struct provider *p,
		      const char *client, const char *now, struct stored_key *sk)
{
	struct keystore_event ev = { now, "expired", p->id, "user", "user", client, NULL, NULL };
	int rc = keystore_expire(ks, user, p->user_key_field, sk->sealed, sk->sealed_len, &ev);

	/* GK_UNCERTAIN: Redis took it; the key has expired all the same */
	if (rc != GK_OK && rc != GK_UNCERTAIN)
		return rc;
	activity_log_change(user, &ev);
	memset(sk, 0, sizeof(*sk));
	sk->expired_at = arena_strndup(arena, now, strlen(now));
	return sk->expired_at ? GK_OK : GK_NOMEM;
}

int keylife_fetch(struct keystore *ks, struct arena *arena, const char *user, const struct registry *reg,
		  const char *client, struct stored_key *out)
{
	time_t now = clock_now();
	char iso[CLOCK_ISO_LEN + 1] = ""; /* now, once a key has expired */

	for (int attempt = 0; attempt < KEYLIFE_FETCH_ATTEMPTS; attempt++) {
		int rc = keystore_fetch(ks, arena, user, reg, out);

		for (size_t i = 0; i < reg->count && rc == GK_OK; i++) {
			if (!out[i].sealed || !keylife_expired(out[i].expires_at, now))
				continue;
			if (!iso[0])
				clock_format_iso(now, iso);
			rc = expire_one(ks, arena, user, &reg->providers[i], client, iso, &out[i]);
		}
		/* another request stored or deleted the key first: read again */
		if (rc != GK_CONFLICT)
			return rc;
	}
	log_event(LOG_WARN, "key_expiry_conflict", "attempts=%d", KEYLIFE_FETCH_ATTEMPTS);
	return GK_UNAVAILABLE;
}

void keylife_used(struct keystore *ks, const char *user, const struct provider *p,
		  const struct stored_key *sk)
{
	time_t now = clock_now();
	char iso[CLOCK_ISO_LEN + 1];
	int rc;

	if (!sk->sealed || !keylife_touch_due(sk->last_used_at, now))
		return;
	clock_format_iso(now, iso);
	rc = keystore_touch(ks, user, p->user_key_field, sk->sealed, sk->sealed_len, iso);
	/* GK_CONFLICT: replaced or removed meanwhile; the new key is unused */
	if (rc != GK_OK && rc != GK_UNCERTAIN && rc != GK_CONFLICT)
		log_event(LOG_WARN, "last_used_not_recorded", "provider=%s", p->id);
}

void keylife_rejected(struct keystore *ks, const char *user, const struct provider *p,
		      const struct stored_key *sk, long status, const char *client)
{
	char iso[CLOCK_ISO_LEN + 1], code[24];
	struct keystore_event ev = { iso, "rejected", p->id, "user", "user", client, NULL, code };
	int rc;

	if (!sk->sealed)
		return;
	clock_format_iso(clock_now(), iso);
	snprintf(code, sizeof(code), "%ld", status);
	rc = keystore_reject(ks, user, p->user_key_field, sk->sealed, sk->sealed_len, &ev);
	if (rc == GK_CONFLICT)
		log_event(LOG_INFO, "rejection_not_flagged",
			  "provider=%s reason=\"the key was replaced meanwhile\"", p->id);
	else if (rc != GK_OK && rc != GK_UNCERTAIN)
		log_event(LOG_WARN, "rejection_not_flagged", "provider=%s reason=\"key store unavailable\"",
			  p->id);
}
