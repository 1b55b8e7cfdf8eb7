"""LLM calls apart from the key endpoints (fcgi_server.c, "LLM calls in
child processes"): a worker hands each chat or verify to a child of its own
and goes back to accepting, so slow provider calls, however many, never
take the workers the key endpoints need. With the one listening socket
spawn-fcgi -n hands over: nginx and the config are as before. Children are
reaped, finish their calls on a graceful stop and across a reload, and over
GOFANNON_LLM_WORKERS_MAX the worker serves the call itself."""

import json
import os
import signal
import threading
import time
import uuid

from load import process_states, wait_until
from mock_provider import MockProvider

TIMEOUT_S = 3  # GOFANNON_LLM_TIMEOUT: a hang answers 504 after this
WORKERS = 2
IN_FLIGHT = 6  # hanging chats, three times the workers
CHAT = "/api/llm/chat"
API_KEYS = "/api/users/me/api-keys"
SYSTEM_OPENAI = "sk-system-openai-4b7d1f0e9a2c6e35"
SYSTEM_GEMINI = "gemini-system-key-9d3f6b1a2e0c7a48"
STREAM_PIECES = 10  # 0.2 s apart: a 2 s streamed reply

MOCK = MockProvider(lifetime=900).start()

STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI, "GEMINI_API_KEY": SYSTEM_GEMINI},
    "service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT=str(TIMEOUT_S), GOFANNON_WORKERS=str(WORKERS),
                        GOFANNON_LLM_PER_USER="0"),
}
FRESH_STACK = True


