"""The pre-fork master beyond the fault tests: crash-loop breaker, request
recycling, the master's death, fast and bounded stops, systemd's
notification and socket activation, in-process serving, a reload that
fails, and a long streamed chat reply (tests/mock_provider.py) across a
reload and a stop. Each test runs on a stack of its own."""

import json
import os
import re
import signal
import socket
import threading
import time
import uuid

from load import Load, alive, children, summary, wait_until
from mock_provider import MockProvider
from stack import Stack

FRESH_STACK = True

API_KEYS = "/api/users/me/api-keys"


def all_workers(stack, n=2):
    """The workers, once all n accept: the stack is up when the first one
    answers, and under ASan the last may be forked a little later."""
    master = stack.service.pid

    def ready():
        with open(stack.current_service_log(), errors="replace") as f:
            return "event=workers_ready" in f.read() and len(children(master)) == n

    wait_until(ready, 10, "%d workers ready" % n)
    return children(master)


def restart_with(stack, **env):
    stack.service_stop()
    stack.service_start({k: str(v) for k, v in env.items()})
    workers = int(env.get("GOFANNON_WORKERS", 2))
    if workers:
        all_workers(stack, workers)
    return stack.service.pid


def get_keys(i):
    return ("GET", API_KEYS, "sup-user", None)


LOAD_KEY = "sk-supervisor-load-" + uuid.uuid4().hex


def put_keys(i):
    return ("PUT", API_KEYS, "sup-writer-%d" % (i % 7), {"provider": "openai", "apiKey": LOAD_KEY})


def hold_every_worker(stack, load, ms):
    """Redis holds every write for ms: each worker is then inside a PUT.
    Reads go on, so the admin connection can still UNPAUSE."""
    stack.remember_keys(LOAD_KEY)
    load.wait_for_requests(20)
    stack.redis_cli("CLIENT", "PAUSE", str(ms), "WRITE")
    time.sleep(0.2)


def test_a_crash_loop_stops_the_master_with_a_clear_message(stack):
    master = restart_with(stack, GOFANNON_WORKERS=1)
    proc = stack.service
    killed = set()
    started = time.monotonic()
    # Only the workers the master says it started: under ASan, the leak
    # checker's helper at exit is a child too, and must live.
    while proc.poll() is None and time.monotonic() - started < 10:
        log = stack.service_log_text()
        if "event=crash_loop" in log:
            break
        for pid in {int(p) for p in re.findall(r"event=worker_started worker=(\d+)", log)} - killed:
            if pid in children(master):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.005)
    code = proc.wait(5)
    stack.service = None
    log = stack.service_log_text()
    assert code == 1, "the master exited with %r" % code
    assert "event=crash_loop deaths_in_a_row=5" in log, log[-2000:]
    assert "restart the service" in log and 'last="signal 9, Killed"' in log
    delays = [int(d) for d in re.findall(r"event=respawn_delayed delay_ms=(\d+)", log)]
    assert delays == sorted(delays) and delays[0] > 0, "the delay should grow: %s" % delays
    print("# crash loop: %d workers killed, respawn delays %s ms, exit 1 after %.1f s" % (
        len(killed), delays, time.monotonic() - started))


def test_max_requests_recycles_workers_with_jitter_and_no_failed_request(stack):
    master = restart_with(stack, GOFANNON_WORKERS=2, GOFANNON_MAX_REQUESTS=20)
    first = children(master)
    load = Load(stack, get_keys, threads=4).start()
    try:
        load.wait_for_requests(400)
    finally:
        results = load.stop()
    assert all(r.status == 200 for r in results), summary(results)
    # Every worker that left at its limit is replaced: the master logs
    # each replacement once it has reaped the worker, which for the last
    # ones (both workers may reach the limit together) comes a moment after
    # the load stopped.
    deadline = time.monotonic() + 5
    while True:
        log = stack.service_log_text()
        served = [int(n) for n in re.findall(r"served=(\d+) reason=max_requests", log)]
        if log.count("reason=recycled") == len(served) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(served) >= 10, "workers were not recycled: %s" % served
    assert all(20 <= n <= 22 for n in served), "limit plus up to a tenth: %s" % served
    assert log.count("reason=recycled") == len(served), \
        "%d workers left at the limit, %d replaced" % (len(served), log.count("reason=recycled"))
    assert not children(master) & first
    print("# max requests 20: %d requests, %d recycles, served per worker %s" % (
        len(results), len(served), sorted(set(served))))


