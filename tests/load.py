"""A bounded concurrent client for the fault and supervisor tests.

Load(stack, make_request, threads=4) starts `threads` threads that each send
one request after another through nginx (Stack.request, urllib) until
stop() is called or max_seconds pass, and records every request: when it
started and ended (time.monotonic()), its status (0 when no HTTP answer
came: connection refused or reset) and what make_request(i) described.
make_request(i) returns (method, path, user, body) for the i-th request.

Also: process helpers to find a master's workers through /proc.
"""

import os
import threading
import time


class Result:
    __slots__ = ("start", "end", "status", "request", "error")

    def __init__(self, start, end, status, request, error=None):
        self.start, self.end, self.status, self.request, self.error = start, end, status, request, error

    def overlaps(self, t0, t1):
        return self.start <= t1 and self.end >= t0

    def __repr__(self):
        return "<%s %s %d at %.3f-%.3f%s>" % (self.request[0], self.request[1], self.status, self.start,
                                              self.end, " " + self.error if self.error else "")


class Load:
    def __init__(self, stack, make_request, threads=4, pause=0.0, timeout=5, max_seconds=30):
        self.stack = stack
        self.make_request = make_request
        self.threads = threads
        self.pause = pause
        self.timeout = timeout
        self.max_seconds = max_seconds
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = 0
        self._workers = []

    def _next(self):
        with self._lock:
            self._counter += 1
            return self._counter

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and time.monotonic() < deadline:
            req = self.make_request(self._next())
            method, path, user, body = req
            start = time.monotonic()
            status, error = 0, None
            try:
                status = self.stack.request(method, path, user=user, body=body, timeout=self.timeout).status
            except OSError as e:  # refused, reset, timed out: no HTTP answer
                error = type(e).__name__
            with self._lock:
                self.results.append(Result(start, time.monotonic(), status, req, error))
            if self.pause:
                time.sleep(self.pause)

    def start(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._workers:
            t.join(self.timeout + 2)
        with self._lock:
            return sorted(self.results, key=lambda r: r.start)

    def wait_for_requests(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.results) >= n:
                    return
            time.sleep(0.01)
        raise RuntimeError("the load made fewer than %d requests in %.1fs" % (n, timeout))


def summary(results):
    counts = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join("%s: %d" % (k, v) for k, v in sorted(counts.items()))


def process_states(pid):
    """{child pid: state letter} of pid, zombies included, from /proc."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found[int(name)] = fields[0]
    return found


def children(pid):
    """The pids whose parent is pid, zombies left out."""
    return {child for child, state in process_states(pid).items() if state != "Z"}


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError("not within %.1fs: %s" % (timeout, what))
