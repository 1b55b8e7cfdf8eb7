"""nginx/gofannon-app.conf with the service configured for bearer tokens
(GOFANNON_JWT_*): Gofannon's front end in Firebase mode (a bearer ID token,
no session cookie) and both modes at once, as docs/gofannon.md describes.
Tokens are signed with the keys of test_tokens.py; the stand-in backend
(tests/gofannon_standin.py) holds the sessions."""

import importlib.util
import json
import os
import uuid

from gofannon_standin import API_HOST, UI_ORIGIN, GofannonStandIn, app_site

_spec = importlib.util.spec_from_file_location(
    "tokens_for_gofannon", os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_tokens.py"))
tk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tk)

STACK_OPTIONS = {"identity": "token", "jwt": tk.STACK_OPTIONS["jwt"],
                 "service_env": {"GOFANNON_ALLOWED_ORIGINS": UI_ORIGIN}}
KEYS = "/users/me/api-keys"

APP = GofannonStandIn().start()


def site(stack):
    return app_site(stack, APP)


def front_end(stack, method, path, authorization, cookie=None, body=None):
    """One call of Gofannon's apiClient from the UI's origin: its preflight,
    then the request (JSON Accept and Content-Type, the Authorization it
    has, the cookie if any)."""
    base = stack.app_url
    pre = stack.request("OPTIONS", path, base=base, headers={
        "Host": API_HOST, "Origin": UI_ORIGIN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status == 204 and pre.header("Access-Control-Allow-Origin") == UI_ORIGIN, pre
    headers = {"Host": API_HOST, "Origin": UI_ORIGIN, "Accept": "application/json",
               "Content-Type": "application/json", "Authorization": authorization}
    if cookie:
        headers["Cookie"] = cookie
    data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    resp = stack.request(method, path, base=base, headers=headers, raw_body=data)
    assert resp.header("Access-Control-Allow-Origin") == UI_ORIGIN, resp.headers
    return resp


def stored_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


def new_key():
    return "sk-firebase-" + uuid.uuid4().hex


def test_firebase_mode_through_the_gofannon_site(stack):
    site(stack)
    uid, key = tk.new_user(), new_key()
    stack.remember_keys(key)
    bearer = "Bearer " + tk.token(stack, tk.claims(uid), key=tk.EC_KEY, alg="ES256", kid="ec-1")
    resp = front_end(stack, "GET", KEYS, bearer)
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
    resp = front_end(stack, "PUT", KEYS, bearer, body={"provider": "openai", "api_key": key})
    assert resp.status == 200 and resp.json["openaiApiKey"] == key[:3] + "..." + key[-4:], resp
    assert set(stored_hash(stack, uid)) == {"openaiApiKey", "openaiApiKey:updatedAt"}, "the token's sub"
    resp = front_end(stack, "GET", KEYS + "/openai/effective", bearer)
    assert resp.status == 200 and resp.json["has_key"] is True and resp.json["source"] == "user", resp
    resp = front_end(stack, "DELETE", KEYS + "/openai", bearer)
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
    assert APP.calls("/auth/me") == [], "no cookie: the application is never asked"


def test_without_a_session_or_a_valid_token_it_is_401(stack):
    site(stack)
    resp = front_end(stack, "GET", KEYS, "Bearer null")
    assert resp.status == 401 and resp.json == {"detail": "Not authenticated"}, resp
    assert resp.header("WWW-Authenticate") == 'Bearer error="invalid_token"', resp.headers
    resp = front_end(stack, "GET", KEYS, "Bearer null", cookie="gofannon_sid=dead-" + uuid.uuid4().hex)
    assert resp.status == 401, resp
    forged = tk.token(stack, tk.claims(tk.new_user()), key=tk.OTHER_RSA_KEY)
    resp = front_end(stack, "GET", KEYS, "Bearer " + forged)
    assert resp.status == 401 and resp.header("WWW-Authenticate") == 'Bearer error="invalid_token"', resp


def test_a_live_session_wins_over_a_token(stack):
    site(stack)
    session_uid, token_uid, key = tk.new_user(), tk.new_user(), new_key()
    stack.remember_keys(key)
    sid = APP.login(session_uid)
    bearer = "Bearer " + tk.token(stack, tk.claims(token_uid))
    resp = front_end(stack, "PUT", KEYS, bearer, cookie="gofannon_sid=" + sid,
                     body={"provider": "anthropic", "api_key": key})
    assert resp.status == 200, resp
    assert "anthropicApiKey" in stored_hash(stack, session_uid)
    assert stored_hash(stack, token_uid) == {}, "the token did not override the session"
    # a session that ended leaves the token to speak
    APP.logout(sid)
    dead = "gofannon_sid=" + APP.login(session_uid) + "x"
    resp = front_end(stack, "GET", KEYS, bearer, cookie=dead)
    assert resp.status == 200 and resp.json["anthropicApiKey"] is None, "the token's user: %r" % resp
