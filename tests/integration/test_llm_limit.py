"""GOFANNON_LLM_PER_USER: at most that many LLM calls of one user at once,
across every worker (and every host: test_llm_limit_hosts.py), held as
leases in Redis that end with the call or, when the process holding one
died, at the lease's deadline (GOFANNON_LLM_TIMEOUT + 5 s)."""

import os
import signal
import threading
import time
import uuid

from mock_provider import MockProvider

TIMEOUT_S = 3  # GOFANNON_LLM_TIMEOUT: a hang costs this much
MARGIN_S = 5  # LLM_LIMIT_MARGIN_S: a lease outlives its call's timeout by this much
PER_USER = 2
WORKERS = 4  # more than PER_USER: a user at the cap leaves workers to the others
CHAT = "/api/llm/chat"
API_KEYS = "/api/users/me/api-keys"
DETAIL = "Too many LLM calls in progress for this user"
SYSTEM_OPENAI = "sk-system-openai-8e2b4c6d0a1f3e57"
SYSTEM_GEMINI = "gemini-system-key-2c9e4a7b13d05f68"

MOCK = MockProvider(lifetime=600).start()

STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI, "GEMINI_API_KEY": SYSTEM_GEMINI},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT=str(TIMEOUT_S), GOFANNON_WORKERS=str(WORKERS),
                        GOFANNON_LLM_PER_USER=str(PER_USER)),
}
FRESH_STACK = True


