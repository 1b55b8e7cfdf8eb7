"""The host application's session as the identity (issue 8, item 3):
nginx/gofannon-app.conf asks the application's GET /auth/me who a cookie
belongs to (auth_request + nginx's JavaScript module, no daemon), caches
the answer for 5 s, and passes the uid to the service. A stand-in
application (tests/gofannon_standin.py) checks the gofannon_sid cookie and
counts its calls."""

import time
import uuid

from gofannon_standin import API_HOST, UI_HOST, UI_ORIGIN, GofannonStandIn, app_site

STACK_OPTIONS = {"service_env": {"GOFANNON_ALLOWED_ORIGINS": UI_ORIGIN}}
CACHE_S = 5  # proxy_cache_valid in gofannon-app.conf
KEYS = "/users/me/api-keys"

APP = GofannonStandIn().start()


def site(stack):
    return app_site(stack, APP)


def call(stack, method, path, sid=None, headers=None, body=None, host=API_HOST):
    hdrs = {"Host": host, "Accept": "application/json"}
    if sid:
        hdrs["Cookie"] = "gofannon_sid=" + sid
    hdrs.update(headers or {})
    return stack.request(method, path, headers=hdrs, body=body, base=stack.app_url)


def new_uid():
    return "uid-" + uuid.uuid4().hex[:12]


def new_key():
    return "sk-session-" + uuid.uuid4().hex


def stored_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


def me_calls():
    return len(APP.calls("/auth/me"))


def test_the_session_cookie_is_the_user(stack):
    site(stack)
    uid, key = new_uid(), new_key()
    stack.remember_keys(key)
    sid = APP.login(uid)
    resp = call(stack, "PUT", KEYS, sid, body={"provider": "openai", "api_key": key},
                headers={"Authorization": "Bearer not-for-the-application"})
    assert resp.status == 200 and resp.json["openaiApiKey"] == key[:3] + "..." + key[-4:], resp
    assert set(stored_hash(stack, uid)) == {"openaiApiKey", "openaiApiKey:updatedAt"}
    resp = call(stack, "GET", KEYS + "/openai/effective", sid)
    assert resp.status == 200 and resp.json["has_key"] is True and resp.json["source"] == "user", resp
    # another session is another user
    other = APP.login(new_uid())
    resp = call(stack, "GET", KEYS, other)
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
    # what nginx asked the application: the cookie, and never the token
    asked = APP.calls("/auth/me")
    assert [c["cookie"] for c in asked] == ["gofannon_sid=" + sid, "gofannon_sid=" + other], asked
    assert all(c["authorization"] is None and c["method"] == "GET" for c in asked), asked


def test_no_cookie_or_a_dead_session_is_401_from_the_service(stack):
    site(stack)
    resp = call(stack, "GET", KEYS)
    assert resp.status == 401 and resp.json == {"detail": "Not authenticated"}, resp
    assert me_calls() == 0, "no cookie: the application is not asked"
    resp = call(stack, "GET", KEYS, "not-a-session-" + uuid.uuid4().hex)
    assert resp.status == 401 and resp.json == {"detail": "Not authenticated"}, resp
    assert me_calls() == 1
    resp = call(stack, "GET", KEYS, headers={"Cookie": "other=1"})
    assert resp.status == 401, resp


def test_the_cache_bounds_calls_to_the_application(stack):
    site(stack)
    uid = new_uid()
    sid = APP.login(uid)
    for _ in range(20):
        resp = call(stack, "GET", KEYS, sid)
        assert resp.status == 200, resp
    assert me_calls() == 1, "20 requests within %d s ask once: %d" % (CACHE_S, me_calls())
    dead = "dead-" + uuid.uuid4().hex
    for _ in range(5):
        assert call(stack, "GET", KEYS, dead).status == 401
    assert me_calls() == 2, "a refused cookie is cached too"
    # Logging out takes effect when the cached answer expires, not before.
    APP.logout(sid)
    assert call(stack, "GET", KEYS, sid).status == 200
    assert me_calls() == 2
    time.sleep(CACHE_S + 1.5)
    resp = call(stack, "GET", KEYS, sid)
    assert resp.status == 401, "after %d s the logout holds: %r" % (CACHE_S, resp)
    assert me_calls() == 3


