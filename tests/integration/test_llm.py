"""Provider calls with the effective key (docs/llm.md), end to end:
nginx, spawn-fcgi, the service, Redis, and tests/mock_provider.py standing in
for every provider through the <ID>_BASE_URL variables."""

import http.client
import json
import os
import socket
import time
import uuid

from mock_provider import MockProvider

TIMEOUT_S = 3  # GOFANNON_LLM_TIMEOUT for this module: hangs cost this much
CHAT = "/api/llm/chat"
API_KEYS = "/api/users/me/api-keys"
USAGE = "/api/users/me/usage"
SYSTEM_OPENAI = "sk-system-openai-5d1c0e9a7b3f4a61"
SYSTEM_GEMINI = "gemini-system-key-7f3a9c2e51d04b8a"

# One mock for the whole module; it stops by itself.
MOCK = MockProvider(lifetime=600).start()

STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI, "GEMINI_API_KEY": SYSTEM_GEMINI, "OPENROUTER_API_KEY": ""},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT=str(TIMEOUT_S)),
}


# --- helpers ------------------------------------------------------------------

def fresh(stack, prefix="llm"):
    """A new user and a mock with no calls and every provider answering "ok"."""
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(SYSTEM_OPENAI, SYSTEM_GEMINI)
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def new_key(prefix="sk-test-"):
    return prefix + uuid.uuid4().hex


def store_key(stack, user, provider, key=None):
    key = key or new_key("sk-%s-" % provider[:4])
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": provider, "apiKey": key})
    assert resp.status == 200, resp
    return key


def chat_body(provider, model="test-model", text="say hello", **extra):
    body = {"provider": provider, "model": model, "messages": [{"role": "user", "content": text}]}
    body.update(extra)
    return body


def expect(resp, status, detail=None):
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if status >= 400:
        assert list(resp.json) == ["detail"], resp.raw
        if detail is not None:
            assert resp.json["detail"] == detail, "detail %r, expected %r" % (resp.json["detail"], detail)
    return resp.json


def parse_sse(text):
    """[(event name or None, parsed data)] of a text/event-stream body."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        events.append((name, json.loads("\n".join(data))))
    return events


def deltas(events):
    return "".join(d["delta"] for name, d in events if name is None)


def open_stream(stack, body, user, timeout=8):
    """Starts a streamed chat through nginx; returns (connection, response)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=timeout)
    conn.request("POST", CHAT, body=json.dumps(body),
                 headers={"Content-Type": "application/json", "X-Test-User": user})
    return conn, conn.getresponse()


def verify(stack, user, provider, body=None):
    return stack.request("POST", API_KEYS + "/%s/verify" % provider, user=user, body=body)


# --- translation: what each wire style sends and receives ------------------------

def test_openai_style_request_and_reply(stack):
    user = fresh(stack)
    key = store_key(stack, user, "openai")
    body = chat_body("openai", model="gpt-4o-mini", maxTokens=50, temperature=0.7)
    body["messages"] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "hello"}, {"role": "user", "content": "how are you"}]
    reply = expect(stack.request("POST", CHAT, user=user, body=body), 200)
    assert reply == {"provider": "openai", "model": "gpt-4o-mini", "content": "Hello from openai: how are you",
                     "usage": {"inputTokens": 13, "outputTokens": 7}, "keySource": "user"}, reply
    [call] = MOCK.calls()
    assert (call["method"], call["path"]) == ("POST", "/openai/v1/chat/completions"), call
    assert call["headers"]["authorization"] == "Bearer " + key
    assert call["headers"]["content-type"] == "application/json"
    assert call["body"] == {"model": "gpt-4o-mini", "messages": body["messages"], "max_tokens": 50,
                            "temperature": 0.7}, call["body"]


def test_anthropic_style_request_and_reply(stack):
    user = fresh(stack)
    key = store_key(stack, user, "anthropic")
    body = chat_body("anthropic", model="claude-haiku-4-5", temperature=0.5)
    body["messages"] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                        {"role": "system", "content": "Be kind."}, {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "and you"}]
    reply = expect(stack.request("POST", CHAT, user=user, body=body), 200)
    assert reply["content"] == "Hello from anthropic: and you" and reply["keySource"] == "user", reply
    assert reply["usage"] == {"inputTokens": 13, "outputTokens": 7}
    [call] = MOCK.calls()
    assert (call["method"], call["path"]) == ("POST", "/anthropic/v1/messages"), call
    assert call["headers"]["x-api-key"] == key and "authorization" not in call["headers"]
    assert call["headers"]["anthropic-version"] == "2023-06-01"
    # system messages travel apart; max_tokens is required, so it has a default
    assert call["body"] == {"model": "claude-haiku-4-5", "max_tokens": 4096, "system": "Be brief.\n\nBe kind.",
                            "messages": [{"role": "user", "content": "hi"},
                                         {"role": "assistant", "content": "hello"},
                                         {"role": "user", "content": "and you"}],
                            "temperature": 0.5}, call["body"]


