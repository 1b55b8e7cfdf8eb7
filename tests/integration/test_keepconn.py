"""FastCGI kept connections (issue 9, item 3): nginx with fastcgi_keep_conn on
and an upstream keepalive pool of 1, 8 and 64 connections in front of 4
workers (scripts/nginx-conf --keep-conn N, Stack(keep_conn=N)).

Each pool size gets 20,000 requests or more from wrk (32 connections, runs
of 3 s until that many were counted), and every answer must be a 200 whose body
holds the stored key's mask: none may time out, fail or be retried into an
error. While it runs, the descriptors of every worker (/proc/PID/fd) are
sampled: they must stay within the worker's bound (what it had before plus
the connections it may hold), and no worker may be replaced. Before the fix
the second request on a kept connection hung until nginx's timeout and each
kept connection leaked a descriptor.

Also: a request whose body the service never reads (413 from Content-Length)
leaves its kept connection usable, and a reload under keep-conn load fails
no request.

The ASan build serves some 3,000 requests a second here, so this runs on
whatever --build-dir the suite is given (CI passes build-asan) in well under
two minutes.
"""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import uuid

from load import children, wait_until
from stack import stop_process

WORKERS = 4
STACK_OPTIONS = {"service_env": {"GOFANNON_WORKERS": str(WORKERS)}}

API_KEYS = "/api/users/me/api-keys"
REQUESTS = 20000
CONNECTIONS = 32
THREADS = 2
HELD_MAX = 72  # FCGI_KEEP_MAX + FCGI_NEW_MAX in src/fcgi_server.c

# wrk checks every answer: a 200 whose body holds the stored key's mask.
WRK_SCRIPT = """
local expected = "%(expected)s"
count, bad = 0, 0
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    wrk.headers["X-Test-User"] = args[1]
end

function response(status, headers, body)
    count = count + 1
    if status ~= 200 or not body:find(expected, 1, true) then
        bad = bad + 1
    end
end

function done(summary, latency, requests)
    local c, b = 0, 0
    for _, t in ipairs(threads) do
        c = c + t:get("count")
        b = b + t:get("bad")
    end
    io.write(string.format("checked %%d bad %%d\\n", c, b))
end
"""


def seed_user(stack):
    user, key = "keep-" + uuid.uuid4().hex[:10], "sk-keepconn-" + uuid.uuid4().hex
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key})
    assert resp.status == 200, resp
    return user, '"openaiApiKey":"%s...%s"' % (key[:3], key[-4:])


def use_keep_conn(stack, n):
    """nginx again, now keeping up to n idle FastCGI connections."""
    stop_process(stack.nginx, signal.SIGQUIT)
    stack.keep_conn = n
    stack.nginx_start()
    wait_until(lambda: stack.health_status() == 200, 5, "nginx with keepalive %d" % n)


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


class FdSampler:
    """The descriptor count of each worker, every 20 ms, highest seen."""

    def __init__(self, workers):
        self.workers = workers
        self.before = {w: fd_count(w) for w in workers}
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            for w in self.workers:
                n = fd_count(w)
                if n is not None and n > self.peak[w]:
                    self.peak[w] = n

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(2)
        self.after = {w: fd_count(w) for w in self.workers}


def wrk_once(stack, script, user, seconds):
    argv = ["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % seconds, "--timeout", "5s",
            "-s", script, stack.url + API_KEYS, "--", user]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 20).stdout
    done = re.search(r"(\d+) requests in ([0-9.]+)s", out)
    checked = re.search(r"checked (\d+) bad (\d+)", out)
    assert done and checked, out
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": int(done.group(1)), "seconds": float(done.group(2)), "checked": int(checked.group(1)),
            "bad": int(checked.group(2)), "socket_errors": errors.group(0) if errors else None,
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0, "output": out}


