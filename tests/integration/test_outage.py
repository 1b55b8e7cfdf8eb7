"""Redis going away and coming back, with the service left running."""

import time
import uuid

FRESH_STACK = True
API_KEYS = "/api/users/me/api-keys"


def timed(stack, *args, **kw):
    start = time.monotonic()
    resp = stack.request(*args, **kw)
    return resp, time.monotonic() - start


def test_redis_stopped_gives_503_within_two_seconds_then_recovers(stack):
    user = "outage-%s" % uuid.uuid4().hex[:8]
    key = "sk-outage-" + uuid.uuid4().hex
    stack.remember_keys(key)
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
    master = stack.service.pid

    stack.redis_stop()
    for method, path, body in [("GET", API_KEYS, None), ("GET", "/api/providers", None),
                               ("GET", API_KEYS + "/openai/effective", None),
                               ("PUT", API_KEYS, {"provider": "anthropic", "apiKey": key}),
                               ("DELETE", API_KEYS + "/openai", None), ("GET", "/api/health", None)]:
        resp, took = timed(stack, method, path, user=user, body=body)
        assert resp.status == 503, (method, path, resp)
        assert resp.json == {"detail": "Key store unavailable"}, resp.raw
        assert took < 2.0, "%s %s took %.2fs" % (method, path, took)
    # requests that need no key store still work
    assert stack.request("GET", "/api/users/me", user=user).json == {"id": user}

    stack.redis_start()
    deadline = time.monotonic() + 5
    while stack.request("GET", "/api/health").status != 200:
        assert time.monotonic() < deadline, "not served again after Redis came back"
        time.sleep(0.05)
    body = stack.request("GET", API_KEYS, user=user).json
    assert body["openaiApiKey"] == "sk-..." + key[-4:], "the key written before the outage is gone: %r" % body
    assert body["anthropicApiKey"] is None, "a write refused with 503 was applied"
    assert stack.service.poll() is None and stack.service.pid == master, "the service was restarted"


def test_redis_that_accepts_but_never_answers_times_out(stack):
    """A Redis frozen with SIGSTOP: the 1 s command timeout gives 503, then it recovers."""
    import signal
    import os
    pid = stack._redis_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        resp, took = timed(stack, "GET", API_KEYS, user="frozen-user")
        assert resp.status == 503 and resp.json == {"detail": "Key store unavailable"}, resp
        assert took < 2.0, "took %.2fs" % took
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 5
    while stack.request("GET", API_KEYS, user="frozen-user").status != 200:
        assert time.monotonic() < deadline, "not served again after Redis resumed"
        time.sleep(0.05)