def fresh(stack, prefix="pool"):
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    MOCK.slow_pieces = STREAM_PIECES
    stack.remember_keys(SYSTEM_OPENAI, SYSTEM_GEMINI)
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def chat_body(provider, **extra):
    body = {"provider": provider, "model": "test-model", "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra)
    return body


def llm_children(stack):
    """{pid: state} of every worker's children."""
    found = {}
    for worker in process_states(stack.service.pid):
        found.update(process_states(worker))
    return found


def start_calls(stack, users, body, timeout=TIMEOUT_S + 15):
    results = []

    def one(user):
        try:
            results.append(stack.request("POST", CHAT, user=user, body=body, timeout=timeout))
        except OSError as e:
            results.append(e)

    threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
    for t in threads:
        t.start()
    return threads, results


def join(threads, timeout=TIMEOUT_S + 15):
    for t in threads:
        t.join(timeout)


def p99_ms(samples):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000


def check_stream(resp):
    assert not isinstance(resp, Exception), resp
    assert resp.status == 200, resp
    assert "event: done" in resp.raw, resp.raw[-300:]
    text = "".join(json.loads(line[6:]).get("delta", "") for line in resp.raw.split("\n")
                   if line.startswith("data: ") and '"delta"' in line)
    assert text.split() == ["piece%d" % i for i in range(STREAM_PIECES)], text


def test_hanging_chats_three_times_the_workers_leave_the_key_endpoints_fast(stack):
    fresh(stack)
    reader, chatter = "reader-" + uuid.uuid4().hex[:8], "chatter-" + uuid.uuid4().hex[:8]
    MOCK.set_mode("hang", "openai")
    users = ["hog-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(IN_FLIGHT)]
    threads, results = start_calls(stack, users, chat_body("openai"))
    MOCK.wait_for(lambda c: len(c) >= IN_FLIGHT, 5)
    assert len(llm_children(stack)) == IN_FLIGHT, llm_children(stack)
    times = []
    for _ in range(300):
        t0 = time.monotonic()
        resp = stack.request("GET", API_KEYS, user=reader)
        times.append(time.monotonic() - t0)
        assert resp.status == 200 and "openai" in resp.raw, resp
    p99 = p99_ms(times)
    print("# GET %s with %d hanging chats on %d workers: p50 %.1f ms, p99 %.1f ms, max %.1f ms (n=%d)" % (
        API_KEYS, IN_FLIGHT, WORKERS, sorted(times)[len(times) // 2] * 1000, p99, max(times) * 1000, len(times)))
    assert p99 < 50, "p99 %.1f ms" % p99
    t0 = time.monotonic()
    resp = stack.request("POST", CHAT, user=chatter, body=chat_body("gemini"))
    took = time.monotonic() - t0
    print("# a fresh chat meanwhile: %d in %.0f ms" % (resp.status, took * 1000))
    assert resp.status == 200 and resp.json["content"].startswith("Hello from gemini"), resp
    assert took < 2.0, "waited %.2fs: a slot held would cost TIMEOUT_S" % took
    join(threads)
    assert [r.status for r in results] == [504] * IN_FLIGHT, results
    # every child is reaped once its call is over: none left, no zombie
    wait_until(lambda: not llm_children(stack), 3, "the children reaped: %r" % llm_children(stack))


def test_over_the_maximum_the_worker_serves_the_call_itself(stack):
    # one child per worker: two calls in children, the others in the workers
    stack.service_restart({"GOFANNON_LLM_WORKERS_MAX": "2"})
    fresh(stack)
    MOCK.set_mode("hang", "openai")
    users = ["max-%d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(4)]
    threads, results = start_calls(stack, users, chat_body("openai"))
    MOCK.wait_for(lambda c: len(c) >= 4, 5)  # none refused, none queued
    assert len(llm_children(stack)) == 2, llm_children(stack)
    join(threads)
    assert [r.status for r in results] == [504] * 4, results
    wait_until(lambda: not llm_children(stack), 3, "the children reaped")


def test_zero_serves_every_call_in_the_workers(stack):
    stack.service_restart({"GOFANNON_LLM_WORKERS_MAX": "0"})
    fresh(stack)
    MOCK.set_mode("hang", "openai")
    threads, results = start_calls(stack, ["zero-" + uuid.uuid4().hex[:6]], chat_body("openai"))
    MOCK.wait_for(lambda c: len(c) >= 1, 5)
    assert llm_children(stack) == {}
    join(threads)
    assert results[0].status == 504, results


def test_a_child_closes_a_connection_nginx_keeps(stack):
    # nginx keeps FastCGI connections: a child answers one request and
    # closes its connection; the worker's kept ones go on serving.
    stack.keep_conn = 4
    stack.nginx.terminate()
    stack.nginx.wait(5)
    stack.nginx_start()
    fresh(stack)
    user = "keep-" + uuid.uuid4().hex[:8]
    for i in range(20):
        resp = stack.request("POST", CHAT, user=user, body=chat_body("gemini", stream=bool(i % 2)))
        assert resp.status == 200, resp
        resp = stack.request("GET", API_KEYS, user=user)
        assert resp.status == 200, resp
    wait_until(lambda: not llm_children(stack), 3, "the children reaped")


def test_sigterm_lets_chats_in_children_finish(stack):
    stack.service_restart({"GOFANNON_LLM_TIMEOUT": "10"})
    fresh(stack)
    MOCK.set_mode("slow", "openai")
    threads, results = start_calls(stack, ["term-%d" % i for i in range(4)], chat_body("openai", stream=True))
    MOCK.wait_for(lambda c: len(c) >= 4, 5)
    time.sleep(0.3)  # the replies are under way
    assert len(llm_children(stack)) == 4
    proc = stack.service
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(20)
    stack.service = None
    join(threads)
    assert len(results) == 4, results
    for resp in results:
        check_stream(resp)
    assert code == 0
    stack.service_start()


def test_sighup_loses_no_chat_in_a_child(stack):
    stack.service_restart({"GOFANNON_LLM_TIMEOUT": "10", "GOFANNON_STOP_TIMEOUT": "5"})
    fresh(stack)
    MOCK.set_mode("slow", "openai")
    threads, results = start_calls(stack, ["hup-%d" % i for i in range(4)], chat_body("openai", stream=True))
    MOCK.wait_for(lambda c: len(c) >= 4, 5)
    time.sleep(0.3)
    stack.service.send_signal(signal.SIGHUP)
    wait_until(lambda: "event=workers_replaced" in stack.service_log_text(), 10, "the new workers")
    # the new workers serve at once, while the old ones' children stream on
    assert stack.request("GET", API_KEYS, user="hup-reader").status == 200
    join(threads)
    assert len(results) == 4, results
    for resp in results:
        check_stream(resp)
    assert "worker_killed" not in stack.service_log_text()
    wait_until(lambda: not llm_children(stack), 3, "the children reaped")