def wrk(stack, user, expected, requests, seconds=3, limit=50):
    """wrk runs of a few seconds each (wrk itself only knows durations) until
    `requests` answers were checked; their totals, and every run's output."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=stack.state, delete=False) as f:
        f.write(WRK_SCRIPT % {"expected": expected.replace('"', '\\"')})
    total = {"requests": 0, "seconds": 0.0, "checked": 0, "bad": 0, "socket_errors": None, "non_2xx": 0,
             "output": ""}
    started = time.monotonic()
    while total["checked"] < requests and time.monotonic() - started < limit:
        run = wrk_once(stack, f.name, user, seconds)
        for k in ("requests", "seconds", "checked", "bad", "non_2xx"):
            total[k] += run[k]
        total["socket_errors"] = total["socket_errors"] or run["socket_errors"]
        total["output"] += run["output"]
    return total


def nginx_upstream_errors(stack):
    path = os.path.join(stack.state, "nginx-error.log")
    with open(path, errors="replace") as f:
        return [line for line in f if "upstream" in line]


def all_workers(stack):
    return wait_until(lambda: children(stack.service.pid) if len(children(stack.service.pid)) == WORKERS else None,
                      10, "%d workers" % WORKERS)


def run_pool(stack, n):
    use_keep_conn(stack, n)
    user, expected = seed_user(stack)
    workers = all_workers(stack)
    errors_before = len(nginx_upstream_errors(stack))
    fds = FdSampler(workers).start()
    try:
        result = wrk(stack, user, expected, REQUESTS)
    finally:
        fds.stop()
    out = result["output"]
    assert result["checked"] >= REQUESTS and result["bad"] == 0, out
    assert result["socket_errors"] is None and result["non_2xx"] == 0, out
    assert children(stack.service.pid) == workers, "a worker was replaced"
    for w in workers:
        assert fds.peak[w] <= fds.before[w] + HELD_MAX, "worker %d: %d descriptors before, %d at the peak" % (
            w, fds.before[w], fds.peak[w])
    upstream = nginx_upstream_errors(stack)[errors_before:]
    assert not upstream, "nginx logged upstream errors:\n" + "".join(upstream[:5])
    print("# keepalive %d: %d requests in %.1f s (%.0f/s), all 200 with the body checked; "
          "worker descriptors before %s, peak %s, after %s" % (
              n, result["checked"], result["seconds"], result["requests"] / result["seconds"],
              sorted(fds.before.values()), sorted(fds.peak.values()), sorted(fds.after.values())))


def test_keepalive_1_serves_20000_requests_with_flat_descriptors(stack):
    run_pool(stack, 1)


def test_keepalive_8_serves_20000_requests_with_flat_descriptors(stack):
    run_pool(stack, 8)


def test_keepalive_64_serves_20000_requests_with_flat_descriptors(stack):
    run_pool(stack, 64)


def test_an_unread_body_leaves_the_kept_connection_usable(stack):
    """The service answers 413 from Content-Length without reading the body;
    the worker reads the rest before the next request on that connection."""
    use_keep_conn(stack, 1)
    user, expected = seed_user(stack)
    errors_before = len(nginx_upstream_errors(stack))
    big = b'{"provider":"openai","apiKey":"' + b"x" * (100 * 1024) + b'"}'
    for _ in range(20):
        resp = stack.request("PUT", API_KEYS, user=user, raw_body=big, headers={"Content-Type": "application/json"})
        assert resp.status == 413 and resp.json == {"detail": "Request body is larger than 64 KiB"}, resp
        resp = stack.request("GET", API_KEYS, user=user)
        assert resp.status == 200 and expected in resp.raw.replace(" ", ""), resp
    upstream = nginx_upstream_errors(stack)[errors_before:]
    assert not upstream, "nginx logged upstream errors:\n" + "".join(upstream[:5])


def test_a_reload_under_keep_conn_load_fails_no_request(stack):
    """Workers replaced by SIGHUP finish the request in hand, serve what nginx
    already sent on their kept connections, then close them; nginx opens new
    ones to the new workers."""
    use_keep_conn(stack, 8)
    user, expected = seed_user(stack)
    before = all_workers(stack)
    errors_before = len(nginx_upstream_errors(stack))
    results = []
    thread = threading.Thread(target=lambda: results.append(wrk(stack, user, expected, 1, seconds=8)),
                              daemon=True)
    thread.start()
    time.sleep(1.0)
    for n in (1, 2):  # the second once the first has replaced every worker
        stack.service.send_signal(signal.SIGHUP)
        wait_until(lambda: stack.service_log_text().count("event=workers_replaced") >= n, 8, "reload %d" % n)
    thread.join(30)
    assert results, "wrk did not finish"
    out = results[0]["output"]
    assert results[0]["bad"] == 0 and results[0]["non_2xx"] == 0 and results[0]["socket_errors"] is None, out
    after = all_workers(stack)
    assert not before & after, "the workers were not replaced: %s -> %s" % (before, after)
    log = stack.service_log_text()
    assert log.count("event=workers_replaced") >= 2, log[-2000:]
    retried = [re.sub(r"^.*\[error\] [^ ]+ \*\d+ ", "", line).split(",")[0]
               for line in nginx_upstream_errors(stack)[errors_before:]]
    print("# reload twice under keep-conn load: %d requests, all 200; kept connections nginx found "
          "closed and retried on a new one: %d %s" % (results[0]["checked"], len(retried), sorted(set(retried))))
