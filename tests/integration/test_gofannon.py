"""Gofannon's own front end against nginx/gofannon-app.conf, session mode
(issue 8, item 5): the requests its API Keys tab makes, replayed byte for
byte as a browser sends them from the web UI's origin to the API origin.

What the front end sends (The-AI-Alliance/gofannon, webapp/packages/webui):
services/apiClient.js puts `Content-Type: application/json`, `Accept:
application/json` and `Authorization: Bearer <getIdToken()>` on every call,
which in session mode (authService.js, getIdToken resolves to null) is
`Bearer null`; services/fetchInterceptor.js adds credentials: 'include', so
the gofannon_sid cookie goes along; services/userService.js calls
GET/PUT /users/me/api-keys, DELETE /users/me/api-keys/{provider} and GET
/users/me/api-keys/{provider}/effective, un-prefixed under api.baseUrl, the
PUT body JSON.stringify({provider, api_key}). Across origins the browser
first sends a preflight, without the cookie, asking for the authorization
and content-type headers (Content-Type application/json is not one a
browser sends without asking). The tab reads `${provider.id}ApiKey` of the
GET answer and shows `data.detail || data.error` of a failed call.
"""

import json
import uuid

from gofannon_standin import API_HOST, UI_ORIGIN, GofannonStandIn, start_app_site

STACK_OPTIONS = {"service_env": {"GOFANNON_ALLOWED_ORIGINS": UI_ORIGIN}}

# ApiKeysTab.jsx's PROVIDERS
TAB_PROVIDERS = ["openai", "anthropic", "gemini", "perplexity", "openrouter"]

APP = GofannonStandIn().start()


class FrontEndError(Exception):
    """apiClient.request's throw: the message the tab shows."""