def test_gemini_style_request_and_reply_with_the_key_in_a_header(stack):
    user = fresh(stack)  # no user key: the system-wide GEMINI_API_KEY
    body = chat_body("gemini", model="models/gemini-2.5-flash", maxTokens=64)
    body["messages"] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "hello"}, {"role": "user", "content": "bye"}]
    reply = expect(stack.request("POST", CHAT, user=user, body=body), 200)
    assert reply == {"provider": "gemini", "model": "models/gemini-2.5-flash", "content": "Hello from gemini: bye",
                     "usage": {"inputTokens": 13, "outputTokens": 7}, "keySource": "env"}, reply
    [call] = MOCK.calls()
    assert call["path"] == "/gemini/v1beta/models/gemini-2.5-flash:generateContent", call
    assert call["query"] == "", "the key must never travel in the URL: %r" % call["query"]
    assert call["headers"]["x-goog-api-key"] == SYSTEM_GEMINI
    assert call["body"] == {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}, {"role": "model", "parts": [{"text": "hello"}]},
                     {"role": "user", "parts": [{"text": "bye"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"maxOutputTokens": 64}}, call["body"]


def test_perplexity_and_openrouter_speak_the_openai_style(stack):
    user = fresh(stack)
    keys = {p: store_key(stack, user, p) for p in ("perplexity", "openrouter")}
    for provider, path in (("perplexity", "/perplexity/chat/completions"),
                           ("openrouter", "/openrouter/api/v1/chat/completions")):
        reply = expect(stack.request("POST", CHAT, user=user, body=chat_body(provider, model="sonar")), 200)
        assert reply["provider"] == provider and reply["keySource"] == "user", reply
        call = MOCK.calls(provider)[-1]
        assert call["path"] == path and call["headers"]["authorization"] == "Bearer " + keys[provider], call


# --- which key ---------------------------------------------------------------------

def test_the_user_key_is_sent_even_with_the_system_key_present(stack):
    user = fresh(stack)
    key = store_key(stack, user, "openai")
    assert expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 200)["keySource"] == "user"
    conn, resp = open_stream(stack, chat_body("openai", stream=True), user)
    resp.read()
    conn.close()
    calls = MOCK.calls()
    assert [c["key"] for c in calls] == [key, key], [c["key"] for c in calls]
    assert all(SYSTEM_OPENAI not in json.dumps(c["headers"]) for c in calls)


def test_the_system_key_is_used_when_the_user_has_none(stack):
    user = fresh(stack)
    assert expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 200)["keySource"] == "env"
    [call] = MOCK.calls()
    assert call["key"] == SYSTEM_OPENAI


def test_a_rejected_user_key_is_never_retried_with_the_system_key(stack):
    user = fresh(stack)
    key = store_key(stack, user, "openai")
    MOCK.set_mode("401")
    expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502,
           "Invalid API key for openai. Please check your user-specific API key.")
    expect(stack.request("POST", CHAT, user=user, body=chat_body("openai", stream=True)), 502,
           "Invalid API key for openai. Please check your user-specific API key.")
    assert [c["key"] for c in MOCK.calls()] == [key, key], "one call per request, with the user's key only"


def test_a_rejected_system_key_is_named_as_such(stack):
    user = fresh(stack)
    MOCK.set_mode("401")
    expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502,
           "Invalid API key for openai. Please check your system-wide API key.")
    # Gemini refuses a key with 400 API_KEY_INVALID, not 401
    expect(stack.request("POST", CHAT, user=user, body=chat_body("gemini")), 502,
           "Invalid API key for gemini. Please check your system-wide API key.")
    assert [c["key"] for c in MOCK.calls()] == [SYSTEM_OPENAI, SYSTEM_GEMINI]