def fresh(stack, prefix="limit"):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(SYSTEM_OPENAI, SYSTEM_GEMINI)
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def chat_body(provider):
    return {"provider": provider, "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}


def leases(stack, user):
    return int(stack.redis_cli("ZCARD", "gofannon:users:{%s}:llmCalls" % user))


def start_chats(stack, user, count, provider="openai", path=CHAT, body=None):
    """count calls in threads; returns (threads, results): results fills
    with (status, Retry-After, body, seconds) as they end."""
    results = []

    def one():
        t0 = time.monotonic()
        resp = stack.request("POST", path, user=user, body=body or chat_body(provider), timeout=TIMEOUT_S + 10)
        results.append((resp.status, resp.header("Retry-After"), resp.json, time.monotonic() - t0))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    return threads, results


def assert_refused(result):
    status, retry_after, body, took = result
    assert status == 429, result
    assert body == {"detail": DETAIL}, body
    assert retry_after is not None and int(retry_after) >= 1, result
    assert took < 2.0, "a refusal waits for no provider (a hang costs %ds): %.2fs" % (TIMEOUT_S, took)


def p99_ms(samples):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000


def test_over_the_cap_gets_429_while_others_are_served_at_once(stack):
    hog, reader, chatter = fresh(stack, "hog"), fresh(stack, "reader"), "chatter-" + uuid.uuid4().hex[:8]
    MOCK.set_mode("hang", "openai")
    threads, results = start_chats(stack, hog, PER_USER + 2)
    # the extra two are refused at once, the others hang at the provider
    MOCK.wait_for(lambda c: len(c) >= PER_USER, 3)
    deadline = time.monotonic() + 3
    while len(results) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(results) == 2, results
    for r in results:
        assert_refused(r)
    assert leases(stack, hog) == PER_USER
    # meanwhile another user's reads keep their latency...
    times = []
    for _ in range(200):
        t0 = time.monotonic()
        resp = stack.request("GET", API_KEYS, user=reader)
        times.append(time.monotonic() - t0)
        assert resp.status == 200 and "openai" in resp.raw, resp
    p99 = p99_ms(times)
    print("# GET %s of another user during %d hanging chats: p50 %.1f ms, p99 %.1f ms (n=%d)" % (
        API_KEYS, PER_USER, sorted(times)[len(times) // 2] * 1000, p99, len(times)))
    assert p99 < 50, "p99 %.1f ms" % p99
    # ...and another user's chat starts and ends at once
    t0 = time.monotonic()
    resp = stack.request("POST", CHAT, user=chatter, body=chat_body("gemini"))
    took = time.monotonic() - t0
    print("# another user's chat during the hang: %d in %.0f ms" % (resp.status, took * 1000))
    assert resp.status == 200 and resp.json["content"].startswith("Hello from gemini"), resp
    assert took < 2.0, "waited %.2fs: a slot held would cost TIMEOUT_S" % took
    assert len(MOCK.calls("openai")) == PER_USER, "only the leased calls reach the provider"
    for t in threads:
        t.join(TIMEOUT_S + 10)
    assert sorted(r[0] for r in results) == [429, 429] + [504] * PER_USER, results
    # every lease ended with its call, whatever the outcome
    assert leases(stack, hog) == 0
    assert leases(stack, chatter) == 0
    # and the user may call again
    MOCK.set_mode("ok", "openai")
    resp = stack.request("POST", CHAT, user=hog, body=chat_body("openai"))
    assert resp.status == 200, resp


def test_verify_counts_against_the_cap(stack):
    user = fresh(stack)
    MOCK.set_mode("hang", "openai")
    threads, results = start_chats(stack, user, PER_USER)
    MOCK.wait_for(lambda c: len(c) >= PER_USER, 3)
    resp = stack.request("POST", API_KEYS + "/openai/verify", user=user)
    assert_refused((resp.status, resp.header("Retry-After"), resp.json, 0))
    for t in threads:
        t.join(TIMEOUT_S + 10)
    MOCK.set_mode("ok", "openai")
    resp = stack.request("POST", API_KEYS + "/openai/verify", user=user)
    assert resp.status == 200 and resp.json["valid"] is True, resp
    assert leases(stack, user) == 0


def child_pids(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]


def kill_holder(stack, kill_worker):
    """SIGKILLs the process serving the one call in progress: the worker's
    child (test_llm_pool.py) or the worker itself, whose child dies with it.
    Returns the worker's pid."""
    [worker] = child_pids(stack.service.pid)
    [child] = child_pids(worker)
    os.kill(worker if kill_worker else child, signal.SIGKILL)
    return worker


def check_lease_outlives_a_kill(stack, kill_worker):
    # one worker: the call is in its one child
    stack.service_restart({"GOFANNON_WORKERS": "1", "GOFANNON_LLM_PER_USER": "1"})
    user = fresh(stack)
    MOCK.set_mode("hang", "openai")
    t0 = time.monotonic()
    threads, results = start_chats(stack, user, 1)
    MOCK.wait_for(lambda c: len(c) >= 1, 3)
    worker = kill_holder(stack, kill_worker)
    for t in threads:
        t.join(5)
    assert results and results[0][0] == 502, results  # nginx: the connection dropped
    wait_deadline = time.monotonic() + 5
    while child_pids(stack.service.pid) in ([], [worker]) and kill_worker and time.monotonic() < wait_deadline:
        time.sleep(0.05)
    if not kill_worker:
        assert child_pids(stack.service.pid) == [worker], "a child's death is not a worker's"
    assert leases(stack, user) == 1, "the dead process's lease stays until its deadline"
    MOCK.set_mode("ok", "openai")
    refused = 0
    while True:
        resp = stack.request("POST", CHAT, user=user, body=chat_body("openai"))
        if resp.status != 429:
            break
        assert resp.json == {"detail": DETAIL}, resp
        refused += 1
        time.sleep(0.25)
    freed_after = time.monotonic() - t0
    print("# lease of the killed %s freed after %.1fs (deadline %ds); %d calls refused meanwhile" % (
        "worker" if kill_worker else "child", freed_after, TIMEOUT_S + MARGIN_S, refused))
    assert resp.status == 200, resp
    assert refused > 0
    # not before the deadline; after it, within what a loaded machine adds
    assert TIMEOUT_S + MARGIN_S - 1.5 <= freed_after <= TIMEOUT_S + MARGIN_S + 4, freed_after
    assert leases(stack, user) == 0


def test_a_child_killed_mid_call_holds_its_lease_only_until_the_deadline(stack):
    check_lease_outlives_a_kill(stack, kill_worker=False)


def test_a_worker_killed_mid_call_holds_its_lease_only_until_the_deadline(stack):
    check_lease_outlives_a_kill(stack, kill_worker=True)


def test_no_limit_with_zero(stack):
    stack.service_restart({"GOFANNON_LLM_PER_USER": "0"})
    user = fresh(stack)
    MOCK.set_mode("hang", "openai")
    threads, results = start_chats(stack, user, PER_USER + 1)
    MOCK.wait_for(lambda c: len(c) >= PER_USER + 1, 3)
    assert leases(stack, user) == 0, "no limit takes no lease"
    for t in threads:
        t.join(TIMEOUT_S + 10)
    assert [r[0] for r in results] == [504] * (PER_USER + 1), results
