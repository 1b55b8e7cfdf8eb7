"""Redis Sentinel failover under load: a primary, two replicas and three
sentinels on loopback (tests/ha.py), the service pointed at the sentinels
with GOFANNON_REDIS_MIN_REPLICAS=1.

During each fault a bounded client keeps reading one user's keys and
storing keys for new users, and reports what it saw. The table at the end
of the output (fault, requests, failures, window, acknowledged writes
found/expected) is the failover table of docs/scaling.md.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ha import HaStack, keyspace  # noqa: E402
from masks import mask

STACK_CLASS = HaStack
FRESH_STACK = True

API_KEYS = "/api/users/me/api-keys"
UNAVAILABLE = {"Key store unavailable", "Key store unavailable: the write may or may not have been applied"}
WINDOW_BOUND_MS = 30000  # a failover, and one more (a retried election, or a second failover)
TABLE = []


def new_key():
    return "sk-failover-" + uuid.uuid4().hex



class Load:
    """Two readers and two writers through nginx until stopped. Every
    request is recorded as (start, end, kind, status, detail, user, key)."""

    def __init__(self, stack, reader_user, reader_key, writers=2, readers=2):
        self.stack = stack
        self.reader_user = reader_user
        self.reader_mask = mask(reader_key)
        self.records = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.read, daemon=True) for _ in range(readers)]
        self.threads += [threading.Thread(target=self.write, daemon=True) for _ in range(writers)]

    def record(self, start, kind, resp, user, key):
        detail = (resp.json or {}).get("detail") if resp is not None else "no answer"
        status = resp.status if resp is not None else 0
        with self.lock:
            self.records.append((start, time.monotonic(), kind, status, detail, user, key, resp))

    def read(self):
        while not self.stopping.is_set():
            start = time.monotonic()
            try:
                resp = self.stack.request("GET", API_KEYS, user=self.reader_user, timeout=10)
            except OSError:
                resp = None
            self.record(start, "GET", resp, self.reader_user, None)
            time.sleep(0.01)

    def write(self):
        while not self.stopping.is_set():
            user = "fo-%s" % uuid.uuid4().hex[:12]
            key = new_key()
            self.stack.remember_keys(key)
            start = time.monotonic()
            try:
                resp = self.stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key},
                                          timeout=10)
            except OSError:
                resp = None
            self.record(start, "PUT", resp, user, key)
            time.sleep(0.01)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)

    def served_again_for(self, seconds):
        """True once every request of the last `seconds` succeeded, and
        there were some."""
        now = time.monotonic()
        with self.lock:
            recent = [r for r in self.records if r[0] >= now - seconds]
        return len(recent) >= 10 and all(r[3] == 200 for r in recent)

    def failures(self):
        return [r for r in self.records if r[3] != 200]

    def check(self, fault_at):
        """Every failure is a 503 saying the key store is unavailable, all
        after the fault; every answer 200 is right. Returns the window in
        ms (the failures from the first on, each starting within a second of
        the one before ending: the outage) and the stragglers (failures
        after it: a request that hit a stall of the loaded test machine)."""
        failures = sorted(self.failures(), key=lambda r: r[0])
        for r in failures:
            assert r[3] == 503 and r[4] in UNAVAILABLE, "a failure other than 503: %r" % (r[:5],)
            assert r[1] >= fault_at, "a failure before the fault: %r" % (r[:5],)
        for r in self.records:
            if r[3] == 200 and r[2] == "GET":
                assert r[7].json["openaiApiKey"] == self.reader_mask, r[7].raw
            if r[3] == 200 and r[2] == "PUT":
                assert r[7].json["openaiApiKey"] == mask(r[6]), r[7].raw
        if not failures:
            return 0, []
        first, last, k = failures[0][0], failures[0][1], 1
        while k < len(failures) and failures[k][0] <= last + 1.0:
            last = max(last, failures[k][1])
            k += 1
        stragglers = failures[k:]
        after = [r for r in self.records if r[0] > last]
        assert len(stragglers) <= 0.02 * len(after) + 1, "%d failures of %d requests after the failover" % (
            len(stragglers), len(after))
        return int((last - first) * 1000), stragglers

    def acknowledged(self):
        return [(r[5], r[6]) for r in self.records if r[2] == "PUT" and r[3] == 200]


def acknowledged_found(node, acked):
    """How many acknowledged PUTs the node holds, each user's value sealed."""
    found = 0
    for user, _key in acked:
        value = node.cli("HGET", "gofannon:users:{%s}:apiKeys" % user, "openaiApiKey")
        if value and value.startswith("v1."):
            found += 1
    return found


def report(fault, load, window_ms, found, expected, note=""):
    TABLE.append((fault, len(load.records), len(load.failures()), window_ms, found, expected, note))
    print("# failover table")
    print("# %-34s %8s %8s %10s %16s  %s" % ("fault", "requests", "failures", "window ms", "acked found/exp",
                                              "note"))
    for row in TABLE:
        print("# %-34s %8d %8d %10d %11d/%-4d  %s" % row)