def test_no_key_gives_400_without_any_upstream_call(stack):
    user = fresh(stack)
    for body in (chat_body("anthropic"), chat_body("anthropic", stream=True), chat_body("openrouter")):
        expect(stack.request("POST", CHAT, user=user, body=body), 400,
               "Provider unavailable: no API key for %s" % body["provider"])
    expect(verify(stack, user, "perplexity"), 400, "Provider unavailable: no API key for perplexity")
    assert MOCK.calls() == []


def test_an_unreadable_user_key_is_not_replaced_by_the_system_key(stack):
    user = fresh(stack)
    stack.redis_cli("HSET", "gofannon:users:{%s}:apiKeys" % user, "openaiApiKey", "v1.nope.AAAA")
    resp = stack.request("POST", CHAT, user=user, body=chat_body("openai"))
    expect(resp, 400)
    assert resp.json["detail"].startswith("Provider unavailable:"), resp.json
    assert MOCK.calls() == []


# --- request checks ---------------------------------------------------------------------

def test_bad_chat_bodies_are_422_naming_the_field_and_call_no_one(stack):
    user = fresh(stack)
    cases = [
        ({"provider": "openai", "messages": []}, "model"),
        ({"provider": "openai", "model": "m"}, "messages"),
        (chat_body("openai", model=""), "model"),
        (chat_body("openai", model="a b"), "model"),
        (dict(chat_body("openai"), messages=[]), "messages"),
        (dict(chat_body("openai"), messages=[{"role": "tool", "content": "x"}]), "messages[0].role"),
        (dict(chat_body("openai"), messages=[{"role": "user", "content": 5}]), "messages[0].content"),
        (dict(chat_body("openai"), messages=["hi"]), "messages[0]"),
        (chat_body("openai", maxTokens=0), "maxTokens"),
        (chat_body("openai", maxTokens=1.5), "maxTokens"),
        (chat_body("openai", temperature=3), "temperature"),
        (chat_body("openai", temperature="hot"), "temperature"),
        (chat_body("openai", stream="yes"), "stream"),
        (chat_body("gemini", model="tunedModels/x"), "model"),
        (chat_body("gemini", model="gemini:streamGenerateContent"), "model"),
    ]
    for body, field in cases:
        resp = stack.request("POST", CHAT, user=user, body=body)
        expect(resp, 422)
        assert "'%s'" % field in resp.json["detail"], (body, resp.json)
    expect(stack.request("POST", CHAT, user=user, body=chat_body("nope")), 400, "Unknown provider: nope")
    expect(stack.request("POST", CHAT, user=user, raw_body=b"{}", headers={"Content-Type": "text/plain"}), 415)
    expect(stack.request("POST", CHAT, body=chat_body("openai")), 401, "Not authenticated")
    expect(stack.request("GET", CHAT, user=user), 405)
    assert MOCK.calls() == []


# --- provider failures ------------------------------------------------------------------

def test_provider_failures_are_502_with_a_short_detail(stack):
    user = fresh(stack)
    key = store_key(stack, user, "openai")
    MOCK.set_mode("500")
    detail = expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502)["detail"]
    assert "HTTP 500" in detail and "failed on purpose" in detail, detail
    assert key not in detail and "[redacted]" in detail, "a key the provider echoes is redacted: %r" % detail
    MOCK.set_mode("garbage")
    detail = expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502)["detail"]
    assert "cannot read" in detail, detail
    detail = expect(stack.request("POST", CHAT, user=user, body=chat_body("openai", stream=True)), 502)["detail"]
    assert "event stream" in detail, detail
    MOCK.set_mode("big")
    detail = expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502)["detail"]
    assert "larger" in detail and "cut off" in detail, detail


def test_a_hang_gives_504_within_the_configured_time(stack):
    user = fresh(stack)
    store_key(stack, user, "anthropic")
    MOCK.set_mode("hang")
    for body in (chat_body("openai"), chat_body("anthropic", stream=True)):
        start = time.monotonic()
        resp = stack.request("POST", CHAT, user=user, body=body)
        elapsed = time.monotonic() - start
        expect(resp, 504)
        assert resp.header("Content-Type") == "application/json", "nothing was streamed yet: a JSON error"
        assert TIMEOUT_S - 0.2 <= elapsed <= TIMEOUT_S + 2, "504 after %.1fs, configured %ds" % (elapsed, TIMEOUT_S)
        assert str(TIMEOUT_S) in resp.json["detail"], resp.json


