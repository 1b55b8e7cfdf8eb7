"""Key expiry (docs/api.md "Expiry"), end to end: nginx, spawn-fcgi, the
service, Redis and tests/mock_provider.py, with the service's clock moved
by GOFANNON_TEST_NOW (a file the tests rewrite) to the second an expiry
falls on."""

import os
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from masks import mask
from mock_provider import MockProvider

API_KEYS = "/api/users/me/api-keys"
CHAT = "/api/llm/chat"
SYSTEM_OPENAI = "sk-system-openai-expiry-9e8d7c6b5a41"
CLOCK = os.path.join(tempfile.mkdtemp(prefix="gofannon-clock-"), "now")
T0 = 1798761600  # 2027-01-01T00:00:00Z
DAY = 86400

MOCK = MockProvider(lifetime=900).start()

STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI, "GEMINI_API_KEY": "", "OPENROUTER_API_KEY": ""},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="3", GOFANNON_TEST_NOW=CLOCK),
}


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def set_clock(t):
    with open(CLOCK + ".tmp", "w") as f:
        f.write("%d\n" % t if t is not None else "")
    os.replace(CLOCK + ".tmp", CLOCK)


def fresh(stack, prefix="exp"):
    out = subprocess.run([stack.binary, "version"], capture_output=True, text=True).stdout
    if "(test hooks)" not in out:
        raise unittest.SkipTest("this build has no test hooks (configure --enable-test-hooks): "
                                "GOFANNON_TEST_NOW is ignored")
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(SYSTEM_OPENAI)
    set_clock(T0)
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def new_key(prefix="sk-exp-"):
    return prefix + uuid.uuid4().hex



def expect(resp, status, detail=None):
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if status >= 400:
        assert list(resp.json) == ["detail"], resp.raw
        if detail is not None:
            assert resp.json["detail"] == detail, "detail %r, expected %r" % (resp.json["detail"], detail)
    return resp.json


def put(stack, user, key, provider="openai", **extra):
    stack.remember_keys(key)
    body = dict({"provider": provider, "apiKey": key}, **extra)
    return stack.request("PUT", API_KEYS, user=user, body=body)


def status(stack, user, provider="openai"):
    body = expect(stack.request("GET", "/api/providers", user=user), 200)
    return {p["id"]: p for p in body["providers"]}[provider]


def effective(stack, user):
    return expect(stack.request("GET", API_KEYS + "/openai/effective", user=user), 200)