def seed_reader(stack):
    user = "fo-reader-%s" % uuid.uuid4().hex[:8]
    key = new_key()
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key})
    assert resp.status == 200, resp
    return user, key


def health_master(stack):
    """The masters the workers report, over a few requests."""
    seen = set()
    for _ in range(6):
        resp = stack.request("GET", "/api/health")
        if resp.status == 200:
            seen.add(resp.json["redis"]["master"])
    return seen


def wait_served_again(load, timeout=25):
    deadline = time.monotonic() + timeout
    while not load.served_again_for(1.5):
        assert time.monotonic() < deadline, "not served again within %ds of the fault" % timeout
        time.sleep(0.1)


def test_health_names_the_master_and_a_master_turned_replica_is_left(stack):
    """The primary made a replica behind Sentinel's back (REPLICAOF): a
    write on the open connection gets READONLY, the next connection finds
    ROLE "slave"; both are 503, and the service is back once it is a
    primary again."""
    master = stack.master()
    resp = stack.request("GET", "/api/health")
    assert resp.status == 200, resp
    assert resp.json == {"status": "ok", "redis": {"master": master.address}}, resp.raw
    user = "fo-readonly-%s" % uuid.uuid4().hex[:8]
    key = new_key()
    stack.remember_keys(key)
    body = {"provider": "openai", "apiKey": key}
    assert stack.request("PUT", API_KEYS, user=user, body=body).status == 200
    # a replica of nothing: read-only, its data kept, its own replicas too
    master.cli("REPLICAOF", "127.0.0.1", "1")
    try:
        statuses = [stack.request("PUT", API_KEYS, user=user, body=body) for _ in range(6)]
    finally:
        master.cli("REPLICAOF", "NO", "ONE")
    assert all(r.status == 503 and r.json["detail"] in UNAVAILABLE for r in statuses), statuses
    log = stack.service_log_text()
    assert 'during=HSET error="READONLY' in log, log[-2000:]
    assert 'event=redis_not_master address="%s"' % master.address in log, log[-2000:]
    deadline = time.monotonic() + 15
    while stack.request("PUT", API_KEYS, user=user, body=body).status != 200:
        assert time.monotonic() < deadline, "not served again once the server is a primary again"
        time.sleep(0.2)


def test_sentinels_refusing_the_password_is_an_outage_that_says_why(stack):
    wrong = "not-the-sentinel-password-%s" % uuid.uuid4().hex[:8]
    stack.service_stop()
    stack.service_start(extra_env={"GOFANNON_SENTINEL_PASSWORD": wrong}, wait=False)
    deadline = time.monotonic() + 10
    while True:
        resp = stack.request("GET", "/api/health", timeout=3)
        if resp.status == 503:
            break
        assert time.monotonic() < deadline, resp
        time.sleep(0.1)
    assert resp.json == {"detail": "Key store unavailable"}, resp.raw
    log = stack.service_log_text()
    assert re.search(r'event=redis_unavailable during=sentinel error="sentinel 127\.0\.0\.1:\d+: AUTH: WRONGPASS',
                     log), log[-2000:]
    assert wrong not in log and stack.sentinel_clients_password not in log
    stack.service_stop()
    stack.service_start()
    assert stack.request("GET", "/api/health").status == 200


def test_kill_primary_fails_over_and_loses_no_acknowledged_write(stack):
    user, key = seed_reader(stack)
    service_pid = stack.service.pid
    old = stack.master()
    load = Load(stack, user, key).start()
    try:
        time.sleep(1)
        fault_at = time.monotonic()
        old.kill()
        new = stack.wait_for_master_change(old)
        wait_served_again(load)
    finally:
        load.stop()
    window, stragglers = load.check(fault_at)
    assert load.failures(), "kill -9 of the primary went unnoticed: is the service using it?"
    assert window < WINDOW_BOUND_MS, "the failover cost %d ms" % window
    acked = load.acknowledged()
    found = acknowledged_found(new, acked)
    assert found == len(acked), "acknowledged PUTs missing on the new primary: %d of %d" % (found, len(acked))
    assert health_master(stack) == {new.address}
    assert stack.service.poll() is None and stack.service.pid == service_pid, "the service was restarted"

    # the old primary comes back, and Sentinel makes it a replica of the new
    old.start()
    stack.wait_for_replica_of(old, new)
    theirs, ours = keyspace(new, "gofannon:*"), keyspace(old, "gofannon:*")
    assert theirs == ours, "the returned primary differs from the new one"
    users = [k for k in ours if k.startswith("gofannon:users:")]
    assert len(users) == len(set(users))
    report("kill -9 primary", load, window, found, len(acked),
           "old primary back as replica, %d hashes identical; %d later 503s" % (len(ours), len(stragglers)))


