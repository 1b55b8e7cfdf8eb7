#!/usr/bin/env python3
"""keepconn: is nginx's fastcgi_keep_conn faster than a connection per request?

  python3 tests/bench/keepconn.py [--build-dir DIR] [--workers 4] [--rounds 3]
                                  [--duration 5] [--connections 32] [--pools 0,8,64]

Starts one stack (tests/stack.py: redis-server, the service with --workers
workers, nginx from scripts/nginx-conf), then, in rounds, runs wrk through
nginx against GET /api/users/me/api-keys (a user with a stored key: one
Redis read and one unseal) and GET /api/health, once for each upstream
keepalive pool size in --pools (0: no keepalive, a connection per request;
N: keepalive N with fastcgi_keep_conn on; nginx is restarted with that
configuration). Rounds interleave the variants so that a busy neighbour
weighs on all alike; the median round counts. Prints requests per second
and p50/p99 latency per variant, and exits 1 if any run had an error or a
non-2xx answer.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import uuid

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))

from stack import Stack, stop_process, wait_for  # noqa: E402

PATHS = ["/api/users/me/api-keys", "/api/health"]


def to_ms(text):
    value, unit = re.match(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, user, args):
    out = subprocess.run(["wrk", "-t2", "-c%d" % args.connections, "-d%ds" % args.duration, "--latency",
                          "-H", "X-Test-User: " + user, url], capture_output=True, text=True,
                         timeout=args.duration + 30).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors", out)
    return (float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
            to_ms(re.search(r"\s50%\s+(\S+)", out).group(1)), to_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
            bad is not None, out)


def use_pool(stack, n):
    stop_process(stack.nginx, signal.SIGQUIT)
    stack.keep_conn = n
    stack.nginx_start()
    wait_for(lambda: stack.health_status() == 200, 5, "nginx")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(TOP, "build"))
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--pools", default="0,8,64")
    args = ap.parse_args()
    pools = [int(p) for p in args.pools.split(",")]
    stack = Stack(build_dir=args.build_dir, service_env={"GOFANNON_WORKERS": str(args.workers)})
    results = {(p, path): [] for p in pools for path in PATHS}
    failed = False
    with stack:
        user, key = "bench-keep-" + uuid.uuid4().hex[:6], "sk-bench-keepconn-" + uuid.uuid4().hex
        stack.remember_keys(key)
        assert stack.request("PUT", PATHS[0], user=user, body={"provider": "openai", "apiKey": key}).status == 200
        for _ in range(args.rounds):
            for pool in pools:
                use_pool(stack, pool)
                for path in PATHS:
                    rps, p50, p99, bad, out = wrk(stack.url + path, user, args)
                    results[(pool, path)].append((rps, p50, p99))
                    if bad:
                        failed = True
                        print(out, file=sys.stderr)
    print("%-26s %-22s %10s %9s %9s" % ("path", "nginx upstream", "req/s", "p50 ms", "p99 ms"))
    for path in PATHS:
        for pool in pools:
            runs = sorted(results[(pool, path)])
            rps, p50, p99 = runs[len(runs) // 2]
            label = "connection per request" if pool == 0 else "keepalive %d, keep_conn" % pool
            print("%-26s %-22s %10.0f %9.2f %9.2f   (rounds: %s)" % (
                path, label, rps, p50, p99, ", ".join("%.0f" % r[0] for r in results[(pool, path)])))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