def test_the_cache_is_keyed_by_the_whole_cookie_header(stack):
    """Another cookie beside the session is another entry: nothing one
    client sends can pick the answer cached for another's header."""
    site(stack)
    alice, bob = new_uid(), new_uid()
    sid_a, sid_b = APP.login(alice), APP.login(bob)
    assert call(stack, "GET", "/users/me/api-keys", sid_a).status == 200
    resp = call(stack, "PUT", KEYS, headers={"Cookie": "gofannon_sid=%s; theme=dark" % sid_b},
                body={"provider": "anthropic", "api_key": new_key()})
    assert resp.status == 200, resp
    assert "anthropicApiKey" in stored_hash(stack, bob)
    assert stored_hash(stack, alice) == {}
    assert me_calls() == 2


def test_forged_identity_headers_are_ignored(stack):
    site(stack)
    victim, attacker = new_uid(), new_uid()
    victim_key = new_key()
    stack.remember_keys(victim_key)
    assert call(stack, "PUT", KEYS, APP.login(victim), body={"provider": "openai", "api_key": victim_key}).status == 200
    before = stored_hash(stack, victim)
    forged = {"X-Gofannon-User": victim, "X-Test-User": victim, "Remote-User": victim,
              "X-Auth-Request-User": victim}
    resp = call(stack, "DELETE", KEYS + "/openai", headers=forged)
    assert resp.status == 401, resp
    resp = call(stack, "DELETE", KEYS + "/openai", APP.login(attacker), headers=forged)
    assert resp.status == 200, resp
    assert stored_hash(stack, victim) == before, "the victim's hash is untouched"


def test_an_application_that_cannot_say_is_503_never_a_guess(stack):
    site(stack)
    sid = APP.login(new_uid())
    for mode in ("500", "no-uid", "uid-number"):
        APP.me_mode = mode
        fresh = APP.login(new_uid())  # not cached yet
        resp = call(stack, "GET", KEYS, fresh)
        assert resp.status == 503 and resp.json == {"detail": "Session check unavailable"}, (mode, resp)
    APP.me_mode = "ok"
    assert call(stack, "GET", KEYS, sid).status == 200


def test_preflights_never_ask_the_application(stack):
    site(stack)
    resp = call(stack, "OPTIONS", KEYS, APP.login(new_uid()),
                headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "PUT",
                         "Access-Control-Request-Headers": "authorization,content-type"})
    assert resp.status == 204, resp
    assert resp.header("Access-Control-Allow-Origin") == UI_ORIGIN, resp.headers
    assert resp.header("Access-Control-Allow-Methods") == "GET, PUT", resp.headers
    assert me_calls() == 0


def test_every_other_path_is_the_application_s(stack):
    site(stack)
    sid = APP.login(new_uid())
    for method, path in (("GET", "/users/me"), ("PUT", "/users/me/monthly-allowance"), ("GET", "/auth/providers"),
                         ("POST", "/chat"), ("GET", "/api/users/me/api-keys")):
        resp = call(stack, method, path, sid, body={} if method in ("PUT", "POST") else None)
        assert resp.status == 200 and resp.json == {"backend": True, "method": method, "path": path}, (path, resp)
    backend = APP.calls()
    assert [c["path"] for c in backend] == ["/users/me", "/users/me/monthly-allowance", "/auth/providers",
                                            "/chat", "/api/users/me/api-keys"], backend
    assert all(c["cookie"] == "gofannon_sid=" + sid for c in backend), "the backend gets its cookie"
    resp = call(stack, "GET", "/profile/api-keys", host=UI_HOST)
    assert resp.status == 200 and "<title>Gofannon</title>" in resp.raw, resp
    assert [c["path"] for c in APP.calls(server="webui")] == ["/profile/api-keys"]
