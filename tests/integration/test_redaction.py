"""A provider that echoes the key it was given (issue 9, item 1): whatever
part of the key comes back, in an error body, in an error event of a stream
or in a verify, none of it reaches the client or the service's log. Through
nginx, for each wire style, with users' keys and the system keys, against
tests/mock_provider.py in its "echo" mode."""

import os
import time
import uuid

from mock_provider import MockProvider

CHAT = "/api/llm/chat"
API_KEYS = "/api/users/me/api-keys"
STYLES = ("openai", "anthropic", "gemini")  # one provider of each wire style
SYSTEM_KEYS = {
    "OPENAI_API_KEY": "sk-sysecho-" + uuid.uuid4().hex,
    "ANTHROPIC_API_KEY": "sk-ant-sysecho-" + uuid.uuid4().hex,
    "GEMINI_API_KEY": "AIza-sysecho-" + uuid.uuid4().hex,
}
SYSTEM_KEY_OF = {"openai": SYSTEM_KEYS["OPENAI_API_KEY"], "anthropic": SYSTEM_KEYS["ANTHROPIC_API_KEY"],
                 "gemini": SYSTEM_KEYS["GEMINI_API_KEY"]}

MOCK = MockProvider(lifetime=600).start()

STACK_OPTIONS = {
    "system_keys": SYSTEM_KEYS,
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="3", GOFANNON_LOG_LEVEL="debug"),
}


def fresh(stack):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    MOCK.set_mode("echo")
    stack.remember_keys(*SYSTEM_KEYS.values())
    return "redact-%s" % uuid.uuid4().hex[:10]


def store_key(stack, user, provider, key):
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": provider, "apiKey": key})
    assert resp.status == 200, resp


def runs(key):
    """What must never come back: every 8 consecutive characters of the key,
    or the whole key when it is shorter."""
    width = min(8, len(key))
    return {key[i:i + width].lower() for i in range(len(key) - width + 1)}


def assert_no_run(text, key, where):
    lower = text.lower()
    found = sorted(r for r in runs(key) if r in lower)
    # the run itself is a part of a key: say only where and how many
    assert not found, "%d runs of a %d-character key in %s" % (len(found), len(key), where)


def chat(stack, user, provider, stream):
    body = {"provider": provider, "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    if stream:
        body["stream"] = True
    return stack.request("POST", CHAT, user=user, body=body)


def echo_everywhere(stack, user, provider, key):
    """A whole reply, a stream and a verify, each echoing key: the replies
    say what failed, with the echo replaced by marks."""
    calls = len(MOCK.calls())
    whole = chat(stack, user, provider, stream=False)
    assert whole.status == 502 and "HTTP 400" in whole.json["detail"], whole
    assert "[redacted]" in whole.json["detail"], whole
    streamed = chat(stack, user, provider, stream=True)
    assert streamed.status == 200 and "event: error" in streamed.raw, streamed
    assert "failed mid-reply" in streamed.raw and "[redacted]" in streamed.raw, streamed
    checked = stack.request("POST", API_KEYS + "/%s/verify" % provider, user=user)
    assert checked.status == 200 and checked.json["valid"] is None, checked
    assert "HTTP 400" in checked.json["detail"] and "[redacted]" in checked.json["detail"], checked
    made = MOCK.calls()[calls:]
    assert len(made) == 3 and all(c["key"] == key for c in made), "the mock did not get the key to echo"
    for name, resp in (("reply", whole), ("stream", streamed), ("verify", checked)):
        assert_no_run(resp.raw, key, "the %s for %s" % (name, provider))


def assert_log_clean(stack, keys):
    time.sleep(0.2)  # the request lines are written after the reply
    log = stack.service_log_text()
    assert "event=llm_call" in log and "event=request" in log, "the debug log has the calls"
    for key in keys:
        assert_no_run(log, key, "the service log")


def test_users_keys_echoed_by_any_wire_style_never_come_back(stack):
    user = fresh(stack)
    keys = []
    for provider in STYLES:
        key = "sk-%s-echo-%s" % (provider[:4], uuid.uuid4().hex)
        store_key(stack, user, provider, key)
        keys.append(key)
        echo_everywhere(stack, user, provider, key)
    assert_log_clean(stack, keys)


def test_system_keys_echoed_by_any_wire_style_never_come_back(stack):
    user = fresh(stack)  # no key of their own: the system keys are used
    for provider in STYLES:
        echo_everywhere(stack, user, provider, SYSTEM_KEY_OF[provider])
    assert_log_clean(stack, SYSTEM_KEYS.values())


def test_a_key_shorter_than_eight_characters_is_taken_out_whole(stack):
    user = fresh(stack)
    key = "Zq!7k"
    store_key(stack, user, "anthropic", key)
    echo_everywhere(stack, user, "anthropic", key)
    assert_log_clean(stack, [key])