def chat(stack, user):
    body = {"provider": "openai", "model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return stack.request("POST", CHAT, user=user, body=body)


def key_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


def actions(stack, user):
    body = expect(stack.request("GET", API_KEYS + "/activity?limit=100", user=user), 200)
    return [e["action"] for e in body["entries"]]


def expired_entries(stack, user):
    body = expect(stack.request("GET", API_KEYS + "/activity?limit=100", user=user), 200)
    return [e for e in body["entries"] if e["action"] == "expired"]


# --- the boundary ---------------------------------------------------------------

def test_a_key_is_used_until_the_second_before_and_deleted_at_it(stack):
    user = fresh(stack)
    key = new_key()
    expect(put(stack, user, key, expiresInDays=1), 200)
    st = status(stack, user)["userKey"]
    assert st["expiresAt"] == iso(T0 + DAY) and st["expiresSoon"] is True and st["expired"] is False, st

    set_clock(T0 + DAY - 1)
    assert effective(stack, user)["source"] == "user"
    assert expect(chat(stack, user), 200)["keySource"] == "user"
    assert [c["key"] for c in MOCK.calls()] == [key]
    assert expect(stack.request("GET", API_KEYS, user=user), 200)["openaiApiKey"] == mask(key)
    assert expired_entries(stack, user) == []

    set_clock(T0 + DAY)
    eff = effective(stack, user)
    assert eff == {"provider": "openai", "hasKey": True, "has_key": True, "source": "env"}, eff
    p = status(stack, user)
    assert p["available"] is True and p["source"] == "env", p
    assert p["userKey"] == {"configured": False, "masked": None, "updatedAt": None, "expiresAt": None,
                            "expiresSoon": False, "expired": True, "expiredAt": iso(T0 + DAY),
                            "lastUsedAt": None, "rejected": False, "rejectedAt": None}, p["userKey"]
    assert key_hash(stack, user) == {"openaiApiKey:expiredAt": iso(T0 + DAY)}
    assert expect(chat(stack, user), 200)["keySource"] == "env"
    assert [c["key"] for c in MOCK.calls()] == [key, SYSTEM_OPENAI]
    [entry] = expired_entries(stack, user)
    assert entry["at"] == iso(T0 + DAY) and entry["provider"] == "openai" and entry["client"] == "127.0.0.1"
    assert entry["source"] == "user" and entry["by"] == "user", entry
    assert actions(stack, user) == ["expired", "added"]
    lines = [line for line in stack.service_log_text().splitlines()
             if "event=key_changed" in line and 'user="%s"' % user in line and "action=expired" in line]
    assert len(lines) == 1 and lines[0].endswith("provider=openai action=expired by=user"), lines


def test_expires_at_is_exact_to_the_second(stack):
    user = fresh(stack, "exact")
    expect(put(stack, user, new_key(), expiresAt=iso(T0 + 90)), 200)
    set_clock(T0 + 89)
    assert expect(stack.request("GET", API_KEYS, user=user), 200)["openaiApiKey"] is not None
    set_clock(T0 + 91)  # after it, too
    assert expect(stack.request("GET", API_KEYS, user=user), 200)["openaiApiKey"] is None
    assert status(stack, user)["userKey"]["expiredAt"] == iso(T0 + 91)


def test_every_read_deletes_an_expired_key(stack):
    reads = {
        "key map": lambda u: stack.request("GET", API_KEYS, user=u),
        "providers": lambda u: stack.request("GET", "/api/providers", user=u),
        "effective": lambda u: stack.request("GET", API_KEYS + "/openai/effective", user=u),
        "chat": lambda u: chat(stack, u),
        "verify": lambda u: stack.request("POST", API_KEYS + "/openai/verify", user=u),
        "a PUT of another provider": lambda u: put(stack, u, new_key("sk-ant-"), "anthropic"),
        "a DELETE of another provider": lambda u: stack.request("DELETE", API_KEYS + "/anthropic", user=u),
    }
    keys_sent = set()
    for name, read in reads.items():
        user = fresh(stack, "read")
        expect(put(stack, user, new_key(), expiresAt=iso(T0 + 10)), 200)
        set_clock(T0 + 10)
        assert read(user).status == 200, name
        h = key_hash(stack, user)
        assert "openaiApiKey" not in h and h.get("openaiApiKey:expiredAt") == iso(T0 + 10), (name, h)
        assert len(expired_entries(stack, user)) == 1, name
        keys_sent |= {c["key"] for c in MOCK.calls()}
    # the chat and the verify went out with the system key, not the expired one
    assert keys_sent == {SYSTEM_OPENAI}, len(keys_sent)


def test_storing_or_removing_clears_the_expired_row(stack):
    user = fresh(stack, "clear")
    expect(put(stack, user, new_key(), expiresInDays=2), 200)
    set_clock(T0 + 2 * DAY)
    assert status(stack, user)["userKey"]["expired"] is True
    key = new_key()
    expect(put(stack, user, key), 200)
    st = status(stack, user)["userKey"]
    assert st["expired"] is False and st["expiredAt"] is None and st["expiresAt"] is None, st
    assert st["configured"] is True and st["masked"] == mask(key)
    assert actions(stack, user) == ["added", "expired", "added"]
    expect(put(stack, user, new_key(), expiresInDays=1), 200)
    set_clock(T0 + 3 * DAY)
    assert status(stack, user)["userKey"]["expired"] is True
    expect(stack.request("DELETE", API_KEYS + "/openai", user=user), 200)
    assert status(stack, user)["userKey"]["expired"] is False
    assert key_hash(stack, user) == {}
    # removing what had already expired removes no key: no "removed" entry
    assert actions(stack, user) == ["expired", "replaced", "added", "expired", "added"]


def test_a_put_without_expiry_drops_the_old_one(stack):
    user = fresh(stack, "drop")
    expect(put(stack, user, new_key(), expiresInDays=5), 200)
    expect(put(stack, user, new_key()), 200)
    assert status(stack, user)["userKey"]["expiresAt"] is None
    set_clock(T0 + 400 * DAY)
    assert status(stack, user)["userKey"]["configured"] is True


def test_expires_soon_from_seven_days_before(stack):
    user = fresh(stack, "soon")
    expect(put(stack, user, new_key(), expiresInDays=8), 200)
    assert status(stack, user)["userKey"]["expiresSoon"] is False
    set_clock(T0 + DAY - 1)
    assert status(stack, user)["userKey"]["expiresSoon"] is False
    set_clock(T0 + DAY)
    st = status(stack, user)["userKey"]
    assert st["expiresSoon"] is True and st["expiresAt"] == iso(T0 + 8 * DAY), st


def test_bad_expiries_are_422_and_store_nothing(stack):
    user = fresh(stack, "bad")
    days = "Field 'expiresInDays' must be a whole number from 1 to 365"
    cases = [
        ({"expiresAt": iso(T0 + DAY), "expiresInDays": 1}, "Give either 'expiresAt' or 'expiresInDays', not both"),
        ({"expiresInDays": 0}, days),
        ({"expiresInDays": 366}, days),
        ({"expiresInDays": 1.5}, days),
        ({"expiresInDays": "30"}, days),
        ({"expiresAt": iso(T0)}, "Field 'expiresAt' must be in the future"),
        ({"expiresAt": iso(T0 + 365 * DAY + 1)}, "Field 'expiresAt' must be at most 365 days ahead"),
        ({"expiresAt": "2027-02-01"}, "Field 'expiresAt' must be a UTC time as YYYY-MM-DDTHH:MM:SSZ"),
    ]
    for extra, detail in cases:
        expect(put(stack, user, new_key(), **extra), 422, detail)
    assert key_hash(stack, user) == {}
    expect(put(stack, user, new_key(), expiresAt=iso(T0 + 365 * DAY)), 200)
    expect(put(stack, user, new_key(), expiresInDays=365), 200)
    assert status(stack, user)["userKey"]["expiresAt"] == iso(T0 + 365 * DAY)


# --- races ------------------------------------------------------------------------

def test_deleting_an_expired_key_never_deletes_one_put_meanwhile(stack):
    """The compare inside the deletion, made deterministic by
    tests/integration/expire_race.c: the request read the old key, another
    stored a new one, then the deletion runs."""
    race = os.path.join(stack.build_dir, "tests", "integration", "expire_race")
    done = subprocess.run([race, "race-" + uuid.uuid4().hex[:6]], env=stack.service_environment(),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "not ok" not in done.stdout and done.stdout.count("\nok ") == 6, \
        done.stdout + done.stderr


def test_a_put_racing_the_expiring_read_keeps_the_new_key(stack):
    """Through nginx: a read that expires the old key and a PUT of a new
    one, at the same time, for 40 users. Whatever order Redis sees them
    in, the new key stays, and the old one expired exactly once."""
    fresh(stack, "race")
    users = ["race-%02d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(40)]
    for user in users:
        expect(put(stack, user, new_key(), expiresAt=iso(T0 + 5)), 200)
    set_clock(T0 + 5)
    new = {user: new_key("sk-new-") for user in users}
    stack.remember_keys(*new.values())
    errors = []

    def reader(user):
        for _ in range(3):
            r = stack.request("GET", "/api/providers", user=user)
            if r.status != 200:
                errors.append(r)

    def writer(user):
        r = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": new[user]})
        if r.status != 200:
            errors.append(r)

    threads = []
    for user in users:
        threads += [threading.Thread(target=reader, args=(user,)), threading.Thread(target=writer, args=(user,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors[:3]
    for user in users:
        assert expect(stack.request("GET", API_KEYS, user=user), 200)["openaiApiKey"] == mask(new[user]), user
        assert actions(stack, user) == ["added", "expired", "added"], (user, actions(stack, user))


def test_rekey_leaves_every_mark_alone(stack):
    """rekey walks the values only: the marks beside a key (expiresAt,
    lastUsedAt, rejectedAt, expiredAt) are neither values of unknown
    providers nor rewritten."""
    user = fresh(stack, "rekey")
    expect(put(stack, user, new_key(), expiresInDays=30), 200)
    expect(chat(stack, user), 200)
    name = "gofannon:users:{%s}:apiKeys" % user
    stack.redis_cli("HSET", name, "openaiApiKey:rejectedAt", iso(T0), "anthropicApiKey:expiredAt", iso(T0))
    before = key_hash(stack, user)
    assert set(before) == {"openaiApiKey", "openaiApiKey:updatedAt", "openaiApiKey:expiresAt",
                           "openaiApiKey:lastUsedAt", "openaiApiKey:rejectedAt", "anthropicApiKey:expiredAt"}
    done = subprocess.run([stack.binary, "rekey"], env=stack.service_environment(), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 unreadable and 0 of unknown providers" in done.stdout, done.stdout
    assert "rekey_value_left" not in done.stderr, done.stderr
    assert key_hash(stack, user) == before
