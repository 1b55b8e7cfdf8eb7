"""CORS for a front end on another origin (issue 8, item 4), through nginx:
preflights answered without identity, the allowed origin echoed on every
reply (errors and streams included), nobody else given CORS headers, and
cross-origin writes from an unlisted origin still 403. Also through the
shipped site with basic authentication, where nginx must let OPTIONS pass
before authentication and must not pass on an unverified user."""

import base64
import os
import uuid

from mock_provider import MockProvider

ALLOWED = "https://app.example"
ALLOWED_LOCAL = "http://127.0.0.1:5173"
DENIED = "https://evil.example"
API_KEYS = "/api/users/me/api-keys"
SYSTEM_GEMINI = "gemini-system-key-7f3a9c2e51d04b8a"

MOCK = MockProvider(lifetime=600).start()

STACK_OPTIONS = {
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="3", GOFANNON_LOG_LEVEL="debug",
                        GOFANNON_ALLOWED_ORIGINS="%s, %s" % (ALLOWED, ALLOWED_LOCAL)),
}

# Every route, with the methods its path serves.
ROUTES = [
    ("/api/health", "GET"),
    ("/api/users/me", "GET"),
    (API_KEYS, "GET, PUT"),
    (API_KEYS + "/openai", "DELETE"),
    (API_KEYS + "/openai/effective", "GET"),
    (API_KEYS + "/openai/verify", "POST"),
    ("/api/users/me/usage", "GET"),
    ("/api/providers", "GET"),
    ("/api/llm/chat", "POST"),
]


def new_user():
    return "cors-" + uuid.uuid4().hex[:10]


def new_key():
    return "sk-cors-" + uuid.uuid4().hex


def cors_headers(resp):
    return {k.lower(): v for k, v in resp.headers.items() if k.lower().startswith("access-control-")}


def preflight(stack, path, origin, method="PUT", base=None, headers=None):
    hdrs = {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type"}
    hdrs.update(headers or {})
    return stack.request("OPTIONS", path, headers=hdrs, base=base)


def assert_echoed(resp, origin):
    assert resp.header("Access-Control-Allow-Origin") == origin, resp.headers
    assert resp.header("Access-Control-Allow-Credentials") == "true", resp.headers
    assert resp.header("Vary") == "Origin", resp.headers


def assert_no_cors(resp):
    assert cors_headers(resp) == {}, resp.headers
    assert resp.header("Vary") == "Origin", resp.headers


def stored_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


# --- preflights -----------------------------------------------------------------

def test_preflight_from_an_allowed_origin_names_the_methods_of_each_route(stack):
    for path, methods in ROUTES:
        for origin in (ALLOWED, ALLOWED_LOCAL):
            resp = preflight(stack, path, origin)  # no identity at all
            assert resp.status == 204, (path, resp)
            assert resp.raw == "", (path, resp.raw)
            assert resp.header("Content-Type") is None, resp.headers
            assert_echoed(resp, origin)
            assert cors_headers(resp) == {
                "access-control-allow-origin": origin,
                "access-control-allow-credentials": "true",
                "access-control-allow-methods": methods,
                "access-control-allow-headers": "Authorization, Content-Type",
                "access-control-max-age": "600",
            }, (path, cors_headers(resp))
            assert resp.header("Allow") == methods + ", OPTIONS", resp.headers


def test_preflight_from_anyone_else_is_204_without_cors_headers(stack):
    for origin in (DENIED, "null", "https://app.example.evil", "https://APP.example", ALLOWED + "/",
                   "http://127.0.0.1:51730"):
        resp = preflight(stack, API_KEYS, origin)
        assert resp.status == 204 and resp.raw == "", (origin, resp)
        assert_no_cors(resp)
    resp = stack.request("OPTIONS", API_KEYS)  # no Origin: not even a browser
    assert resp.status == 204
    assert_no_cors(resp)
    assert resp.header("Allow") == "GET, PUT, OPTIONS"


def test_preflight_of_an_unknown_path_is_404(stack):
    resp = preflight(stack, "/api/nothing-here", ALLOWED)
    assert resp.status == 404 and resp.json == {"detail": "Not found"}, resp
    assert_echoed(resp, ALLOWED)  # an error, but the page may read it
    assert "access-control-allow-methods" not in cors_headers(resp)


def test_preflight_never_reads_the_identity(stack):
    """A preflight with an identity is answered the same, and never as a
    write: no key appears for that user."""
    user = new_user()
    resp = stack.request("OPTIONS", API_KEYS, user=user, headers={"Origin": ALLOWED},
                         body={"provider": "openai", "apiKey": new_key()})
    assert resp.status == 204 and resp.raw == "", resp
    assert stored_hash(stack, user) == {}


# --- actual requests --------------------------------------------------------------

def test_an_allowed_origin_reads_and_writes_with_credentials(stack):
    user, key = new_user(), new_key()
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key},
                         headers={"Origin": ALLOWED})
    assert resp.status == 200 and resp.json["openaiApiKey"] == key[:3] + "..." + key[-4:], resp
    assert_echoed(resp, ALLOWED)
    resp = stack.request("GET", API_KEYS + "/openai/effective", user=user, headers={"Origin": ALLOWED_LOCAL})
    assert resp.status == 200 and resp.json["hasKey"] is True and resp.json["source"] == "user", resp
    assert_echoed(resp, ALLOWED_LOCAL)
    resp = stack.request("DELETE", API_KEYS + "/openai", user=user, headers={"Origin": ALLOWED})
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
    assert_echoed(resp, ALLOWED)


