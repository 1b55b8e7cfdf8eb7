"""Monthly allowances on the system-wide keys (docs/llm.md, "Monthly
allowances"), end to end through nginx, against real Redis and
tests/mock_provider.py: the allowance reached exactly and crossed by one
call, the next month by the test clock (GOFANNON_TEST_NOW, a file the
service re-reads on every call), the user's own key never limited,
systemKey and reason in /api/providers, usage bySource, the environment
over the registry, and bad values refused at start.

Every chat the mock answers costs 13 input + 7 output = 20 tokens."""

import atexit
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from mock_provider import MockProvider

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHAT = "/api/llm/chat"
API_KEYS = "/api/users/me/api-keys"
USAGE = "/api/users/me/usage"
PROVIDERS = "/api/providers"
CALL_TOKENS = 20
SYSTEM = {
    "OPENAI_API_KEY": "sk-system-openai-allow-3c9e1f7a52d04b86",
    "GEMINI_API_KEY": "gemini-system-allow-8a41c2e7f9b35d06",
    "ANTHROPIC_API_KEY": "sk-ant-system-allow-5e2b9d0c7a1f4e38",
    "PERPLEXITYAI_API_KEY": "pplx-system-allow-1f6a8c3e9b2d7054",
    "OPENROUTER_API_KEY": "",
}
# Allowances: openai 40 from the environment over the registry's 1000
# (reached exactly by 2 calls); gemini 50 from the registry (3 calls cross
# it); perplexity 20 (its verify bills); anthropic 30 in the registry, 0 in
# the environment: none.
ALLOWANCE = {"openai": 40, "gemini": 50, "perplexity": 20}

HERE = tempfile.mkdtemp(prefix="gofannon-allowance-")
atexit.register(shutil.rmtree, HERE, True)
CLOCK = os.path.join(HERE, "now")
REGISTRY = os.path.join(HERE, "providers.json")
MOCK = MockProvider(lifetime=600).start()


def write_registry():
    with open(os.path.join(TOP, "src", "providers.json")) as f:
        reg = json.load(f)
    extra = {"openai": 1000, "gemini": 50, "perplexity": 20, "anthropic": 30}
    for p in reg["providers"]:
        if p["id"] in extra:
            p["systemKeyMonthlyTokens"] = extra[p["id"]]
    with open(REGISTRY, "w") as f:
        json.dump(reg, f)


def set_clock(iso):
    with open(CLOCK + ".tmp", "w") as f:
        f.write(iso + "\n")
    os.replace(CLOCK + ".tmp", CLOCK)  # never read half-written


def epoch(iso):
    return int(time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))) - time.timezone


write_registry()
set_clock("2026-12-31T23:00:00Z")

STACK_OPTIONS = {
    "system_keys": SYSTEM,
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="3", GOFANNON_TEST_NOW=CLOCK,
                        GOFANNON_PROVIDERS_FILE=REGISTRY, OPENAI_SYSTEM_KEY_MONTHLY_TOKENS="40",
                        ANTHROPIC_SYSTEM_KEY_MONTHLY_TOKENS="0"),
}


# --- helpers ------------------------------------------------------------------

def fresh(stack, when="2026-12-31T23:00:00Z"):
    """A new user, the clock at when, and a mock answering "ok"."""
    out = subprocess.run([stack.binary, "version"], capture_output=True, text=True).stdout
    if "(test hooks)" not in out:
        raise unittest.SkipTest("needs a build configured with --enable-test-hooks (GOFANNON_TEST_NOW)")
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(*[k for k in SYSTEM.values() if k])
    set_clock(when)
    return "allow-%s" % uuid.uuid4().hex[:10]