# --- streaming ------------------------------------------------------------------------------

def test_streamed_deltas_reach_the_client_through_nginx_before_the_provider_finishes(stack):
    user = fresh(stack)
    store_key(stack, user, "anthropic")
    for provider in ("openai", "anthropic", "gemini"):
        MOCK.reset()
        MOCK.set_mode("gate")
        conn, resp = open_stream(stack, chat_body(provider, text="one two three", stream=True), user)
        try:
            assert resp.status == 200, resp.status
            assert resp.getheader("Content-Type") == "text/event-stream"
            assert resp.getheader("Cache-Control") == "no-store"
            assert resp.getheader("X-Content-Type-Options") == "nosniff"
            first = resp.readline()
            # The mock holds the rest of its stream until the gate opens.
            [call] = MOCK.calls()
            assert not call["finished"] and not call.get("gate_released"), call
            assert first == b'data: {"delta":"Hello "}\n', first
            MOCK.gate.set()
            events = parse_sse((first + resp.read()).decode())
        finally:
            conn.close()
        assert deltas(events) == "Hello from %s: one two three" % provider, events
        assert events[-1] == ("done", {"provider": provider, "model": "test-model",
                                       "usage": {"inputTokens": 13, "outputTokens": 7},
                                       "keySource": "env" if provider != "anthropic" else "user"}), events[-1]
        assert MOCK.wait_for(lambda c: c and c[-1]["finished"])[-1]["gate_released"] is True


def test_each_wire_style_is_asked_to_stream_its_own_way(stack):
    user = fresh(stack)
    store_key(stack, user, "anthropic")
    for provider in ("openai", "anthropic", "gemini"):
        resp = stack.request("POST", CHAT, user=user, body=chat_body(provider, stream=True))
        assert resp.status == 200 and resp.header("Content-Type") == "text/event-stream", resp
    openai, anthropic, gemini = MOCK.calls()
    assert openai["body"]["stream"] is True and openai["body"]["stream_options"] == {"include_usage": True}
    assert openai["headers"]["accept"] == "text/event-stream"
    assert anthropic["body"]["stream"] is True
    assert gemini["path"].endswith(":streamGenerateContent") and gemini["query"] == "alt=sse", gemini
    assert "stream" not in gemini["body"]


def test_a_timeout_mid_stream_ends_the_stream_with_an_error_event(stack):
    user = fresh(stack)
    MOCK.set_mode("slow")
    start = time.monotonic()
    resp = stack.request("POST", CHAT, user=user, body=chat_body("openai", stream=True))
    elapsed = time.monotonic() - start
    assert resp.status == 200, resp
    events = parse_sse(resp.raw)
    assert deltas(events).startswith("piece0 piece1 "), events[:3]
    assert events[-1][0] == "error" and events[-1][1]["status"] == 504, events[-1]
    assert elapsed < TIMEOUT_S + 2, elapsed


def test_the_client_leaving_mid_stream_aborts_the_upstream_transfer(stack):
    user = fresh(stack)
    MOCK.set_mode("slow")  # 50 pieces, 0.2 s apart: 10 s if nobody stops it
    conn, resp = open_stream(stack, chat_body("openai", stream=True), user)
    assert resp.readline().startswith(b'data: {"delta":"piece0 "}')
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    [call] = MOCK.wait_for(lambda c: c and (c[-1]["aborted"] or c[-1]["finished"]), TIMEOUT_S + 3)
    assert call["aborted"] and call["aborted_after"] < TIMEOUT_S - 0.5, call


def test_the_client_leaving_during_a_long_wait_aborts_the_upstream_call(stack):
    user = fresh(stack)
    MOCK.set_mode("hang")
    body = json.dumps(chat_body("openai")).encode()
    with socket.create_connection(("127.0.0.1", stack.port), timeout=5) as s:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Test-User: %s\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (CHAT.encode(), user.encode(), len(body), body))
        MOCK.wait_for(lambda c: c, 3)
        time.sleep(0.2)
    [call] = MOCK.wait_for(lambda c: c and c[-1]["closed_after"] is not None, TIMEOUT_S + 3)
    # The service would give up at TIMEOUT_S anyway: it must stop well before.
    assert call["closed_after"] < TIMEOUT_S - 0.5, call


# --- verify ----------------------------------------------------------------------------------