def test_errors_carry_the_cors_headers_too(stack):
    """So the page can read why, instead of a bare network error."""
    resp = stack.request("GET", API_KEYS, headers={"Origin": ALLOWED})
    assert resp.status == 401 and resp.json == {"detail": "Not authenticated"}, resp
    assert_echoed(resp, ALLOWED)
    resp = stack.request("PUT", API_KEYS, user=new_user(), body={"provider": "openai"},
                         headers={"Origin": ALLOWED})
    assert resp.status == 422, resp
    assert_echoed(resp, ALLOWED)
    resp = stack.request("POST", API_KEYS, user=new_user(), body={}, headers={"Origin": ALLOWED})
    assert resp.status == 405 and resp.header("Allow") == "GET, PUT", resp
    assert_echoed(resp, ALLOWED)
    resp = stack.request("GET", "/api/nothing", user=new_user(), headers={"Origin": ALLOWED})
    assert resp.status == 404
    assert_echoed(resp, ALLOWED)


def test_a_disallowed_origin_gets_no_cors_headers_and_its_writes_stay_403(stack):
    user, key = new_user(), new_key()
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key},
                         headers={"Origin": DENIED})
    assert resp.status == 403 and resp.json == {"detail": "Origin not allowed"}, resp
    assert_no_cors(resp)
    assert stored_hash(stack, user) == {}
    resp = stack.request("DELETE", API_KEYS + "/openai", user=user, headers={"Origin": DENIED})
    assert resp.status == 403
    assert_no_cors(resp)
    # A read is answered (the API's rule), but without CORS headers a
    # browser keeps it from the page.
    resp = stack.request("GET", API_KEYS, user=user, headers={"Origin": DENIED})
    assert resp.status == 200
    assert_no_cors(resp)


def test_with_a_list_the_own_origin_must_be_listed_too(stack):
    """GOFANNON_ALLOWED_ORIGINS replaces the same-origin default."""
    own = stack.url
    resp = stack.request("PUT", API_KEYS, user=new_user(), body={"provider": "openai", "apiKey": new_key()},
                         headers={"Origin": own})
    assert resp.status == 403, resp
    assert_no_cors(resp)


def test_a_streamed_reply_carries_the_cors_headers(stack):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    user, key = new_user(), new_key()
    stack.remember_keys(key)
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
    body = {"provider": "openai", "model": "test-model", "stream": True,
            "messages": [{"role": "user", "content": "hello"}]}
    resp = stack.request("POST", "/api/llm/chat", user=user, body=body, headers={"Origin": ALLOWED})
    assert resp.status == 200 and resp.header("Content-Type") == "text/event-stream", resp
    assert "event: done" in resp.raw, resp.raw
    assert_echoed(resp, ALLOWED)
    resp = stack.request("POST", "/api/llm/chat", user=user, body=body, headers={"Origin": DENIED})
    assert resp.status == 403
    assert_no_cors(resp)


# --- the shipped site with basic authentication ---------------------------------------

def basic_site(stack):
    """The shipped gofannon-keys.conf with auth_basic, in front of the same
    service; alice's password is "wonderland"."""
    if not getattr(stack, "basic_url", None):
        htpasswd = os.path.join(stack.state, "htpasswd")
        with open(htpasswd, "w") as f:
            f.write("alice:{PLAIN}wonderland\n")
        stack.basic_url = stack.extra_nginx_start("nginx-basic", "--htpasswd", htpasswd)
    return stack.basic_url


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def test_basic_site_lets_preflights_through_before_authentication(stack):
    base = basic_site(stack)
    resp = preflight(stack, API_KEYS, ALLOWED, base=base)
    # Allow-Methods comes from the service: nginx passed the preflight on
    assert resp.status == 204, resp
    assert cors_headers(resp)["access-control-allow-methods"] == "GET, PUT", resp.headers
    assert_echoed(resp, ALLOWED)
    resp = preflight(stack, "/users/me/api-keys/openai", ALLOWED, method="DELETE", base=base)
    assert resp.status == 204 and cors_headers(resp)["access-control-allow-methods"] == "DELETE", resp
    # everything else still needs the password
    resp = stack.request("GET", API_KEYS, headers={"Origin": ALLOWED}, base=base)
    assert resp.status == 401 and resp.json == {"detail": "Not authenticated"}, resp
    resp = stack.request("GET", API_KEYS, headers={"Origin": ALLOWED, "Authorization": basic("alice", "nope")},
                         base=base)
    assert resp.status == 401, resp
    resp = stack.request("GET", "/api/users/me", headers={"Origin": ALLOWED,
                                                          "Authorization": basic("alice", "wonderland")},
                         base=base)
    assert resp.status == 200 and resp.json == {"id": "alice"}, resp
    assert_echoed(resp, ALLOWED)


def test_basic_site_never_passes_an_unverified_user_with_a_preflight(stack):
    """With authentication off for OPTIONS, nginx would parse the client's
    own Authorization header into $remote_user unverified; the site sends
    no identity with a preflight at all (the service's debug line says so)."""
    base = basic_site(stack)
    victim = "victim-" + uuid.uuid4().hex[:8]
    before = len(stack.service_log_text())
    resp = preflight(stack, API_KEYS, ALLOWED, base=base, headers={"Authorization": basic(victim, "anything")})
    assert resp.status == 204, resp
    log = stack.service_log_text()[before:]
    lines = [ln for ln in log.splitlines() if "event=request" in ln and "method=OPTIONS" in ln]
    assert len(lines) == 1, "want the preflight's debug line: %r" % log
    assert victim not in log, "the unverified user reached the service"
    assert 'user=""' in lines[0], lines
