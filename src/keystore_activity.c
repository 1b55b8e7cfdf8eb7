/* keystore_activity.c: the activity stream of keystore.h, one per user,
 * "<prefix>:users:{<user>}:activity": what happened to the user's keys,
 * capped near KEYSTORE_ACTIVITY_MAXLEN entries by XADD itself. */
#include "keystore.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "keystore_internal.h"
#include "status.h"

#define ACTIVITY_SUFFIX ":activity"

const char *const keystore_event_names[KEYSTORE_EVENT_FIELDS] = { "at", "action", "provider", "source",
								  "by", "client", "result",   "status" };

int keystore_activity_key(const struct keystore *ks, const char *user, char *out, size_t len)
{
	return keystore_user_name(ks, user, ACTIVITY_SUFFIX, out, len);
}

/* The members of ev in the order of keystore_event_names. */
static void event_values(const struct keystore_event *ev, const char *v[KEYSTORE_EVENT_FIELDS])
{
	v[0] = ev->at;
	v[1] = ev->action;
	v[2] = ev->provider;
	v[3] = ev->source;
	v[4] = ev->by;
	v[5] = ev->client;
	v[6] = ev->result;
	v[7] = ev->status;
}

int keystore_activity_argv(const char *key, const struct keystore_event *ev, const char **argv)
{
	const char *v[KEYSTORE_EVENT_FIELDS];
	int argc = 0;

	event_values(ev, v);
	argv[argc++] = "XADD";
	argv[argc++] = key;
	/* "~": Redis trims whole nodes of the stream, cheaply; a few more than
	 * the cap may stay. */
	argv[argc++] = "MAXLEN";
	argv[argc++] = "~";
	argv[argc++] = GK_STR(KEYSTORE_ACTIVITY_MAXLEN);
	argv[argc++] = "*";
	for (int i = 0; i < KEYSTORE_EVENT_FIELDS; i++) {
		if (!v[i])
			continue;
		argv[argc++] = keystore_event_names[i];
		argv[argc++] = v[i];
	}
	return argc;
}

int keystore_activity_add(struct keystore *ks, const char *user, const struct keystore_event *ev)
{
	char key[KEY_NAME_MAX];
	const char *argv[KEYSTORE_XADD_ARGS];
	redisReply *reply;
	int argc;

	if (keystore_activity_key(ks, user, key, sizeof(key)) != GK_OK)
		return GK_NOMEM;
	argc = keystore_activity_argv(key, ev, argv);
	reply = keystore_command(ks, argc, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	freeReplyObject(reply);
	return keystore_wait_replicas(ks);
}

static int is_string(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING;
}

/* The index of a field name in keystore_event_names, or -1. */
static int event_field(const redisReply *name)
{
	for (int i = 0; i < KEYSTORE_EVENT_FIELDS; i++)
		if (strlen(keystore_event_names[i]) == name->len &&
		    memcmp(keystore_event_names[i], name->str, name->len) == 0)
			return i;
	return -1;
}

/* One [id, [field, value, ...]] element into e; fields this service does
 * not know are left. */
static int parse_entry(const redisReply *r, struct arena *arena, struct keystore_entry *e, const char **why)
{
	const redisReply *fields;

	memset(e, 0, sizeof(*e));
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !is_string(r->element[0]) ||
	    r->element[0]->len > KEYSTORE_STREAM_ID_MAX || !r->element[1] ||
	    r->element[1]->type != REDIS_REPLY_ARRAY || r->element[1]->elements % 2 != 0) {
		*why = "an entry that is not an id and field value pairs";
		return GK_ERR;
	}
	fields = r->element[1];
	if (keystore_copy_string(arena, r->element[0], &e->id, NULL) != GK_OK)
		return GK_NOMEM;
	for (size_t i = 0; i < fields->elements; i += 2) {
		int f;

		if (!is_string(fields->element[i]) || !is_string(fields->element[i + 1])) {
			*why = "a field or value that is not a string";
			return GK_ERR;
		}
		f = event_field(fields->element[i]);
		if (f >= 0 &&
		    keystore_copy_string(arena, fields->element[i + 1], &e->value[f], NULL) != GK_OK)
			return GK_NOMEM;
	}
	return GK_OK;
}

int keystore_activity_parse(const redisReply *reply, struct arena *arena, size_t max,
			    struct keystore_entry *out, size_t *count, const char **why)
{
	*count = 0;
	if (!reply || reply->type != REDIS_REPLY_ARRAY) {
		*why = "not an array";
		return GK_ERR;
	}
	if (reply->elements > max) {
		*why = "more entries than asked for";
		return GK_ERR;
	}
	for (size_t i = 0; i < reply->elements; i++) {
		int rc = parse_entry(reply->element[i], arena, &out[i], why);

		if (rc != GK_OK) {
			*count = 0;
			return rc;
		}
	}
	*count = reply->elements;
	return GK_OK;
}

/* 1 for the id 0-0 however many zeros spell it: nothing is older, and
 * Redis refuses "(0-0" as the start of an XREVRANGE with an error. */
static int is_zero_id(const char *id)
{
	id += strspn(id, "0");
	if (*id++ != '-')
		return 0;
	id += strspn(id, "0");
	return *id == '\0';
}

int keystore_activity_read(struct keystore *ks, struct arena *arena, const char *user, const char *before,
			   size_t max, struct keystore_entry *out, size_t *count)
{
	char key[KEY_NAME_MAX], start[KEYSTORE_STREAM_ID_MAX + 2], n[24];
	/* "(" makes the start exclusive (Redis 6.2): the page after an entry */
	const char *argv[6] = { "XREVRANGE", key, start, "-", "COUNT", n };
	redisReply *reply;
	const char *why;
	int rc;

	*count = 0;
	if (before && is_zero_id(before))
		return GK_OK;
	if (keystore_activity_key(ks, user, key, sizeof(key)) != GK_OK ||
	    keystore_fits(before ? snprintf(start, sizeof(start), "(%s", before)
				 : snprintf(start, sizeof(start), "+"),
			  sizeof(start)) != GK_OK)
		return GK_NOMEM;
	snprintf(n, sizeof(n), "%zu", max);
	reply = keystore_command(ks, 6, argv, NULL);
	if (!reply)
		return GK_UNAVAILABLE;
	rc = keystore_activity_parse(reply, arena, max, out, count, &why);
	if (rc == GK_ERR)
		rc = keystore_unexpected_reply(ks, "XREVRANGE", reply, why);
	freeReplyObject(reply);
	return rc;
}