def command_calls(node, name):
    stats = node.info("commandstats").get("cmdstat_" + name, "calls=0")
    return int(re.search(r"calls=(\d+)", stats).group(1))


def wait_calls(node):
    return command_calls(node, "wait")


def exec_calls(node):
    return command_calls(node, "exec")


def test_stopped_primary_is_refused_once_sentinel_fails_over(stack):
    """SIGSTOP: a primary cut off, not dead. Once Sentinel has promoted a
    replica the service writes to that one only; the old primary, resumed,
    becomes a replica and no acknowledged write is lost."""
    user, key = seed_reader(stack)
    old = stack.master()
    load = Load(stack, user, key).start()
    try:
        time.sleep(1)
        waits_before = wait_calls(old)
        fault_at = time.monotonic()
        os.kill(old.proc.pid, signal.SIGSTOP)
        try:
            new = stack.wait_for_master_change(old)
            wait_served_again(load)
        finally:
            os.kill(old.proc.pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        stack.wait_for_replica_of(old, new)
        # keep the load on the new primary for a while after the old one is back
        while time.monotonic() < resumed_at + 2:
            time.sleep(0.1)
    finally:
        load.stop()
    window, stragglers = load.check(fault_at)
    assert window < WINDOW_BOUND_MS, "the failover cost %d ms" % window
    acked = load.acknowledged()
    found = acknowledged_found(new, acked)
    assert found == len(acked), "acknowledged PUTs missing on the new primary: %d of %d" % (found, len(acked))
    after = [r for r in load.records if r[0] > resumed_at and r[2] == "PUT" and r[3] == 200]
    assert after, "no write succeeded after the old primary came back"
    assert acknowledged_found(new, [(r[5], r[6]) for r in after]) == len(after)
    assert health_master(stack) == {new.address}
    # WAIT is never replicated: calls on the old primary after SIGCONT are
    # writes the service sent to it there. Once demoted it gets none.
    waits_demoted = wait_calls(old)
    time.sleep(1)
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
    assert wait_calls(old) == waits_demoted, "the service wrote to the demoted primary"
    assert keyspace(new, "gofannon:*") == keyspace(old, "gofannon:*")
    report("SIGSTOP primary, SIGCONT after", load, window, found, len(acked),
           "WAITs on the old primary from SIGSTOP to demotion: %d (in flight, or refused); %d later 503s" %
           (waits_demoted - waits_before, len(stragglers)))


def seed_users(stack, count):
    users = ["rk-%04d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(count)]
    errors = []

    def put(chunk):
        for u in chunk:
            k = new_key()
            stack.remember_keys(k)
            r = stack.request("PUT", API_KEYS, user=u, body={"provider": "openai", "apiKey": k})
            if r.status != 200:
                errors.append(r)
    threads = [threading.Thread(target=put, args=(users[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    return users


def run_rekey(stack):
    env = stack.service_environment()
    return subprocess.Popen([stack.binary, "rekey"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_rekey_across_a_failover_finishes_or_stops_and_reruns(stack):
    users = seed_users(stack, 300)
    subprocess.run([stack.binary, "keygen", "--append", stack.master_key], check=True, capture_output=True)
    with open(stack.master_key) as f:
        new_kid = f.read().split()[-1].split(":", 1)[0]
    stack.service.send_signal(signal.SIGHUP)
    old = stack.master()
    execs = exec_calls(old)
    first = run_rekey(stack)
    # kill the primary once rekey has rewritten some hashes, not before
    deadline = time.monotonic() + 20
    while exec_calls(old) < execs + 20 and first.poll() is None:
        assert time.monotonic() < deadline, "rekey does not start"
        time.sleep(0.01)
    old.kill()
    out, err = first.communicate(timeout=45)
    if first.returncode == 0:
        outcome = "first run finished"
        assert "rekey complete" in out, out
    else:
        outcome = "first run stopped"
        assert "rekey INCOMPLETE" in out and "run rekey again" in out, (out, err[-2000:])
    new = stack.wait_for_master_change(old)
    deadline = time.monotonic() + 30
    while True:
        again = run_rekey(stack)
        out2, err2 = again.communicate(timeout=45)
        if again.returncode == 0:
            break
        assert time.monotonic() < deadline, "rekey does not finish after the failover: %s %s" % (out2, err2[-2000:])
        time.sleep(0.5)
    assert "rekey complete" in out2, out2
    kids = set()
    for u in users:
        value = new.cli("HGET", "gofannon:users:{%s}:apiKeys" % u, "openaiApiKey")
        kids.add(value.split(".")[1])
    assert kids == {new_kid}, "values left under other master keys: %s" % kids
    print("# rekey across a failover: %s (%s); the rerun: %s" % (
        outcome, out.strip().splitlines()[0] if out.strip() else "no output", out2.strip().splitlines()[0]))