def test_verify_gives_true_false_and_null(stack):
    user = fresh(stack)
    store_key(stack, user, "openai")
    body = expect(verify(stack, user, "openai"), 200)
    assert body == {"provider": "openai", "source": "user", "valid": True, "detail": "OpenAI accepted the key"}, body
    MOCK.set_mode("401")
    body = expect(verify(stack, user, "openai"), 200)
    assert body["valid"] is False and body["source"] == "user" and "401" in body["detail"], body
    MOCK.set_mode("500")
    body = expect(verify(stack, user, "openai"), 200)
    assert body["valid"] is None and "HTTP 500" in body["detail"], body
    MOCK.set_mode("hang")
    start = time.monotonic()
    body = expect(verify(stack, user, "openai"), 200)
    assert body["valid"] is None and "did not answer" in body["detail"], body
    assert time.monotonic() - start < TIMEOUT_S + 2
    MOCK.set_mode("401")
    body = expect(verify(stack, user, "gemini"), 200)  # 400 API_KEY_INVALID is a refusal
    assert body["valid"] is False and body["source"] == "env", body


def test_verify_makes_the_cheapest_authenticated_request_of_each_provider(stack):
    user = fresh(stack)
    keys = {p: store_key(stack, user, p) for p in ("anthropic", "perplexity", "openrouter")}
    for provider in ("openai", "anthropic", "gemini", "perplexity", "openrouter"):
        assert expect(verify(stack, user, provider), 200)["valid"] is True, provider
    openai, anthropic, gemini, perplexity, openrouter = MOCK.calls()
    assert (openai["method"], openai["path"], openai["key"]) == ("GET", "/openai/v1/models", SYSTEM_OPENAI)
    assert (anthropic["method"], anthropic["path"], anthropic["key"]) == ("GET", "/anthropic/v1/models",
                                                                          keys["anthropic"])
    assert anthropic["headers"]["anthropic-version"] == "2023-06-01"
    assert (gemini["method"], gemini["path"], gemini["query"]) == ("GET", "/gemini/v1beta/models", "")
    assert gemini["key"] == SYSTEM_GEMINI
    # OpenRouter's model list needs no key: its key endpoint does
    assert (openrouter["method"], openrouter["path"]) == ("GET", "/openrouter/api/v1/key")
    # Perplexity has no free authenticated request: one billed token
    assert (perplexity["method"], perplexity["path"]) == ("POST", "/perplexity/chat/completions")
    assert perplexity["body"]["max_tokens"] == 1 and perplexity["body"]["model"] == "sonar", perplexity["body"]
    assert perplexity["key"] == keys["perplexity"]


def test_verify_a_candidate_key_from_the_body_without_storing_it(stack):
    user = fresh(stack)
    stored = store_key(stack, user, "openai")
    candidate = new_key("sk-candidate-")
    stack.remember_keys(candidate)
    body = expect(verify(stack, user, "openai", {"apiKey": "  %s\n" % candidate}), 200)
    assert body["source"] == "candidate" and body["valid"] is True, body
    body = expect(verify(stack, user, "anthropic", {"api_key": candidate}), 200)
    assert body["source"] == "candidate", body
    assert [c["key"] for c in MOCK.calls()] == [candidate, candidate]
    masks = expect(stack.request("GET", API_KEYS, user=user), 200)
    assert masks["openaiApiKey"] == stored[:3] + "..." + stored[-4:] and masks["anthropicApiKey"] is None, masks
    for bad in ("sk-...wxyz", "two words", "", 5):
        resp = verify(stack, user, "openai", {"apiKey": bad})
        expect(resp, 422)
    expect(verify(stack, user, "nope", {"apiKey": candidate}), 400, "Unknown provider: nope")
    expect(verify(stack, user, "nope", {"apiKey": 5}), 422)  # the body is checked first
    assert len(MOCK.calls()) == 2


def test_unreachable_and_refused_base_urls(stack):
    user = fresh(stack)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    stack.service_restart({"OPENAI_BASE_URL": "http://127.0.0.1:%d/v1" % closed,
                           "GEMINI_BASE_URL": "http://192.0.2.1/gemini",
                           "PERPLEXITY_BASE_URL": "http://localhost:%d/perplexity" % MOCK.port})
    try:
        store_key(stack, user, "perplexity")
        body = expect(verify(stack, user, "openai"), 200)
        assert body["valid"] is None and "Could not reach OpenAI" in body["detail"], body
        assert "Could not reach" in expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502)["detail"]
        # plain http is for loopback only: refused before any connection
        body = expect(verify(stack, user, "gemini"), 200)
        assert body["valid"] is None and "plain http" in body["detail"], body
        assert "plain http" in expect(stack.request("POST", CHAT, user=user, body=chat_body("gemini")), 502)["detail"]
        # localhost is loopback
        assert expect(stack.request("POST", CHAT, user=user, body=chat_body("perplexity")), 200)["keySource"] == "user"
        assert [c["provider"] for c in MOCK.calls()] == ["perplexity"]
    finally:
        stack.service_restart()


