#!/usr/bin/env python3
"""invalidation_bound: how long after a write was answered may another
worker still serve the old value from its key cache (GOFANNON_KEY_CACHE)?

  tests/bench/invalidation_bound.py [--build-dir DIR] [--redis-writes N] [--writes N] [--readers N]

Two measurements on the real stack:

1. Redis alone (--redis-writes, default 20000): a subscriber to
   __redis__:invalidate, a connection tracking with REDIRECT to it (as a
   worker has), and a writer. Each round the tracker reads the key (HMGET),
   the writer sends HSET, and one poll() over the writer's and the
   subscriber's sockets waits. It counts the rounds where the invalidation
   was readable no later than the writer's reply, and for the others how
   much later it came.

2. End to end (--writes, default 300): two instances sharing Redis, two
   workers each, each instance behind its own nginx. The main thread
   alternates PUT (a new key) and DELETE through instance A; --readers
   threads (default 2) send GET /api/users/me/api-keys through instance B
   without pause. A GET is stale when it started (its first byte not even
   sent yet) after some write was answered and still shows the value from
   before that write. It prints how many GETs started within 1 ms and
   10 ms after an answer, and how many were stale, with the latest start
   after an answer that still got an old value.

The service must be built (make); the numbers go in docs/operations.md.
"""

import argparse
import bisect
import os
import select
import socket
import sys
import threading
import time
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from stack import Stack, _encode_command, _read_reply  # noqa: E402
from test_multihost import MultiStack  # noqa: E402

API_KEYS = "/api/users/me/api-keys"


class Conn:
    def __init__(self, stack):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(stack.redis_socket)
        self.file = self.sock.makefile("rb")
        assert self.call("AUTH", "admin", stack._redis_users()[1]) == "OK"

    def send(self, *args):
        self.sock.sendall(_encode_command(*args))

    def read(self):
        return _read_reply(self.file)

    def call(self, *args):
        self.send(*args)
        return self.read()


def redis_alone(build_dir, rounds):
    stack = Stack(build_dir=build_dir)
    try:
        stack.redis_start()
        sub, tracker, writer = Conn(stack), Conn(stack), Conn(stack)
        sub_id = sub.call("CLIENT", "ID")
        sub.call("SUBSCRIBE", "__redis__:invalidate")
        assert tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", str(sub_id)) == "OK"
        key = "bound:users:{u}:apiKeys"
        poller = select.poll()
        poller.register(writer.sock, select.POLLIN)
        poller.register(sub.sock, select.POLLIN)
        first, late = 0, []
        for i in range(rounds):
            tracker.call("HMGET", key, "f")
            writer.send("HSET", key, "f", str(i))
            ready = {}
            while writer.sock.fileno() not in ready:
                ready.update(poller.poll(1000))
            if sub.sock.fileno() in ready:
                first += 1
                writer.read()
            else:
                t0 = time.monotonic()
                writer.read()
                assert select.select([sub.sock], [], [], 1.0)[0], "no invalidation within 1 s"
                late.append(time.monotonic() - t0)
            message = sub.read()
            assert message[0] == "message" and message[2] == [key], message
        print("Redis alone: %d writes; the invalidation was readable no later than the writer's reply in %d "
              "(%.2f%%)" % (rounds, first, 100.0 * first / rounds))
        if late:
            late.sort()
            print("  in the other %d it came %.0f us later at the median, %.0f us at most" % (
                len(late), late[len(late) // 2] * 1e6, late[-1] * 1e6))
    finally:
        stack.stop()


class TwoFronts(MultiStack):
    def nginx_start(self):
        super().nginx_start()
        if not getattr(self, "fronts", None):
            self.fronts = [self.extra_nginx_start("front-%d" % i, "--test-identity-header", "--multi",
                                                  "127.0.0.1:%d" % port) for i, port in enumerate(self.ports)]


def mask(key):
    return key[:3] + "..." + key[-4:] if key else None


def end_to_end(build_dir, writes, readers):
    stack = TwoFronts(build_dir=build_dir)
    user = "bound-" + uuid.uuid4().hex[:8]
    answers = [(0.0, None)]  # (when the write's answer was read, the mask it left)
    reads = []
    lock = threading.Lock()
    stop = threading.Event()

    def read():
        while not stop.is_set():
            t0 = time.monotonic()
            r = stack.request("GET", API_KEYS, user=user, base=stack.fronts[1])
            assert r.status == 200, r
            with lock:
                reads.append((t0, r.json["openaiApiKey"]))

    try:
        stack.start()
        threads = [threading.Thread(target=read, daemon=True) for _ in range(readers)]
        for t in threads:
            t.start()
        for n in range(writes):
            if n % 2 == 0:
                key = "sk-bound-%s" % uuid.uuid4().hex
                stack.remember_keys(key)
                r = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key},
                                  base=stack.fronts[0])
                value = mask(key)
            else:
                r = stack.request("DELETE", API_KEYS + "/openai", user=user, base=stack.fronts[0])
                value = None
            assert r.status == 200, r
            with lock:
                answers.append((time.monotonic(), value))
            time.sleep(0.002)
        stop.set()
        for t in threads:
            t.join(10)
    finally:
        stack.stop()
    times = [a[0] for a in answers]
    near1 = near10 = 0
    stale = []
    for t0, value in reads:
        i = bisect.bisect_right(times, t0) - 1  # the last write answered before this GET started
        since = t0 - times[i]
        near1 += i > 0 and since <= 0.001
        near10 += i > 0 and since <= 0.010
        # a GET may see writes answered after it started, never miss one answered before
        if value not in [a[1] for a in answers[i:]]:
            stale.append(since)
    print("End to end: %d writes through instance A, %d GETs through instance B (%d readers)" % (
        writes, len(reads), readers))
    print("  GETs that started within 1 ms after a write's answer: %d; within 10 ms: %d" % (near1, near10))
    if stale:
        print("  STALE: %d GETs showed a value older than the last write answered before they started; the "
              "latest started %.3f ms after that answer" % (len(stale), max(stale) * 1000))
    else:
        print("  stale GETs: 0 (no GET that started after a write's answer showed the value from before it)")
    return not stale


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=os.environ.get("GOFANNON_BUILD_DIR") or os.path.join(TOP, "build"))
    parser.add_argument("--redis-writes", type=int, default=20000)
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    build_dir = os.path.abspath(args.build_dir)
    redis_alone(build_dir, args.redis_writes)
    return 0 if end_to_end(build_dir, args.writes, args.readers) else 1


if __name__ == "__main__":
    sys.exit(main())
