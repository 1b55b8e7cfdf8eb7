/* exchange.c: checks an API request's caller and body, and gives handlers
 * the replies and lookups they share (exchange.h). */
#include "exchange.h"

#include <string.h>
#include <time.h>

#include "activity.h"
#include "body.h"
#include "cors.h"
#include "identity.h"
#include "jwt.h"
#include "keylife.h"
#include "log.h"
#include "status.h"

/* Provider ids are echoed in errors only this far, so a key pasted into a
 * path is never sent back whole. */
#define ECHO_MAX 40

/* Cap of a reply written with jsonw: 64 providers with long descriptions. */
#define REPLY_MAX (256 * 1024)

static int changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Refuses a request for want of a usable bearer token. Missing or not,
 * the challenge is the same (docs/api.md): a front end that lost its token
 * and one whose token expired both have to get a new one. */
static int token_refused(struct exchange *ex, const char *reason, int presented)
{
	log_event(presented ? LOG_WARN : LOG_INFO, "token_refused", "reason=%s", reason);
	http_fail(ex->resp, 401, "Not authenticated");
	http_header_add(ex->resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
	return GK_ERR;
}

/* The user a verified bearer token names. Only asked when tokens are
 * configured and nginx set no identity: a token never overrides one nginx
 * has already established. */
static int token_user(struct exchange *ex, const char **user)
{
	const struct config *cfg = ex->app->config;
	struct jwt_policy policy = { cfg->jwt_issuer, cfg->jwt_audience, cfg->jwt_user_claim };
	time_t now = time(NULL);
	const char *token, *reason;
	size_t len;
	char *found;

	if (!jwt_bearer(ex->req->authorization, &token, &len))
		return token_refused(ex, "missing", 0);
	found = arena_alloc(ex->req->arena, JWT_USER_MAX + 1);
	if (!found)
		return http_fail(ex->resp, 500, "Out of memory");
	if (jwt_verify(token, len, app_token_keys(ex->app, now), &policy, now, found, JWT_USER_MAX + 1,
		       &reason) != GK_OK)
		return token_refused(ex, reason, 1);
	*user = found;
	return GK_OK;
}

static int tokens_configured(const struct config *cfg)
{
	return cfg->jwt_keys_file != NULL;
}

static int check_identity(struct exchange *ex)
{
	const char *why = NULL;
	const char *user = ex->req->user;

	if ((!user || !*user) && tokens_configured(ex->app->config) && token_user(ex, &user) != GK_OK)
		return GK_ERR;
	switch (identity_check(user, &why)) {
	case IDENTITY_OK:
		ex->user = user;
		ex->req->user = user; /* the request's log line names who it was */
		return GK_OK;
	case IDENTITY_MISSING:
		return http_fail(ex->resp, 401, "Not authenticated");
	case IDENTITY_INVALID:
		break;
	}
	return http_fail(ex->resp, 400, why);
}

int exchange_check_caller(struct exchange *ex)
{
	if (ex->route->needs_identity && check_identity(ex) != GK_OK)
		return GK_ERR;
	if (changes_state(ex->req->method) &&
	    !http_origin_allowed(ex->req->origin, ex->req->scheme, ex->req->host,
				 ex->app->config->allowed_origins))
		return http_fail(ex->resp, 403, "Origin not allowed");
	return GK_OK;
}

/* Whoever asks and with no identity, since browsers send preflights
 * without credentials. An unlisted origin gets the 204 without CORS
 * headers, which tells its page nothing and makes the browser refuse the
 * real request. */
void exchange_preflight(struct exchange *ex)
{
	const char *allow = arena_printf(ex->req->arena, "%s, OPTIONS", ex->route->allow);

	if (!allow) {
		http_fail(ex->resp, 500, "Out of memory");
		return;
	}
	ex->resp->status = 204;
	if (http_header_add(ex->resp, "Allow", allow) != GK_OK ||
	    cors_preflight_headers(ex->resp, ex->req->origin, ex->app->config->allowed_origins,
				   ex->route->allow) != GK_OK)
		http_fail(ex->resp, 500, "Too many reply headers");
}

int exchange_read_json(struct exchange *ex, int body_optional, struct json_object **root)
{
	size_t len;
	char *text;
	const char *why;

	*root = NULL;
	if (http_body_length(ex->req, ex->resp, &len) != GK_OK)
		return GK_ERR;
	if (len == 0 && body_optional)
		return GK_OK;
	if (!http_content_type_is_json(ex->req->content_type))
		return http_fail(ex->resp, 415, "Content-Type must be application/json");
	if (http_read_body(ex->req, ex->resp, len, &text) != GK_OK)
		return GK_ERR;
	if (body_parse_object(text, len, root, &why) != GK_OK)
		return http_fail(ex->resp, 422, why);
	return GK_OK;
}

void exchange_writer(struct exchange *ex, struct jsonw *w)
{
	jsonw_init(w, ex->req->arena, REPLY_MAX);
}

int exchange_reply(struct exchange *ex, struct jsonw *w)
{
	size_t len;
	const char *body = jsonw_finish(w, &len);

	if (!body)
		return http_fail(ex->resp, 500, "Out of memory");
	return http_ok_raw(ex->resp, body, len);
}

int exchange_store_unavailable(struct exchange *ex)
{
	return http_fail(ex->resp, 503, "Key store unavailable");
}

int exchange_store_failed(struct exchange *ex, int rc, const char *detail)
{
	if (rc == GK_UNAVAILABLE)
		return exchange_store_unavailable(ex);
	if (rc == GK_UNCERTAIN)
		return http_fail(ex->resp, 503,
				 "Key store unavailable: the write may or may not have been applied");
	return http_fail(ex->resp, 500, detail);
}

int exchange_unknown_provider(struct exchange *ex, const char *id)
{
	size_t len = strlen(id);

	return http_failf(ex->resp, ex->req->arena, 400, "Unknown provider: %.*s%s",
			  (int)(len > ECHO_MAX ? ECHO_MAX : len), id, len > ECHO_MAX ? "..." : "");
}

const struct provider *exchange_path_provider(struct exchange *ex)
{
	const struct provider *p = registry_find(&ex->app->registry, ex->route->provider);

	if (!p)
		exchange_unknown_provider(ex, ex->route->provider);
	return p;
}

int exchange_require_user_keys(struct exchange *ex, const struct provider *p)
{
	if (p->user_key_field)
		return GK_OK;
	return http_failf(ex->resp, ex->req->arena, 400,
			  "Provider %s does not take user keys; it uses the system-wide key only", p->id);
}

struct stored_key *exchange_fetch_keys(struct exchange *ex)
{
	struct app *app = ex->app;
	struct stored_key *stored = arena_alloc(ex->req->arena, app->registry.count * sizeof(*stored));
	int rc;

	if (!stored) {
		http_fail(ex->resp, 500, "Out of memory");
		return NULL;
	}
	rc = keylife_fetch(&app->store, ex->req->arena, ex->user, &app->registry,
			   activity_client(ex->req->remote_addr), stored);
	if (rc != GK_OK) {
		exchange_store_failed(ex, rc, "Unable to read the key store");
		return NULL;
	}
	ex->stored = stored;
	return stored;
}

int exchange_resolve(struct exchange *ex, const struct provider *p, struct effective_key *eff)
{
	struct stored_key *stored = exchange_fetch_keys(ex);
	size_t index = (size_t)(p - ex->app->registry.providers);

	if (!stored)
		return GK_ERR;
	resolve_effective_key(&ex->app->keyring, &ex->app->envkeys, ex->user, p, &stored[index], eff);
	return GK_OK;
}
