"""The activity trail, last use and the rejection flag of a user's keys
(docs/api.md "Activity" and "Provider status"), end to end: nginx,
spawn-fcgi, the service, Redis and tests/mock_provider.py for every
provider. The service's clock is a file (GOFANNON_TEST_NOW) the tests
rewrite, so "at most once a minute" is tested without waiting a minute."""

import json
import os
import re
import subprocess
import tempfile
import unittest
import uuid

from mock_provider import MockProvider

API_KEYS = "/api/users/me/api-keys"
ACTIVITY = API_KEYS + "/activity"
CHAT = "/api/llm/chat"
SYSTEM_OPENAI = "sk-system-openai-activity-0c1d2e3f4a5b"
SYSTEM_GEMINI = "gemini-system-key-7f3a9c2e51d04b8a"
CLOCK = os.path.join(tempfile.mkdtemp(prefix="gofannon-clock-"), "now")
T0 = 1798761600  # 2027-01-01T00:00:00Z

MOCK = MockProvider(lifetime=900).start()

STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI, "GEMINI_API_KEY": SYSTEM_GEMINI, "OPENROUTER_API_KEY": ""},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="3", GOFANNON_TEST_NOW=CLOCK),
}


# --- helpers -------------------------------------------------------------------

def iso(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def set_clock(t):
    with open(CLOCK + ".tmp", "w") as f:
        f.write("%d\n" % t)
    os.replace(CLOCK + ".tmp", CLOCK)


def real_clock():
    set_clock_text("")


def set_clock_text(text):
    with open(CLOCK + ".tmp", "w") as f:
        f.write(text)
    os.replace(CLOCK + ".tmp", CLOCK)


def need_test_hooks(stack):
    out = subprocess.run([stack.binary, "version"], capture_output=True, text=True).stdout
    if "(test hooks)" not in out:
        raise unittest.SkipTest("this build has no test hooks (configure --enable-test-hooks): "
                                "GOFANNON_TEST_NOW is ignored")


def fresh(stack, prefix="act"):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(SYSTEM_OPENAI, SYSTEM_GEMINI)
    real_clock()
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def new_key(prefix="sk-act-"):
    return prefix + uuid.uuid4().hex


def expect(resp, status, detail=None):
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if status >= 400:
        assert list(resp.json) == ["detail"], resp.raw
        if detail is not None:
            assert resp.json["detail"] == detail, "detail %r, expected %r" % (resp.json["detail"], detail)
    return resp.json


def put(stack, user, provider, key, **extra):
    stack.remember_keys(key)
    body = dict({"provider": provider, "apiKey": key}, **extra)
    return expect(stack.request("PUT", API_KEYS, user=user, body=body), 200)


def chat(stack, user, provider="openai"):
    body = {"provider": provider, "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    return stack.request("POST", CHAT, user=user, body=body)


def verify(stack, user, provider, body=None):
    return stack.request("POST", API_KEYS + "/%s/verify" % provider, user=user, body=body)


def activity(stack, user, query=""):
    return expect(stack.request("GET", ACTIVITY + query, user=user), 200)


def all_entries(stack, user, limit=100):
    """Every entry, newest first, page by page."""
    entries, cursor = [], None
    for _ in range(50):
        page = activity(stack, user, "?limit=%d" % limit + ("&cursor=" + cursor if cursor else ""))
        assert len(page["entries"]) <= limit
        entries += page["entries"]
        cursor = page["cursor"]
        if cursor is None:
            return entries
        assert cursor == page["entries"][-1]["id"], page
    raise AssertionError("the pages never end")


def stream_id(entry):
    ms, seq = entry["id"].split("-")
    return int(ms), int(seq)


def provider_status(stack, user, provider="openai"):
    body = expect(stack.request("GET", "/api/providers", user=user), 200)
    return {p["id"]: p for p in body["providers"]}[provider]


def key_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


def raw_stream(stack, user):
    return stack.redis_cli("XRANGE", "gofannon:users:{%s}:activity" % user, "-", "+") or []


def assert_no_key_material(stack, user, keys):
    """No entry of the stream, read from Redis itself, holds any key, its
    mask, or a sealed value."""
    text = json.dumps(raw_stream(stack, user))
    for key in keys:
        assert key not in text, "a key is in the activity stream"
        assert key[-4:] not in text or not re.search(r"\.\.\.%s" % re.escape(key[-4:]), text), "a mask"
    assert "v1." not in text, "a sealed value is in the activity stream"
    assert "..." not in text, "a mask is in the activity stream"


SHAPE = {"id", "at", "action", "provider", "source", "by", "client"}


# --- the trail -------------------------------------------------------------------

def test_every_change_and_check_is_in_the_trail_newest_first(stack):
    user = fresh(stack)
    first, second = new_key(), new_key()
    put(stack, user, "openai", first)
    put(stack, user, "openai", second)
    assert expect(verify(stack, user, "openai"), 200)["valid"] is True
    MOCK.set_mode("401", "openai")
    assert expect(verify(stack, user, "openai"), 200)["valid"] is False
    MOCK.set_mode("500", "openai")
    assert expect(verify(stack, user, "openai"), 200)["valid"] is None
    MOCK.set_mode("ok", "openai")
    candidate = new_key("sk-candidate-")
    stack.remember_keys(candidate)
    assert expect(verify(stack, user, "openai", {"apiKey": candidate}), 200)["valid"] is True
    expect(stack.request("DELETE", API_KEYS + "/openai", user=user), 200)
    expect(stack.request("DELETE", API_KEYS + "/openai", user=user), 200)  # nothing to remove: no entry
    assert expect(verify(stack, user, "gemini"), 200)["valid"] is True  # the system key
    entries = activity(stack, user)["entries"]
    assert activity(stack, user, "?limit=100")["cursor"] is None
    got = [(e["action"], e["provider"], e["source"], e.get("result"), e.get("status")) for e in entries]
    assert got == [
        ("verified", "gemini", "system", "valid", None),
        ("removed", "openai", "user", None, None),
        ("verified", "openai", "user", "valid", None),  # the candidate
        ("verified", "openai", "user", "error", None),
        ("rejected", "openai", "user", None, "401"),
        ("verified", "openai", "user", "invalid", None),
        ("verified", "openai", "user", "valid", None),
        ("replaced", "openai", "user", None, None),
        ("added", "openai", "user", None, None),
    ], got
    for e in entries:
        keys = set(e) - {"result", "status"}
        assert keys == SHAPE, e
        assert e["by"] == "user" and e["client"] == "127.0.0.1", e
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["at"]), e
    ids = [stream_id(e) for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), ids
    assert_no_key_material(stack, user, [first, second, candidate])


def test_each_change_is_one_key_changed_log_line(stack):
    user = fresh(stack, "log")
    put(stack, user, "anthropic", new_key("sk-ant-"))
    put(stack, user, "anthropic", new_key("sk-ant-"))
    expect(stack.request("DELETE", API_KEYS + "/anthropic", user=user), 200)
    lines = [line for line in stack.service_log_text().splitlines()
             if "event=key_changed" in line and ('user="%s"' % user) in line]
    actions = [re.search(r" action=(\w+)", line).group(1) for line in lines]
    assert actions == ["added", "replaced", "removed"], lines
    for line in lines:
        assert re.search(r'level=info .*event=key_changed user="%s" provider=anthropic action=\w+ by=user$'
                         % user, line), line


def test_the_trail_keeps_about_the_last_hundred(stack):
    user = fresh(stack, "cap")
    keys = [new_key() for _ in range(150)]
    for key in keys:
        put(stack, user, "openai", key)
    entries = all_entries(stack, user)
    # XADD MAXLEN ~ 100 drops whole stream nodes (20 entries each in the
    # shipped configuration): 100 to 119 stay
    assert 100 <= len(entries) < 120, len(entries)
    print("# 150 changes: %d entries kept" % len(entries))
    assert int(stack.redis_cli("XLEN", "gofannon:users:{%s}:activity" % user)) == len(entries)
    assert all(e["action"] == "replaced" for e in entries), entries[-1]
    ids = [stream_id(e) for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    # the newest survive: the last change is first
    assert entries[0]["id"] == raw_stream(stack, user)[-1][0]
    assert_no_key_material(stack, user, keys)


def test_paging_with_the_cursor_covers_everything_once(stack):
    user = fresh(stack, "page")
    for _ in range(23):
        put(stack, user, "openai", new_key())
    every = activity(stack, user, "?limit=100")["entries"]
    assert len(every) == 23
    first = activity(stack, user)
    assert len(first["entries"]) == 20 and first["cursor"] == first["entries"][-1]["id"]
    pages, cursor = [], None
    while True:
        page = activity(stack, user, "?limit=7" + ("&cursor=" + cursor if cursor else ""))
        pages.append([e["id"] for e in page["entries"]])
        cursor = page["cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [7, 7, 7, 2], pages
    assert sum(pages, []) == [e["id"] for e in every]
    # a page that ends exactly at the oldest entry says there is nothing older
    last = activity(stack, user, "?limit=3&cursor=" + every[-4]["id"])
    assert [e["id"] for e in last["entries"]] == [e["id"] for e in every[-3:]] and last["cursor"] is None
    # a cursor past the oldest is an empty page
    assert activity(stack, user, "?cursor=" + every[-1]["id"]) == {"entries": [], "cursor": None}
    # nothing is older than the first possible id: an empty page, not an
    # error from Redis (it refuses the exclusive start "(0-0") taken for an outage
    before = stack.service_log_text().count("redis_unavailable")
    for zero in ("0-0", "00-000"):
        assert activity(stack, user, "?cursor=" + zero) == {"entries": [], "cursor": None}
    assert stack.service_log_text().count("redis_unavailable") == before
    # Gofannon's un-prefixed path and the same page
    resp = stack.request("GET", "/users/me/api-keys/activity?limit=7", user=user)
    assert expect(resp, 200)["entries"] == activity(stack, user, "?limit=7")["entries"]


def test_a_new_user_has_an_empty_trail(stack):
    assert activity(stack, fresh(stack, "empty")) == {"entries": [], "cursor": None}


def test_bad_limits_and_cursors_are_400(stack):
    user = fresh(stack, "bad")
    for query in ("?limit=0", "?limit=101", "?limit=abc", "?limit=", "?limit=-5", "?limit=1.5"):
        expect(stack.request("GET", ACTIVITY + query, user=user), 400, "limit must be a whole number from 1 to 100")
    for query in ("?cursor=", "?cursor=abc", "?cursor=1-2-3", "?cursor=99999999999999999999999-0",
                  "?cursor=%00", "?cursor=sk-proj-abc"):
        expect(stack.request("GET", ACTIVITY + query, user=user), 400,
               "cursor must be the cursor of a previous page")


def test_activity_is_not_a_provider(stack):
    user = fresh(stack, "reserved")
    resp = stack.request("DELETE", ACTIVITY, user=user)
    expect(resp, 405, "Method not allowed")
    assert resp.header("Allow") == "GET"
    resp = stack.request("OPTIONS", ACTIVITY)
    assert resp.status == 204 and resp.header("Allow") == "GET, OPTIONS", resp
    expect(stack.request("GET", ACTIVITY), 401)
    expect(stack.request("PUT", API_KEYS, user=user, body={"provider": "activity", "apiKey": new_key()}), 400,
           "Unknown provider: activity")


def test_the_client_address_comes_from_nginx_in_every_shipped_site(stack):
    """REMOTE_ADDR travels only in the FastCGI snippet, and every site's
    only way upstream is that snippet."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(top, "nginx", "gofannon-keys-fastcgi.conf")) as f:
        snippet = f.read()
    assert re.search(r"^fastcgi_param\s+REMOTE_ADDR\s+\$remote_addr;", snippet, re.M), snippet
    for site in ("gofannon-keys.conf", "gofannon-app.conf"):
        with open(os.path.join(top, "nginx", site)) as f:
            text = f.read()
        assert "fastcgi_pass" not in re.sub(r"#.*", "", text), site
        assert "REMOTE_ADDR" not in text, site  # nothing overrides it
        assert "gofannon-keys-fastcgi.conf" in text, site
    # and a client header cannot choose it
    user = fresh(stack, "addr")
    stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": new_key()},
                  headers={"X-Forwarded-For": "198.51.100.9", "X-Real-IP": "198.51.100.9"})
    [entry] = activity(stack, user)["entries"]
    assert entry["client"] == "127.0.0.1", entry


# --- last used --------------------------------------------------------------------

def test_last_used_is_written_at_most_once_a_minute(stack):
    need_test_hooks(stack)
    user = fresh(stack, "used")
    key = new_key()
    set_clock(T0)
    put(stack, user, "openai", key)
    assert provider_status(stack, user)["userKey"]["lastUsedAt"] is None
    expect(chat(stack, user), 200)
    assert key_hash(stack, user)["openaiApiKey:lastUsedAt"] == iso(T0)
    for later in (1, 30, 59):
        set_clock(T0 + later)
        expect(chat(stack, user), 200)
        assert key_hash(stack, user)["openaiApiKey:lastUsedAt"] == iso(T0), later
    set_clock(T0 + 60)
    expect(verify(stack, user, "openai"), 200)  # a verify uses the key too
    assert key_hash(stack, user)["openaiApiKey:lastUsedAt"] == iso(T0 + 60)
    set_clock(T0 + 119)
    expect(chat(stack, user), 200)
    assert provider_status(stack, user)["userKey"]["lastUsedAt"] == iso(T0 + 60)
    set_clock(T0 + 3600)
    expect(chat(stack, user), 200)
    assert provider_status(stack, user)["userKey"]["lastUsedAt"] == iso(T0 + 3600)
    assert len(MOCK.calls()) == 7
    # a new key starts unused
    put(stack, user, "openai", new_key())
    assert provider_status(stack, user)["userKey"]["lastUsedAt"] is None
    assert "openaiApiKey:lastUsedAt" not in key_hash(stack, user)


def streamed_chat_held_open(stack, user):
    """A streamed chat with the user's openai key that the mock holds after
    its first piece until MOCK.gate is set; returns (connection, response)."""
    import http.client
    MOCK.set_mode("gate", "openai")
    body = {"provider": "openai", "model": "test-model", "stream": True,
            "messages": [{"role": "user", "content": "hi"}]}
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=8)
    conn.request("POST", CHAT, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                               "X-Test-User": user})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.readline().startswith(b"data: "), resp.status
    return conn, resp


def test_a_key_put_or_deleted_during_a_call_never_gets_its_last_use(stack):
    # the call's last use lands when the provider is done, seconds later:
    # by then the key it used may be gone, and the mark must not go to
    # the key stored since, nor stay behind with no key
    for change in ("put", "delete"):
        user = fresh(stack, "used-" + change)
        put(stack, user, "openai", new_key())
        conn, resp = streamed_chat_held_open(stack, user)
        try:
            if change == "put":
                put(stack, user, "openai", new_key())
            else:
                expect(stack.request("DELETE", API_KEYS + "/openai", user=user), 200)
            MOCK.gate.set()
            assert b"event: done" in resp.read()
        finally:
            conn.close()
        assert MOCK.wait_for(lambda c: c and c[-1]["finished"])[-1]["gate_released"] is True
        assert "openaiApiKey:lastUsedAt" not in key_hash(stack, user), (change, key_hash(stack, user))
        if change == "put":
            assert provider_status(stack, user)["userKey"]["lastUsedAt"] is None


def test_the_system_key_and_a_candidate_leave_no_last_used(stack):
    need_test_hooks(stack)
    user = fresh(stack, "sysused")
    set_clock(T0)
    expect(chat(stack, user), 200)  # the system key
    candidate = new_key("sk-cand-")
    stack.remember_keys(candidate)
    expect(verify(stack, user, "openai", {"apiKey": candidate}), 200)
    assert key_hash(stack, user) == {}


# --- rejection --------------------------------------------------------------------

def test_a_rejected_key_is_flagged_until_it_is_replaced(stack):
    need_test_hooks(stack)
    user = fresh(stack, "rej")
    set_clock(T0)
    put(stack, user, "openai", new_key())
    status = provider_status(stack, user)["userKey"]
    assert status["rejected"] is False and status["rejectedAt"] is None
    MOCK.set_mode("401", "openai")
    set_clock(T0 + 5)
    expect(chat(stack, user), 502)
    status = provider_status(stack, user)["userKey"]
    assert status["rejected"] is True and status["rejectedAt"] == iso(T0 + 5), status
    assert status["configured"] is True and status["masked"], status
    [entry] = [e for e in activity(stack, user)["entries"] if e["action"] == "rejected"]
    assert entry["status"] == "401" and entry["source"] == "user" and entry["at"] == iso(T0 + 5), entry
    # still flagged while it stays, whatever else happens
    MOCK.set_mode("ok", "openai")
    set_clock(T0 + 100)
    expect(chat(stack, user), 200)
    assert provider_status(stack, user)["userKey"]["rejected"] is True
    # replaced: the flag goes
    put(stack, user, "openai", new_key())
    status = provider_status(stack, user)["userKey"]
    assert status["rejected"] is False and status["rejectedAt"] is None, status
    assert "openaiApiKey:rejectedAt" not in key_hash(stack, user)


def test_gemini_refusal_and_a_refused_verify_flag_too(stack):
    user = fresh(stack, "rejg")
    put(stack, user, "gemini", new_key("AIza"))
    MOCK.set_mode("401", "gemini")  # Gemini answers 400 API_KEY_INVALID
    assert expect(verify(stack, user, "gemini"), 200)["valid"] is False
    status = provider_status(stack, user, "gemini")["userKey"]
    assert status["rejected"] is True, status
    [entry] = [e for e in activity(stack, user)["entries"] if e["action"] == "rejected"]
    assert entry["status"] == "400" and entry["provider"] == "gemini", entry


def test_a_refused_system_key_is_in_the_trail_but_flags_nothing(stack):
    user = fresh(stack, "rejsys")
    MOCK.set_mode("401", "openai")
    expect(chat(stack, user), 502)
    [entry] = activity(stack, user)["entries"]
    assert (entry["action"], entry["source"], entry["status"]) == ("rejected", "system", "401"), entry
    assert provider_status(stack, user)["userKey"]["rejected"] is False
    assert key_hash(stack, user) == {}


def test_redis_down_is_503_for_the_trail_and_an_expiring_put(stack):
    user = fresh(stack, "down")
    stack.redis_stop()
    try:
        expect(stack.request("GET", ACTIVITY, user=user), 503, "Key store unavailable")
        resp = stack.request("PUT", API_KEYS, user=user,
                             body={"provider": "openai", "apiKey": new_key(), "expiresInDays": 30})
        expect(resp, 503)
    finally:
        stack.redis_start()
    assert activity(stack, user) == {"entries": [], "cursor": None}


def test_no_stream_of_any_user_holds_a_key_this_module_used(stack):
    """The leak search over Redis itself: every activity stream the tests
    of this module wrote, against every key they remembered."""
    with open(os.path.join(stack.state, "keys-used.txt")) as f:
        keys = {line.strip() for line in f if line.strip()}
    assert len(keys) > 150
    cursor, streams = "0", []
    while True:
        cursor, found = stack.redis_cli("SCAN", cursor, "MATCH", "gofannon:users:*:activity", "COUNT", "1000")
        streams += found
        if cursor == "0":
            break
    assert len(streams) >= 10, streams
    for name in streams:
        text = json.dumps(stack.redis_cli("XRANGE", name, "-", "+"))
        assert "..." not in text and "v1." not in text, name
        for key in keys:
            assert key not in text and key[:12] not in text, "a key (%s...) is in %s" % (key[:6], name)
    print("# %d streams searched for %d keys" % (len(streams), len(keys)))


def test_the_service_user_may_append_and_read_streams_only_under_its_prefix(stack):
    url = stack.service_redis_url
    user, password = re.match(r"unix://([^:]+):([^@]+)@", url).groups()

    def as_service(*args):
        try:
            return stack.redis_cli(*args, user=user, password=password)
        except RuntimeError as e:
            return str(e)

    mine = "gofannon:users:{acl-%s}:activity" % uuid.uuid4().hex[:6]
    assert re.fullmatch(r"\d+-\d+", as_service("XADD", mine, "MAXLEN", "~", "100", "*", "action", "added"))
    assert len(as_service("XREVRANGE", mine, "+", "-", "COUNT", "5")) == 1
    for command in (("XADD", "other:users:{x}:activity", "*", "a", "b"), ("XDEL", mine, "0-1"),
                    ("XTRIM", mine, "MAXLEN", "0"), ("XRANGE", "gofannon:usage:{x}:2026-11", "-", "+")):
        answer = as_service(*command)
        assert isinstance(answer, str) and "NOPERM" in answer, "%s was allowed: %r" % (command[0], answer)
