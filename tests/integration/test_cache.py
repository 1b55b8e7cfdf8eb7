"""The key cache (GOFANNON_KEY_CACHE, src/keystore_cache.h) stays correct
across the workers of one instance and across instances sharing one Redis.

Two instances (test_multihost.py's MultiStack: TCP listeners, one Redis),
two workers each, and beside the round-robin nginx one nginx per instance,
so a test writes through one instance and reads through the other. A has
its LLM calls in children of the workers (the default); B serves them in
the workers themselves (GOFANNON_LLM_WORKERS_MAX=0), so a chat on B reads
the key through the worker's cache.

Every check of "never the old key" first proves the old value is cached in
every worker that answers (Redis's HMGET count stays still while they
answer), then writes, then reads right after the write was answered, until
both workers of the reading instance have answered: a cache without
invalidation would serve the old mask there.
"""

import os
import re
import subprocess
import uuid

from masks import mask
from mock_provider import MockProvider
from stack import wait_for
from test_multihost import MultiStack

API_KEYS = "/api/users/me/api-keys"
EFFECTIVE = API_KEYS + "/openai/effective"
CHAT = "/api/llm/chat"
SYSTEM_OPENAI = "sk-system-openai-5c1e07d9a2b4f683"
GET_LINE = re.compile(r"pid=(\d+) event=request method=(GET|POST) route=(\S+) status=(\d+)")

MOCK = MockProvider(lifetime=900).start()


class CacheStack(MultiStack):
    """MultiStack plus one nginx per instance; B serves LLM calls in its
    workers."""

    def instance_start(self, port, extra_env=None):
        env = dict(extra_env or {})
        if port == self.ports[1]:
            env.setdefault("GOFANNON_LLM_WORKERS_MAX", "0")
        super().instance_start(port, env)

    def nginx_start(self):
        super().nginx_start()
        if not getattr(self, "fronts", None):
            self.fronts = [self.extra_nginx_start("front-%d" % i, "--test-identity-header", "--multi",
                                                  "127.0.0.1:%d" % port) for i, port in enumerate(self.ports)]

    def log_of(self, i):
        with open(os.path.join(self.state, "instance-%d.log" % self.ports[i]), errors="replace") as f:
            return f.read()


STACK_CLASS = CacheStack
STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="5"),
}
FRESH_STACK = True

A, B = 0, 1


def fresh(stack, prefix="cache"):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(SYSTEM_OPENAI)
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def new_key(tag):
    return "sk-cache-%s-%s" % (tag, uuid.uuid4().hex)



def hash_name(user):
    return "gofannon:users:{%s}:apiKeys" % user


def hmget_calls(stack):
    stats = stack.redis_cli("INFO", "commandstats")
    m = re.search(r"cmdstat_hmget:calls=(\d+)", stats)
    return int(m.group(1)) if m else 0


def service_redis(stack, *args):
    """One command as the service's Redis user; the error text on refusal."""
    user, password = re.match(r"unix://([^:]+):([^@]+)@", stack.service_redis_url).groups()
    try:
        return stack.redis_cli(*args, user=user, password=password)
    except RuntimeError as e:
        return str(e)


def req(stack, i, method, path, user, body=None):
    return stack.request(method, path, user=user, body=body, base=stack.fronts[i])


def put(stack, i, user, key):
    stack.remember_keys(key)
    r = req(stack, i, "PUT", API_KEYS, user, {"provider": "openai", "apiKey": key})
    assert r.status == 200 and r.json["openaiApiKey"] == mask(key), r
    return r


def delete(stack, i, user):
    r = req(stack, i, "DELETE", API_KEYS + "/openai", user)
    assert r.status == 200 and r.json["openaiApiKey"] is None, r