class GofannonFrontEnd:
    """apiClient + userService in session mode, as the browser sends them."""

    def __init__(self, stack, sid):
        if not getattr(stack, "app_url", None):
            stack.app_url = start_app_site(stack, APP)
        self.stack, self.sid = stack, sid
        self.sent = []

    def _wire(self, method, endpoint, headers, data):
        hdrs = {"Host": API_HOST}
        hdrs.update(headers)
        self.sent.append((method, endpoint, hdrs, data))
        return self.stack.request(method, endpoint, headers=hdrs, raw_body=data, base=self.stack.app_url)

    def request(self, method, endpoint, body=None):
        # the browser's preflight: no cookie, no Authorization
        pre = self._wire("OPTIONS", endpoint, {
            "Origin": UI_ORIGIN, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type", "Accept": "*/*"}, None)
        assert pre.status == 204, (endpoint, pre)
        assert pre.header("Access-Control-Allow-Origin") == UI_ORIGIN, pre.headers
        assert pre.header("Access-Control-Allow-Credentials") == "true", pre.headers
        assert method in pre.header("Access-Control-Allow-Methods").split(", "), pre.headers
        allowed = {h.strip().lower() for h in pre.header("Access-Control-Allow-Headers").split(",")}
        assert {"authorization", "content-type"} <= allowed, pre.headers
        # the request itself
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        resp = self._wire(method, endpoint, {
            "Origin": UI_ORIGIN, "Content-Type": "application/json", "Accept": "application/json",
            "Authorization": "Bearer null", "Cookie": "gofannon_sid=" + self.sid}, data)
        # without these the browser hands the page a network error instead
        assert resp.header("Access-Control-Allow-Origin") == UI_ORIGIN, (endpoint, resp.headers)
        assert resp.header("Access-Control-Allow-Credentials") == "true", resp.headers
        parsed = resp.json if resp.json is not None else {}
        if not 200 <= resp.status < 300:
            raise FrontEndError(parsed.get("detail") or parsed.get("error")
                                or "Request failed with status %d" % resp.status)
        return parsed

    # userService.js
    def get_api_keys(self):
        return self.request("GET", "/users/me/api-keys")

    def update_api_key(self, provider, api_key):
        return self.request("PUT", "/users/me/api-keys", {"provider": provider, "api_key": api_key})

    def delete_api_key(self, provider):
        return self.request("DELETE", "/users/me/api-keys/%s" % provider)

    def get_effective_api_key(self, provider):
        return self.request("GET", "/users/me/api-keys/%s/effective" % provider)

    def get_profile(self):
        """Gofannon's backend answers this one, CORS included (the stand-in
        has no CORS): only the request is replayed."""
        resp = self._wire("GET", "/users/me", {
            "Origin": UI_ORIGIN, "Content-Type": "application/json", "Accept": "application/json",
            "Authorization": "Bearer null", "Cookie": "gofannon_sid=" + self.sid}, None)
        assert resp.status == 200, resp
        return resp.json


def tab_rows(keys):
    """What ApiKeysTab shows per row: whether a key is set (Boolean(apiKey))."""
    return {p: bool(keys.get("%sApiKey" % p)) for p in TAB_PROVIDERS}


def new_uid():
    return "gofannon-" + uuid.uuid4().hex[:12]


def new_key(prefix="sk-proj-"):
    return prefix + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def stored_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


def test_the_api_keys_tab_adds_shows_and_removes_a_key(stack):
    uid = new_uid()
    ui = GofannonFrontEnd(stack, APP.login(uid))
    keys = ui.get_api_keys()
    assert set("%sApiKey" % p for p in TAB_PROVIDERS) <= set(keys), keys
    assert tab_rows(keys) == {p: False for p in TAB_PROVIDERS}

    key = new_key()
    stack.remember_keys(key)
    ui.update_api_key("openai", key)  # the tab ignores the answer and reloads
    keys = ui.get_api_keys()
    assert tab_rows(keys) == dict({p: False for p in TAB_PROVIDERS}, openai=True)
    assert keys["openaiApiKey"] == key[:3] + "..." + key[-4:] and key not in json.dumps(keys)
    assert set(stored_hash(stack, uid)) == {"openaiApiKey", "openaiApiKey:updatedAt"}, "stored for the session's uid"

    eff = ui.get_effective_api_key("openai")
    assert eff["provider"] == "openai" and eff["has_key"] is True and eff["source"] == "user", eff
    eff = ui.get_effective_api_key("anthropic")
    assert eff["has_key"] is False and eff["source"] is None, eff

    ui.delete_api_key("openai")
    assert tab_rows(ui.get_api_keys()) == {p: False for p in TAB_PROVIDERS}
    assert stored_hash(stack, uid) == {}


def test_every_call_went_out_as_the_front_end_sends_it(stack):
    """Checks the replay itself: un-prefixed paths, Bearer null, the JSON
    headers, and the api_key field in the PUT body."""
    ui = GofannonFrontEnd(stack, APP.login(new_uid()))
    key = new_key()
    stack.remember_keys(key)
    ui.update_api_key("anthropic", key)
    ui.delete_api_key("anthropic")
    real = [s for s in ui.sent if s[0] != "OPTIONS"]
    assert [(m, p) for m, p, _, _ in real] == [("PUT", "/users/me/api-keys"),
                                              ("DELETE", "/users/me/api-keys/anthropic")]
    for _, _, headers, _ in real:
        assert headers["Authorization"] == "Bearer null"
        assert headers["Content-Type"] == headers["Accept"] == "application/json"
    assert json.loads(real[0][3]) == {"provider": "anthropic", "api_key": key}
    assert all("Cookie" not in h and "Authorization" not in h for m, _, h, _ in ui.sent if m == "OPTIONS")


def test_the_tab_shows_the_service_s_reasons(stack):
    ui = GofannonFrontEnd(stack, APP.login(new_uid()))
    real_key = new_key()
    stack.remember_keys(real_key)
    for provider, key, message in (
            ("nope", real_key, "Unknown provider: nope"),
            ("openai", "   ", None),
            ("openai", "sk-...abcd", None)):
        try:
            ui.update_api_key(provider, key)
        except FrontEndError as err:
            assert str(err) and not str(err).startswith("Request failed"), err
            if message:
                assert str(err) == message, err
        else:
            raise AssertionError("PUT %r was accepted" % key)
    dead = GofannonFrontEnd(stack, "expired-" + uuid.uuid4().hex)
    try:
        dead.get_api_keys()
    except FrontEndError as err:
        assert str(err) == "Not authenticated", err
    else:
        raise AssertionError("a dead session read keys")


def test_the_front_end_s_other_calls_still_reach_gofannon(stack):
    sid = APP.login(new_uid())
    ui = GofannonFrontEnd(stack, sid)
    APP.reset()
    profile = ui.get_profile()
    assert profile == {"backend": True, "method": "GET", "path": "/users/me"}, profile
    got = [c for c in APP.calls("/users/me") if c["method"] == "GET"]
    assert len(got) == 1 and got[0]["cookie"] == "gofannon_sid=" + sid and got[0]["authorization"] == "Bearer null"
