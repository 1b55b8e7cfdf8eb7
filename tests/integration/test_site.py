"""The nginx site (nginx/gofannon-keys.conf) itself: the security headers of
every response, and a key pasted into an API path where a provider id belongs,
which nginx refuses before it goes upstream and which no nginx log ever holds,
the error log included, also while the service is down (docs/api.md)."""

import http.client
import json
import os
import uuid

FRESH_STACK = True  # one test stops the service

API_KEYS = "/api/users/me/api-keys"
USER = "site-user"


def raw_request(stack, method, path, headers=None, body=None):
    """One request, redirects not followed; returns (status, headers, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def key_shaped_segments():
    """Keys as people paste them: upper case, dots and plus signs, or longer
    than a registry id (33+ characters) though all lower case."""
    hexes = uuid.uuid4().hex + uuid.uuid4().hex
    return [
        "sk-proj-" + hexes[:20].upper() + hexes[20:40],  # upper case
        "sk-ant-api03-" + hexes[:40],                    # lower case, 53 characters
        "AIzaSy" + hexes[:33],                           # Gemini-like
        "key." + hexes[:20] + "+x",                      # characters no id has
    ]


def assert_security_headers(path, headers):
    assert headers.get("X-Frame-Options") == "DENY", (path, dict(headers))
    assert headers.get("Referrer-Policy") == "no-referrer", (path, dict(headers))


def test_every_page_and_api_response_carries_the_security_headers(stack):
    user = {"X-Test-User": USER}
    cases = [
        ("GET", "/profile/", 200), ("GET", "/profile/index.html", 200), ("GET", "/profile/app.js", 200),
        ("GET", "/profile/style.css", 200), ("GET", "/profile/api-keys", 200), ("GET", "/", 302),
        ("GET", "/api/health", 200), ("GET", "/api/providers", 200), ("GET", "/api/nope", 404),
        ("GET", API_KEYS + "/NotAnId/effective", 400), ("GET", "/users/me/api-keys", 200),
    ]
    for method, path, status in cases:
        got, headers, _ = raw_request(stack, method, path, headers=user)
        assert got == status, (path, got)
        assert_security_headers(path, headers)
    # the page keeps its own headers next to the shared ones
    for path in ("/profile/", "/profile/index.html", "/profile/app.js"):
        _, headers, _ = raw_request(stack, "GET", path, headers=user)
        assert headers.get("X-Content-Type-Options") == "nosniff", (path, dict(headers))
        assert headers.get("Cache-Control") == "no-cache", (path, dict(headers))
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), (path, dict(headers))
    _, headers, _ = raw_request(stack, "GET", "/", headers=user)
    assert headers.get("Location", "").endswith("/profile/api-keys"), dict(headers)
    # nginx's own refusal of a body far too large (the @too_large location)
    got, headers, text = raw_request(stack, "PUT", API_KEYS, headers=dict(user, **{"Content-Type": "application/json"}),
                                     body=b"x" * (2 * 1024 * 1024))
    assert got == 413 and json.loads(text) == {"detail": "Request body is larger than 64 KiB"}, (got, text)
    assert_security_headers("413", headers)


def test_a_provider_segment_not_shaped_like_an_id_is_refused_without_an_echo(stack):
    user = {"X-Test-User": USER}
    for segment in key_shaped_segments():
        stack.remember_keys(segment)
        for method, path in [("GET", API_KEYS + "/%s/effective" % segment), ("DELETE", API_KEYS + "/" + segment),
                             ("POST", API_KEYS + "/%s/verify" % segment),
                             ("GET", "/users/me/api-keys/%s/effective" % segment)]:
            status, headers, text = raw_request(stack, method, path, headers=user)
            assert status == 400, (method, path, status)
            assert json.loads(text) == {"detail": "Unknown provider"}, text
            assert segment not in text and segment[:8] not in text, text
            assert headers.get("Content-Type") == "application/json", dict(headers)
            assert headers.get("Cache-Control") == "no-store", dict(headers)
            assert headers.get("X-Content-Type-Options") == "nosniff", dict(headers)
    # an id-shaped one goes on to the service, which names what it did not know
    status, _, text = raw_request(stack, "GET", API_KEYS + "/mistral/effective", headers=user)
    assert (status, json.loads(text)) == (400, {"detail": "Unknown provider: mistral"})
    status, _, text = raw_request(stack, "GET", API_KEYS + "/openai/effective", headers=user)
    assert status == 200 and json.loads(text)["provider"] == "openai", text


def test_a_key_in_the_path_reaches_no_nginx_log_while_the_service_is_down(stack):
    user = {"X-Test-User": USER}
    # id-shaped but a key all the same: a lower-case key of 32 characters or fewer
    id_shaped_key = "pplx-" + uuid.uuid4().hex[:27]
    segments = key_shaped_segments()
    stack.remember_keys(id_shaped_key, *segments)
    stack.service_stop()
    for segment in segments:
        status, _, text = raw_request(stack, "GET", API_KEYS + "/%s/effective" % segment, headers=user)
        assert (status, json.loads(text)) == (400, {"detail": "Unknown provider"}), (status, text)
    for method, path in [("GET", API_KEYS + "/%s/effective" % id_shaped_key),
                         ("DELETE", API_KEYS + "/" + id_shaped_key),
                         ("POST", "/users/me/api-keys/%s/verify" % id_shaped_key)]:
        status, _, _ = raw_request(stack, method, path, headers=user)
        assert status == 502, (path, status)  # it went upstream, and nobody answered
    # the same outage on another path is still in the error log
    status, _, _ = raw_request(stack, "GET", "/api/providers", headers=user)
    assert status == 502, status
    stack.service_start()
    with open(os.path.join(stack.state, "nginx-error.log"), errors="replace") as f:
        error_log = f.read()
    with open(os.path.join(stack.state, "nginx-access.log"), errors="replace") as f:
        access_log = f.read()
    assert '"GET /api/providers HTTP/1.1"' in error_log, error_log[-2000:]
    assert "/api/users/me/api-keys/{provider}/effective" in access_log, access_log[-2000:]
    for secret in [id_shaped_key] + segments:
        assert secret not in error_log, "a key reached nginx-error.log"
        assert secret not in access_log, "a key reached nginx-access.log"
        assert secret[:12] not in error_log + access_log, "part of a key reached an nginx log"