def chat(stack, user, provider, **extra):
    body = {"provider": provider, "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra)
    return stack.request("POST", CHAT, user=user, body=body)


def verify(stack, user, provider, body=None):
    return stack.request("POST", API_KEYS + "/%s/verify" % provider, user=user, body=body)


def spent_detail(name):
    return "Monthly allowance for the system-wide %s key is used up. Add your own key to continue." % name


def assert_spent(resp, name, now):
    assert resp.status == 429, resp
    assert resp.json == {"detail": spent_detail(name)}, resp.raw
    nxt = "%04d-%02d-01T00:00:00Z" % ((int(now[:4]) + 1, 1) if now[5:7] == "12" else (int(now[:4]), int(now[5:7]) + 1))
    assert resp.header("Retry-After") == str(epoch(nxt) - epoch(now)), (resp.header("Retry-After"), now)


def provider_status(stack, user, provider):
    resp = stack.request("GET", PROVIDERS, user=user)
    assert resp.status == 200, resp
    return {p["id"]: p for p in resp.json["providers"]}[provider]


def store_key(stack, user, provider):
    key = "sk-user-%s-%s" % (provider[:4], uuid.uuid4().hex)
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": provider, "apiKey": key})
    assert resp.status == 200, resp
    return key


# --- the allowance ------------------------------------------------------------

def test_reached_exactly_the_next_call_is_429_without_any_provider_call(stack):
    now = "2026-12-31T23:00:00Z"
    user = fresh(stack, now)
    for _ in range(2):  # 20 + 20 = 40: exactly the allowance
        resp = chat(stack, user, "openai")
        assert resp.status == 200 and resp.json["keySource"] == "env", resp
    calls = len(MOCK.calls())
    assert_spent(chat(stack, user, "openai"), "OpenAI", now)
    assert resp.header("Retry-After") is None
    # a stream is refused the same way, before any event is sent
    assert_spent(chat(stack, user, "openai", stream=True), "OpenAI", now)
    # the status line names it, as nginx passes on the service's reason phrase
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    conn.request("POST", CHAT, body=json.dumps({"provider": "openai", "model": "m", "messages": [
        {"role": "user", "content": "hi"}]}), headers={"Content-Type": "application/json", "X-Test-User": user})
    raw = conn.getresponse()
    assert (raw.status, raw.reason) == (429, "Too Many Requests"), (raw.status, raw.reason)
    conn.close()
    assert len(MOCK.calls()) == calls, "a refused call reached the provider"
    status = provider_status(stack, user, "openai")
    assert status["systemKey"] == {"allowance": 40, "used": 40, "remaining": 0,
                                   "resetsAt": "2027-01-01T00:00:00Z"}, status
    assert status["available"] is False and status["reason"] == "allowance", status
    assert status["source"] == "env" and status["userKey"]["configured"] is False, status
    # another provider's allowance is its own
    gemini = provider_status(stack, user, "gemini")
    assert gemini["systemKey"] == {"allowance": 50, "used": 0, "remaining": 50,
                                   "resetsAt": "2027-01-01T00:00:00Z"}, gemini
    assert gemini["available"] is True and gemini["reason"] is None, gemini
    # another user's is untouched
    other = "allow-other-%s" % uuid.uuid4().hex[:8]
    assert chat(stack, other, "openai").status == 200


def test_the_call_that_crosses_it_is_served_and_the_next_is_refused(stack):
    now = "2026-11-28T22:41:02Z"
    user = fresh(stack, now)
    for n in range(3):  # 20, 40 (< 50), 60: the third crosses it and is served
        before = provider_status(stack, user, "gemini")["systemKey"]
        assert before["used"] == CALL_TOKENS * n and before["remaining"] == 50 - CALL_TOKENS * n, before
        assert chat(stack, user, "gemini").status == 200
    assert_spent(chat(stack, user, "gemini"), "Google Gemini", now)
    status = provider_status(stack, user, "gemini")
    assert status["systemKey"] == {"allowance": 50, "used": 60, "remaining": 0,
                                   "resetsAt": "2026-12-01T00:00:00Z"}, status
    assert status["reason"] == "allowance" and status["available"] is False


def test_a_negative_counter_written_by_hand_is_read_without_overflow(stack):
    # an operator "refunding" tokens with HINCRBY past zero leaves a
    # negative counter: it counts as 0, as gofannon-keys stats reads it,
    # and the sum of input and output never overflows (it did: a worker
    # killed under UBSan, else a wrapped sum read as "allowance spent")
    now = "2026-11-28T22:41:02Z"
    user = fresh(stack, now)
    usage = "gofannon:usage:{%s}:2026-11" % user
    stack.redis_cli("HSET", usage, "gemini:system:inputTokens", "-1", "gemini:system:outputTokens", "5")
    status = provider_status(stack, user, "gemini")
    assert status["systemKey"]["used"] == 5 and status["available"] is True, status
    assert chat(stack, user, "gemini").status == 200
    stack.redis_cli("HSET", usage, "gemini:system:inputTokens", "-9223372036854775808",
                    "gemini:system:outputTokens", "-1")
    status = provider_status(stack, user, "gemini")
    assert status["systemKey"]["used"] == 0 and status["available"] is True, status


def test_the_next_month_by_the_test_clock_is_allowed_again(stack):
    user = fresh(stack, "2026-12-31T23:59:59Z")
    assert chat(stack, user, "openai").status == 200
    assert chat(stack, user, "openai").status == 200
    assert_spent(chat(stack, user, "openai"), "OpenAI", "2026-12-31T23:59:59Z")  # Retry-After: 1
    set_clock("2027-01-01T00:00:00Z")
    resp = chat(stack, user, "openai")
    assert resp.status == 200 and resp.json["keySource"] == "env", resp
    status = provider_status(stack, user, "openai")
    assert status["systemKey"] == {"allowance": 40, "used": 20, "remaining": 20,
                                   "resetsAt": "2027-02-01T00:00:00Z"}, status
    assert status["available"] is True and status["reason"] is None
    usage = stack.request("GET", USAGE, user=user).json
    assert usage["month"] == "2027-01" and usage["providers"]["openai"]["bySource"]["system"] == \
        {"requests": 1, "inputTokens": 13, "outputTokens": 7}, usage
    assert stack.redis_cli("HGET", "gofannon:usage:{%s}:2026-12" % user, "openai:system:inputTokens") == "26"


def test_the_users_own_key_is_never_limited_and_counted_as_user(stack):
    now = "2026-12-15T12:00:00Z"
    user = fresh(stack, now)
    for _ in range(2):
        assert chat(stack, user, "openai").status == 200
    assert_spent(chat(stack, user, "openai"), "OpenAI", now)
    key = store_key(stack, user, "openai")
    for _ in range(4):  # 80 more tokens, twice the allowance
        resp = chat(stack, user, "openai")
        assert resp.status == 200 and resp.json["keySource"] == "user", resp
    assert chat(stack, user, "openai", stream=True).status == 200
    assert all(c["key"] == key for c in MOCK.calls()[-5:])
    status = provider_status(stack, user, "openai")
    assert status["available"] is True and status["reason"] is None and status["source"] == "user", status
    assert status["systemKey"]["used"] == 40 and status["systemKey"]["remaining"] == 0, status
    usage = stack.request("GET", USAGE, user=user).json["providers"]["openai"]
    assert usage == {"requests": 7, "inputTokens": 91, "outputTokens": 49, "bySource": {
        "user": {"requests": 5, "inputTokens": 65, "outputTokens": 35},
        "system": {"requests": 2, "inputTokens": 26, "outputTokens": 14}}}, usage
    # a candidate key is never limited either; without the user key, the limit is back
    candidate = "sk-candidate-%s" % uuid.uuid4().hex
    stack.remember_keys(candidate)
    assert verify(stack, user, "openai", {"apiKey": candidate}).status == 200
    assert stack.request("DELETE", API_KEYS + "/openai", user=user).status == 200
    assert_spent(chat(stack, user, "openai"), "OpenAI", now)


def test_a_verify_that_bills_is_refused_over_the_allowance_and_a_free_one_is_not(stack):
    now = "2026-12-15T12:00:00Z"
    user = fresh(stack, now)
    resp = verify(stack, user, "perplexity")  # billed, with 20 left: served
    assert resp.status == 200 and resp.json["source"] == "env", resp
    assert chat(stack, user, "perplexity").status == 200  # 20: spent
    assert_spent(verify(stack, user, "perplexity"), "Perplexity", now)
    candidate = "pplx-candidate-%s" % uuid.uuid4().hex
    stack.remember_keys(candidate)
    resp = verify(stack, user, "perplexity", {"apiKey": candidate})
    assert resp.status == 200 and resp.json["source"] == "candidate", resp
    for _ in range(2):
        assert chat(stack, user, "openai").status == 200
    resp = verify(stack, user, "openai")  # a free model list: not limited
    assert resp.status == 200 and resp.json["valid"] is True, resp
    perplexity = provider_status(stack, user, "perplexity")
    assert perplexity["verifyBilled"] is True and perplexity["reason"] == "allowance", perplexity


def test_the_environment_wins_over_the_registry_and_0_removes_it(stack):
    user = fresh(stack)
    by_id = {p["id"]: p for p in stack.request("GET", PROVIDERS, user=user).json["providers"]}
    assert by_id["openai"]["systemKey"]["allowance"] == 40  # registry 1000, environment 40
    assert by_id["anthropic"]["systemKey"] is None  # registry 30, environment 0
    assert by_id["openrouter"]["systemKey"] is None and by_id["openrouter"]["reason"] is None
    assert by_id["openrouter"]["available"] is False  # no key at all: not an allowance
    for _ in range(3):  # 60 tokens past the registry's 30: nothing limits them
        assert chat(stack, user, "anthropic").status == 200
    assert provider_status(stack, user, "anthropic")["reason"] is None


def hmgets(stack, method, path, user, body=None):
    """How many HMGETs Redis served for one request."""
    stack.redis_cli("CONFIG", "RESETSTAT")
    resp = stack.request(method, path, user=user, body=body)
    assert resp.status == 200, resp
    stats = stack.redis_cli("INFO", "commandstats")
    for line in stats.splitlines():
        if line.startswith("cmdstat_hmget:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


def test_the_usage_is_read_only_for_a_system_key_call_with_an_allowance(stack):
    user = fresh(stack)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    # the keys' HMGET, then the allowance's: one more read, no more
    assert hmgets(stack, "POST", CHAT, user, dict(body, provider="openai")) == 2
    assert hmgets(stack, "GET", PROVIDERS, user) == 2
    # no allowance (anthropic: 0 in the environment): no read of the usage
    assert hmgets(stack, "POST", CHAT, user, dict(body, provider="anthropic")) == 1
    # the user's own key: never measured, so never read (the first call
    # writes its last use, checking the key with one more HMGET; the next
    # within the minute writes nothing)
    store_key(stack, user, "openai")
    assert chat(stack, user, "openai").status == 200
    assert hmgets(stack, "POST", CHAT, user, dict(body, provider="openai")) == 1


def run_service(stack, env):
    sock = os.path.join(stack.state, "refused.sock")
    return subprocess.run([stack.binary, "--listen", sock], env=stack.service_environment(env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)


def test_bad_allowances_refuse_to_start_naming_the_variable_or_the_field(stack):
    fresh(stack)
    for value in ("abc", "-1", "1.5", "1e6", "10 ", "1000000000000001"):
        proc = run_service(stack, {"OPENAI_SYSTEM_KEY_MONTHLY_TOKENS": value})
        assert proc.returncode == 1, (value, proc.returncode)
        assert "provider 'openai': OPENAI_SYSTEM_KEY_MONTHLY_TOKENS must be a whole number from 0 to " \
               "1000000000000000 (0: no allowance)" in proc.stderr, proc.stderr
    bad = os.path.join(stack.state, "bad-registry.json")
    with open(REGISTRY) as f:
        reg = json.load(f)
    reg["providers"][1]["systemKeyMonthlyTokens"] = 0
    with open(bad, "w") as f:
        json.dump(reg, f)
    proc = run_service(stack, {"GOFANNON_PROVIDERS_FILE": bad})
    assert proc.returncode == 1
    assert "provider 'anthropic': 'systemKeyMonthlyTokens' must be a whole number from 1 to " \
           "1000000000000000" in proc.stderr, proc.stderr


def test_no_system_or_user_key_in_any_log(stack):
    fresh(stack)
    time.sleep(0.2)  # the request lines are written after the reply
    logs = stack.service_log_text()
    assert "event=llm_call" in logs
    for key in [k for k in SYSTEM.values() if k]:
        assert key not in logs
    # (run.py searches every log of every stack for every remembered key)
