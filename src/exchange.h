/* exchange.h: the checks every API request passes, and what its handler
 * shares with the others.
 *
 * The checks run in the order docs/api.md gives: route (404, 405, answered
 * by api.c), identity from nginx or a bearer token (401, 400), Origin (403);
 * then each handler's own: the body (413, 415, 422), the provider (400),
 * Redis (503). Every failure goes through http_fail(), so each error has its
 * status and a one-sentence detail. Every reply is written with jsonw
 * (exchange_reply); only http_fail()'s error body is a json-c object. */
#ifndef GK_EXCHANGE_H
#define GK_EXCHANGE_H

#include "app.h"
#include "http.h"
#include "jsonw.h"
#include "registry.h"
#include "resolve.h"
#include "router.h"

struct json_object;

/* One request being answered: who asks, for what, and the reply. */
struct exchange {
	struct app *app;
	struct http_request *req;
	struct http_response *resp;
	const struct route_result *route;
	const char *user;	   /* set by exchange_check_caller for routes that need it */
	struct stored_key *stored; /* the user's keys once exchange_fetch_keys read them */
};

/* Identity and Origin: GK_OK, or GK_ERR with the 401, 400 or 403 set. */
int exchange_check_caller(struct exchange *ex);

/* A CORS preflight: 204 with the methods the path serves, whoever asks. */
void exchange_preflight(struct exchange *ex);

/* Reads the JSON object body of a PUT or POST into *root (free with
 * body_free): 413, 415, 422 as docs/api.md orders them. With body_optional
 * an empty body is GK_OK with *root NULL. */
int exchange_read_json(struct exchange *ex, int body_optional, struct json_object **root);

/* Starts w for a reply; exchange_reply() answers 200 with what it wrote,
 * or 500 when it did not fit. */
void exchange_writer(struct exchange *ex, struct jsonw *w);
int exchange_reply(struct exchange *ex, struct jsonw *w);

/* 503: Redis did not answer. Always GK_ERR. */
int exchange_store_unavailable(struct exchange *ex);
/* The reply to a keystore call that failed with rc: 503 when Redis did
 * not answer (GK_UNAVAILABLE) or took a write too few replicas confirmed
 * (GK_UNCERTAIN: a failover may or may not keep it), else 500 with
 * detail (a constant: "Unable to ..."). Always GK_ERR. */
int exchange_store_failed(struct exchange *ex, int rc, const char *detail);
/* 400 naming id, cut so a key pasted as a provider is never echoed whole. */
int exchange_unknown_provider(struct exchange *ex, const char *id);
/* The provider named in the path, or NULL with the 400 set. */
const struct provider *exchange_path_provider(struct exchange *ex);
/* GK_OK when p takes user keys, else GK_ERR with the 400 set. */
int exchange_require_user_keys(struct exchange *ex, const struct provider *p);

/* The user's stored keys, one per registry provider in registry order, or
 * NULL with the 503 or 500 set. Keys that have expired are deleted by this
 * read and come back as none stored (keylife.h). Kept in ex->stored. */
struct stored_key *exchange_fetch_keys(struct exchange *ex);
/* Reads the user's keys and resolves p's effective key into *eff (wipe it
 * with effective_key_wipe); GK_ERR with the 503 or 500 set. */
int exchange_resolve(struct exchange *ex, const struct provider *p, struct effective_key *eff);

#endif