# --- usage ------------------------------------------------------------------------------------

def test_usage_adds_up_per_user_provider_and_month(stack):
    user, other = fresh(stack), fresh(stack, "other")
    store_key(stack, user, "anthropic")
    for body in (chat_body("openai"), chat_body("openai"), chat_body("openai", stream=True),
                 chat_body("anthropic", stream=True), chat_body("gemini")):
        assert stack.request("POST", CHAT, user=user, body=body).status == 200
    MOCK.set_mode("401")  # refused: not billed, not counted
    expect(stack.request("POST", CHAT, user=user, body=chat_body("openai")), 502)
    expect(stack.request("POST", CHAT, user=user, body=chat_body("openrouter")), 400)
    expect(verify(stack, user, "openai"), 200)  # checks are not chat usage
    month = time.strftime("%Y-%m", time.gmtime())
    usage = expect(stack.request("GET", USAGE, user=user), 200)
    zero = {"requests": 0, "inputTokens": 0, "outputTokens": 0}

    def counted(total, source):  # the totals and, beside them, the same under the key's source
        other = "user" if source == "system" else "system"
        return dict(total, bySource={source: total, other: zero})
    assert usage == {"month": month, "providers": {
        "openai": counted({"requests": 3, "inputTokens": 39, "outputTokens": 21}, "system"),
        "anthropic": counted({"requests": 1, "inputTokens": 13, "outputTokens": 7}, "user"),
        "gemini": counted({"requests": 1, "inputTokens": 13, "outputTokens": 7}, "system"),
        "perplexity": counted(zero, "user"), "openrouter": counted(zero, "user")}}, usage
    assert list(usage["providers"]) == ["openai", "anthropic", "gemini", "perplexity", "openrouter"]
    assert expect(stack.request("GET", USAGE, user=other), 200)["providers"]["openai"] == counted(zero, "user")
    flat = stack.redis_cli("HGETALL", "gofannon:usage:{%s}:%s" % (user, month))
    assert dict(zip(flat[0::2], flat[1::2]))["openai:inputTokens"] == "39", flat
    expect(stack.request("GET", USAGE), 401, "Not authenticated")


def test_usage_is_503_when_redis_is_down(stack):
    user = fresh(stack)
    stack.redis_stop()
    try:
        expect(stack.request("GET", USAGE, user=user), 503, "Key store unavailable")
    finally:
        stack.redis_start()


# --- keys stay secret ----------------------------------------------------------------------------

def test_no_key_travels_in_a_url_or_appears_in_a_log(stack):
    user = fresh(stack)
    keys = [store_key(stack, user, p) for p in ("openai", "anthropic", "gemini")]
    for provider in ("openai", "anthropic", "gemini"):
        stack.request("POST", CHAT, user=user, body=chat_body(provider))
        stack.request("POST", CHAT, user=user, body=chat_body(provider, stream=True))
        verify(stack, user, provider)
    MOCK.set_mode("500")
    for provider in ("openai", "anthropic", "gemini"):
        stack.request("POST", CHAT, user=user, body=chat_body(provider))
    calls = MOCK.calls()
    assert len(calls) == 12 and all(c["key"] in keys for c in calls)
    for c in calls:
        assert not any(k in c["path"] + "?" + c["query"] for k in keys + [SYSTEM_GEMINI, SYSTEM_OPENAI]), c["path"]
    time.sleep(0.2)  # the request lines are written after the reply
    logs = stack.service_log_text()
    assert "event=llm_call" in logs
    for name in sorted(os.listdir(stack.state)):
        if name.endswith(".log"):
            with open(os.path.join(stack.state, name), errors="replace") as f:
                text = f.read()
            for key in keys + [SYSTEM_GEMINI, SYSTEM_OPENAI]:
                assert key not in text, "a key is in %s" % name
    # (run.py checks every log of every stack once more at the end)