def voluntary_switches(pids):
    total = 0
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            total += sum(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches:"))
    return total


def test_a_new_connection_wakes_one_idle_worker_not_all(stack):
    """Idle workers wait on one listener: with poll() every connection woke
    all of them and all but one found nothing to accept. Counted in the
    workers' voluntary context switches (each a sleep they were woken
    from) over requests sent one at a time, so that every worker is idle
    when each arrives: about one per request, not one per worker. And
    they take turns: the one woken is not always the same."""
    master = restart_with(stack, GOFANNON_WORKERS=4, GOFANNON_LOG_LEVEL="debug")  # a line per request
    workers = children(master)
    for _ in range(40):  # every worker's key cache warm: no wait on Redis
        stack.request("GET", API_KEYS, user="sup-idle")
    log_offset = len(stack.service_log_text())
    before = voluntary_switches(workers)
    requests = 200
    for _ in range(requests):
        resp = stack.request("GET", API_KEYS, user="sup-idle")
        assert resp.status == 200 and resp.json == {"openaiApiKey": None, "anthropicApiKey": None,
                                                    "geminiApiKey": None, "perplexityApiKey": None,
                                                    "openrouterApiKey": None}, resp
    per_request = (voluntary_switches(workers) - before) / requests
    assert children(master) == workers, "a worker was replaced meanwhile"
    assert per_request < 2.5, "%.2f wakeups of 4 idle workers per request: the herd is back" % per_request
    served = [int(pid) for pid in re.findall(r"pid=(\d+) event=request method=GET",
                                             stack.service_log_text()[log_offset:])]
    shares = sorted(served.count(pid) for pid in workers)
    assert len(served) == requests and shares[0] >= requests // 8, \
        "requests per worker %s: idle workers do not take turns" % shares
    print("# 4 idle workers: %.2f wakeups per request; requests per worker %s" % (per_request, shares))


def test_workers_exit_when_the_master_dies(stack):
    workers = all_workers(stack)
    stack.service.kill()
    stack.service.wait(5)
    stack.service = None
    wait_until(lambda: not any(alive(w) for w in workers), 3, "the workers to exit after the master died")


def test_sigint_stops_at_once_without_waiting_for_requests(stack):
    restart_with(stack, GOFANNON_REDIS_TIMEOUT_MS=10000)
    master = stack.service
    workers = all_workers(stack)
    load = Load(stack, put_keys, threads=4).start()
    try:
        hold_every_worker(stack, load, 5000)
        sent = time.monotonic()
        master.send_signal(signal.SIGINT)
        code = master.wait(5)
        took = time.monotonic() - sent
    finally:
        stack.service = None
        load.stop()
        stack.redis_cli("CLIENT", "UNPAUSE")
    assert code == 0 and took < 1.0, "exit %r after %.2f s" % (code, took)
    assert not any(alive(w) for w in workers)
    assert "mode=fast reason=SIGINT" in stack.service_log_text()


def test_sigterm_kills_what_is_left_after_the_stop_timeout(stack):
    restart_with(stack, GOFANNON_STOP_TIMEOUT=1, GOFANNON_REDIS_TIMEOUT_MS=10000)
    proc = stack.service
    load = Load(stack, put_keys, threads=4).start()
    try:
        hold_every_worker(stack, load, 5000)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(5)
        took = time.monotonic() - sent
    finally:
        stack.service = None
        load.stop()
        stack.redis_cli("CLIENT", "UNPAUSE")
    assert code == 0 and 0.9 < took < 2.0, "exit %r after %.2f s" % (code, took)
    assert "event=stop_timeout killed=2 timeout_s=1" in stack.service_log_text()


class Notifications:
    """A NOTIFY_SOCKET that records what the service sends, as systemd would."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.05)
        self.messages = []

    def drain(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return self.messages

    def wait_for(self, field, after=0, timeout=10):
        return wait_until(lambda: [m for m in self.drain()[after:] if field in m.split("\n")], timeout,
                          "%s from the service" % field)


def test_sd_notify_ready_reloading_stopping(stack):
    notify = Notifications(os.path.join(stack.state, "notify.sock"))
    restart_with(stack, NOTIFY_SOCKET=notify.path, GOFANNON_WORKERS=2)
    ready = notify.wait_for("READY=1")
    assert any(m.startswith("STATUS=") for m in ready[0].split("\n")), ready
    seen = len(notify.drain())
    stack.service.send_signal(signal.SIGHUP)
    notify.wait_for("RELOADING=1", seen)
    notify.wait_for("READY=1", seen)
    order = [m.split("\n")[0] for m in notify.drain()[seen:]]
    assert order.index("RELOADING=1") < order.index("READY=1"), order
    assert any(m.startswith("MONOTONIC_USEC=") for m in notify.messages[seen].split("\n"))
    seen = len(notify.messages)
    assert stack.service_stop() == 0
    notify.wait_for("STOPPING=1", seen)
    print("# sd_notify: %s" % [m.replace("\n", " | ") for m in notify.messages])


def test_socket_activation_serves_through_nginx(stack):
    stack.service_stop()
    activated = Stack(build_dir=stack.build_dir, state_dir=stack.state, launcher="socket-activate")
    activated.port = stack.port
    activated.service_logs = stack.service_logs
    activated.service_start()
    try:
        stack.service_logs = activated.service_logs
        all_workers(activated)
        resp = stack.request("GET", API_KEYS, user="activated-" + uuid.uuid4().hex[:6])
        assert resp.status == 200, resp
        assert activated.service_stop() == 0
    finally:
        activated.service_stop()
    log = stack.service_log_text()
    assert "event=started" in log and "LISTEN" not in log


def test_workers_0_serves_in_process_and_reloads(stack):
    master = restart_with(stack, GOFANNON_WORKERS=0)
    assert children(master) == set()
    user = "inproc-" + uuid.uuid4().hex[:6]
    load = Load(stack, lambda i: ("GET", "/api/providers", user, None), threads=2).start()
    try:
        load.wait_for_requests(20)
        stack.write_env_file(dict(stack.system_keys, OPENROUTER_API_KEY="or-in-process-after-reload-7"))
        stack.service.send_signal(signal.SIGHUP)
        wait_until(lambda: "event=reloaded" in stack.service_log_text(), 5, "the reload")
        n = len(load.results)
        load.wait_for_requests(n + 20)
    finally:
        results = load.stop()
    assert all(r.status == 200 for r in results), summary(results)
    providers = {p["id"]: p for p in stack.request("GET", "/api/providers", user=user).json["providers"]}
    assert providers["openrouter"]["envKey"] is True
    assert stack.service_stop() == 0
    assert "event=serving_in_process" in stack.service_log_text()


def test_a_failed_reload_keeps_the_workers_and_the_previous_configuration(stack):
    master = stack.service.pid
    before = all_workers(stack)
    with open(stack.master_key) as f:
        good = f.read()
    try:
        with open(stack.master_key, "w") as f:
            f.write("broken:not-base64\n")
        stack.service.send_signal(signal.SIGHUP)
        wait_until(lambda: "event=reload_failed" in stack.service_log_text(), 5, "the failed reload")
        time.sleep(0.2)
        assert children(master) == before, "workers were replaced by a reload that failed: %s -> %s\n%s" % (
            before, children(master), stack.service_log_text()[-3000:])
        assert stack.request("GET", API_KEYS, user="after-failed-reload").status == 200
    finally:
        with open(stack.master_key, "w") as f:
            f.write(good)
    assert "kept=\"previous configuration\"" in stack.service_log_text()


# --- a long request across a reload and a stop ---------------------------------------------

STREAM_PIECES = 10  # 0.2 s apart: a 2 s streamed reply


def streamed_chat(stack, mock, results):
    """Starts a streamed chat reply that takes about 2 s, in a thread;
    returns once the provider has been called."""
    body = {"provider": "openai", "model": "test-model", "stream": True,
            "messages": [{"role": "user", "content": "take your time"}]}

    def run():
        try:
            results.append(stack.request("POST", "/api/llm/chat", user="streamer", body=body, timeout=20))
        except OSError as e:
            results.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    mock.wait_for(lambda calls: calls, 5)
    time.sleep(0.3)  # a few pieces are out: the reply is under way
    return thread


def check_whole_stream(results):
    assert len(results) == 1 and not isinstance(results[0], Exception), results
    resp = results[0]
    assert resp.status == 200, resp
    assert "event: done" in resp.raw, resp.raw[-300:]
    text = "".join(json.loads(line[6:]).get("delta", "") for line in resp.raw.split("\n")
                   if line.startswith("data: ") and '"delta"' in line)
    assert text.split() == ["piece%d" % i for i in range(STREAM_PIECES)], text


def llm_stack(stack, mock):
    stack.write_env_file(dict(stack.system_keys, OPENAI_API_KEY=SYSTEM_OPENAI))
    stack.remember_keys(SYSTEM_OPENAI)
    mock.slow_pieces = STREAM_PIECES
    mock.set_mode("slow")
    # A short stop timeout: the reload must still let the reply finish.
    restart_with(stack, GOFANNON_WORKERS=2, GOFANNON_LLM_TIMEOUT=10, GOFANNON_STOP_TIMEOUT=1, **mock.base_urls())


SYSTEM_OPENAI = "sk-system-openai-supervisor-3c9f1e"


def test_a_streamed_reply_in_flight_survives_a_reload(stack):
    mock = MockProvider(lifetime=60).start()
    try:
        llm_stack(stack, mock)
        results = []
        thread = streamed_chat(stack, mock, results)
        stack.service.send_signal(signal.SIGHUP)
        wait_until(lambda: "event=workers_replaced" in stack.service_log_text(), 5, "the new workers")
        thread.join(15)
    finally:
        mock.stop()
    check_whole_stream(results)
    assert "worker_killed" not in stack.service_log_text()


def test_a_streamed_reply_in_flight_finishes_before_a_graceful_stop(stack):
    mock = MockProvider(lifetime=60).start()
    try:
        llm_stack(stack, mock)
        restart_with(stack, GOFANNON_WORKERS=2, GOFANNON_LLM_TIMEOUT=10, **mock.base_urls())
        results = []
        thread = streamed_chat(stack, mock, results)
        proc = stack.service
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(15)
        stack.service = None
        thread.join(15)
    finally:
        mock.stop()
    check_whole_stream(results)
    assert code == 0
    assert "event=stop_timeout" not in stack.service_log_text()