def chat_key(stack, i, user):
    """The key the mock provider got for one chat through instance i."""
    before = len(MOCK.calls("openai"))
    body = {"provider": "openai", "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    r = req(stack, i, "POST", CHAT, user, body)
    assert r.status == 200, r
    calls = MOCK.calls("openai")
    assert len(calls) == before + 1, calls
    return calls[-1]["key"]


def pids_since(stack, i, offset, route):
    return {pid for pid, _, r, _ in GET_LINE.findall(stack.log_of(i)[offset:]) if r == route}


def on_every_worker(stack, i, route, check, limit=80):
    """Requests through instance i, each checked by check(i), until both
    of its workers have answered (their request lines, logged just after
    each reply, say which); returns how many were sent."""
    offset = len(stack.log_of(i))
    for n in range(1, limit + 1):
        check(i)
        if len(pids_since(stack, i, offset, route)) >= 2:
            return n
    wait_for(lambda: len(pids_since(stack, i, offset, route)) >= 2, 3, "both workers of instance %d" % i)
    return limit


def expect_mask(stack, user, key):
    def check(i):
        r = req(stack, i, "GET", API_KEYS, user)
        assert r.status == 200 and r.json["openaiApiKey"] == mask(key), \
            "instance %s served %r, not the mask of the current key %r" % ("AB"[i], r, mask(key))
    return check


def expect_source(stack, user, source):
    def check(i):
        r = req(stack, i, "GET", EFFECTIVE, user)
        assert r.status == 200 and r.json["source"] == source and r.json["hasKey"] is True, \
            "instance %s: %r, wanted source %s" % ("AB"[i], r, source)
    return check


def warm(stack, user, key, instances=(A, B)):
    """Every worker of the instances caches the user's hash: after this,
    GETs on them send no HMGET to Redis."""
    for _ in range(5):
        for i in instances:
            on_every_worker(stack, i, API_KEYS, expect_mask(stack, user, key))
        before = hmget_calls(stack)
        for i in instances:
            on_every_worker(stack, i, API_KEYS, expect_mask(stack, user, key))
        if hmget_calls(stack) == before:
            return
    raise AssertionError("the GETs still read Redis: the cache is not on in every worker")


def test_reads_are_answered_from_the_cache(stack):
    """The premise of the other tests: with the cache on, repeated reads
    cost no HMGET; each worker tracks its reads with a subscribed
    connection; the service's Redis user may do only that much more."""
    user = fresh(stack)
    key = new_key("hits")
    put(stack, A, user, key)
    warm(stack, user, key)
    before = hmget_calls(stack)
    for _ in range(20):
        for i in (A, B):
            expect_mask(stack, user, key)(i)
            expect_source(stack, user, "user")(i)
    assert hmget_calls(stack) == before, "40 GETs and 40 effective reads should all be hits"
    clients = [dict(f.split("=", 1) for f in line.split() if "=" in f)
               for line in stack.redis_cli("CLIENT", "LIST").splitlines()]
    subscribers = {c["id"] for c in clients if "P" in c["flags"] and c["sub"] == "1"}
    redirects = {c["redir"] for c in clients if "t" in c["flags"]}
    # one tracking connection per worker, each redirecting to its own subscriber
    assert len(redirects) == 4 and redirects == subscribers, clients
    for command in (("SUBSCRIBE", "other"), ("PUBLISH", "__redis__:invalidate", "x"), ("CLIENT", "KILL", "ID", "1"),
                    ("CLIENT", "LIST")):
        answer = service_redis(stack, *command)
        assert isinstance(answer, str) and "NOPERM" in answer, "%s was allowed: %r" % (command, answer)


def test_a_write_on_one_instance_is_seen_by_the_other_at_once(stack):
    """PUT and DELETE answered on one instance: the next request on the
    other (both workers) shows the new mask, the new effective source, and
    a chat uses the new key, never the old one."""
    user = fresh(stack)
    old = new_key("old")
    put(stack, A, user, old)
    for writer, reader in ((A, B), (B, A), (A, B)):
        warm(stack, user, old)
        assert chat_key(stack, reader, user) == old
        new = new_key("new")
        put(stack, writer, user, new)
        on_every_worker(stack, reader, API_KEYS, expect_mask(stack, user, new))
        on_every_worker(stack, reader, "/api/users/me/api-keys/{provider}/effective",
                        expect_source(stack, user, "user"))
        assert chat_key(stack, reader, user) == new
        assert chat_key(stack, reader, user) == new

        warm(stack, user, new)
        delete(stack, writer, user)
        on_every_worker(stack, reader, API_KEYS, expect_mask(stack, user, None))
        on_every_worker(stack, reader, "/api/users/me/api-keys/{provider}/effective",
                        expect_source(stack, user, "env"))
        assert chat_key(stack, reader, user) == SYSTEM_OPENAI
        assert chat_key(stack, reader, user) == SYSTEM_OPENAI
        put(stack, writer, user, old)


def test_a_write_through_one_worker_is_seen_by_the_other_worker(stack):
    """The same within one instance: its two workers hold the old value,
    one of them takes the PUT, every answer after it is the new key."""
    user = fresh(stack)
    key = new_key("w0")
    put(stack, A, user, key)
    for n in range(4):
        warm(stack, user, key, instances=(A,))
        key = new_key("w%d" % (n + 1))
        put(stack, A, user, key)
        on_every_worker(stack, A, API_KEYS, expect_mask(stack, user, key))
        assert chat_key(stack, A, user) == key
    warm(stack, user, key, instances=(B,))
    delete(stack, B, user)
    on_every_worker(stack, B, API_KEYS, expect_mask(stack, user, None))
    assert chat_key(stack, B, user) == SYSTEM_OPENAI


def test_writes_by_other_redis_clients_invalidate(stack):
    """HSET, HDEL and FLUSHALL by another client (redis-cli as admin), not
    through the service at all."""
    user = fresh(stack)
    first, second = new_key("first"), new_key("second")
    put(stack, A, user, first)
    sealed_first = stack.redis_cli("HGET", hash_name(user), "openaiApiKey")
    put(stack, A, user, second)
    warm(stack, user, second)
    # an older sealed value put back by hand: its mask again, on both
    stack.redis_cli("HSET", hash_name(user), "openaiApiKey", sealed_first)
    for i in (A, B):
        on_every_worker(stack, i, API_KEYS, expect_mask(stack, user, first))
    assert chat_key(stack, B, user) == first

    warm(stack, user, first)
    stack.redis_cli("HSET", hash_name(user), "openaiApiKey:updatedAt", "2031-01-02T03:04:05Z")
    for i in (A, B):
        r = req(stack, i, "GET", "/api/providers", user)
        openai = [p for p in r.json["providers"] if p["id"] == "openai"][0]
        assert openai["userKey"]["updatedAt"] == "2031-01-02T03:04:05Z", openai

    warm(stack, user, first)
    stack.redis_cli("HDEL", hash_name(user), "openaiApiKey", "openaiApiKey:updatedAt")
    for i in (A, B):
        on_every_worker(stack, i, API_KEYS, expect_mask(stack, user, None))

    put(stack, A, user, second)
    warm(stack, user, second)
    stack.redis_cli("FLUSHALL")  # a null on the invalidation channel: everything goes
    for i in (A, B):
        on_every_worker(stack, i, API_KEYS, expect_mask(stack, user, None))
    assert chat_key(stack, B, user) == SYSTEM_OPENAI


class TwoVersions:
    """A user whose hash held two keys in turn, and the sealed value of
    each as Redis holds it, to put either back by hand."""

    def __init__(self, stack, tag):
        self.stack = stack
        self.user = fresh(stack, tag)
        self.keys = [new_key(tag + "-a"), new_key(tag + "-b")]
        self.sealed = {}
        for key in self.keys:
            put(stack, A, self.user, key)
            self.sealed[key] = stack.redis_cli("HGET", hash_name(self.user), "openaiApiKey")
        self.current = self.keys[1]

    def warm(self):
        warm(self.stack, self.user, self.current)

    def swap_by_hand(self):
        self.current = self.keys[0] if self.current == self.keys[1] else self.keys[1]
        self.stack.redis_cli("HSET", hash_name(self.user), "openaiApiKey", self.sealed[self.current])

    def check(self):
        for i in (A, B):
            on_every_worker(self.stack, i, API_KEYS, expect_mask(self.stack, self.user, self.current))


def test_redis_restarted_flushes_the_cache(stack):
    """Redis restarted, and the hashes changed before any worker spoke to
    it again: the new connections track nothing the old ones read, so each
    worker must drop all it cached, not only what its next request reads.
    The first user's reads find the restart out; the second user's, next,
    must not come from the cache either."""
    users = [TwoVersions(stack, "one"), TwoVersions(stack, "two")]
    for u in users:
        u.warm()
    stack.redis_stop()
    stack.redis_start()
    for u in users:
        u.swap_by_hand()
    for u in users:
        u.check()
    assert chat_key(stack, B, users[1].user) == users[1].current
    # and it caches again once tracked anew
    users[0].warm()


def service_connections(stack, flag):
    """Ids of the service's Redis connections whose flags hold flag (P: a
    subscriber, t: tracking)."""
    ids = []
    for line in stack.redis_cli("CLIENT", "LIST").splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if fields.get("user") == "gofannon-keys" and flag in fields.get("flags", ""):
            ids.append(fields["id"])
    return ids


def test_either_connection_lost_flushes_the_cache(stack):
    """Only the subscribed connections killed (then Redis has nowhere to
    send invalidations), or only the tracking ones (then nothing tracks what
    they read; Redis's idle timeout does this too, as it spares
    subscribers): either way the next request finds it out and the worker
    drops everything it cached, as the second user's reads show."""
    users = [TwoVersions(stack, "one"), TwoVersions(stack, "two")]
    for flag in ("P", "t"):
        for u in users:
            u.warm()
        ids = service_connections(stack, flag)
        assert len(ids) == 4, (flag, stack.redis_cli("CLIENT", "LIST"))
        for i in ids:
            assert stack.redis_cli("CLIENT", "KILL", "ID", i) == 1
        for u in users:
            u.swap_by_hand()
        for u in users:
            u.check()
    text = stack.service_log_text()
    assert "event=key_cache_dropped" in text
    assert "level=error" not in text, re.findall(r".*level=error.*", text)


def assert_every_read_goes_to_redis(stack, user, key):
    """Ten GETs through each instance, each answering the key's mask and
    each one HMGET on Redis: nothing is answered from a cache."""
    before = hmget_calls(stack)
    for _ in range(10):
        for i in (A, B):
            expect_mask(stack, user, key)(i)
    assert hmget_calls(stack) - before == 20


def test_cache_off(stack):
    """GOFANNON_KEY_CACHE=off: every read is an HMGET, no tracking; a value
    other than on or off stops the start, naming the variable."""
    user = fresh(stack)
    key = new_key("off")
    stack.service_stop()
    stack.service_start({"GOFANNON_KEY_CACHE": "off"})
    put(stack, A, user, key)
    assert_every_read_goes_to_redis(stack, user, key)
    clients = stack.redis_cli("CLIENT", "LIST")
    assert "cmd=subscribe" not in clients and not re.search(r"flags=t", clients), clients
    stack.redis_cli("HDEL", hash_name(user), "openaiApiKey")
    expect_mask(stack, user, None)(A)

    stack.service_stop()
    env = stack.service_environment({"GOFANNON_KEY_CACHE": "yes"})
    r = subprocess.run([stack.binary, "--listen", "127.0.0.1:%d" % stack.ports[0]], env=env,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "GOFANNON_KEY_CACHE must be on or off" in r.stderr, r


def test_an_acl_without_tracking_reads_redis_every_time(stack):
    """A Redis user without CLIENT TRACKING (an ACL from before the cache):
    one warning per worker, and every read goes to Redis, correctly."""
    user = fresh(stack)
    key = new_key("acl")
    stack.redis_cli("ACL", "SETUSER", "gofannon-keys", "-client|tracking")
    stack.service_stop()
    stack.service_start()
    put(stack, A, user, key)
    assert_every_read_goes_to_redis(stack, user, key)
    text = stack.service_log_text()
    assert len(re.findall(r"level=warn .*event=key_cache_off error=\"CLIENT TRACKING: NOPERM", text)) >= 4, text
    delete(stack, B, user)
    expect_mask(stack, user, None)(A)
