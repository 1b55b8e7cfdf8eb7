"""GOFANNON_LLM_PER_USER across hosts: two service instances behind one
nginx (test_multihost.py's MultiStack: TCP listeners, round-robin upstream)
sharing one Redis share one user's cap, since the leases live in Redis."""

import os
import re
import threading
import time
import uuid

from mock_provider import MockProvider
from test_multihost import MultiStack

TIMEOUT_S = 3
PER_USER = 2
CHAT = "/api/llm/chat"
DETAIL = "Too many LLM calls in progress for this user"
SYSTEM_OPENAI = "sk-system-openai-0f6a2d8c4b1e9d73"

MOCK = MockProvider(lifetime=600).start()

STACK_CLASS = MultiStack
STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT=str(TIMEOUT_S), GOFANNON_LLM_PER_USER=str(PER_USER)),
}
FRESH_STACK = True


def test_two_instances_share_one_users_cap(stack):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    stack.remember_keys(SYSTEM_OPENAI)
    MOCK.set_mode("hang", "openai")
    user = "hosts-" + uuid.uuid4().hex[:10]
    body = {"provider": "openai", "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    calls = 2 * PER_USER + 2  # more than the cap of either instance alone
    results = []

    def one():
        results.append(stack.request("POST", CHAT, user=user, body=body, timeout=TIMEOUT_S + 10))

    threads = [threading.Thread(target=one) for _ in range(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S + 12)
    statuses = sorted(r.status for r in results)
    assert statuses == [429] * (calls - PER_USER) + [504] * PER_USER, statuses
    assert all(r.json == {"detail": DETAIL} for r in results if r.status == 429), results
    assert len(MOCK.calls("openai")) == PER_USER
    # both instances took chats, so leases taken on one counted on the other
    def served():
        counts = {}
        for port in stack.ports:
            with open(os.path.join(stack.state, "instance-%d.log" % port), errors="replace") as f:
                counts[port] = len(re.findall(r"event=request method=POST route=/api/llm/chat ", f.read()))
        return counts

    # a request's line is logged just after its reply went out
    deadline = time.monotonic() + 3
    while sum(served().values()) < calls and time.monotonic() < deadline:
        time.sleep(0.05)
    counts = served()
    print("# chats per instance: %s; statuses %s" % (sorted(counts.values()), statuses))
    assert all(n > 0 for n in counts.values()) and sum(counts.values()) == calls, counts
