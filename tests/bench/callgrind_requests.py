#!/usr/bin/env python3
"""callgrind_requests: user-space instructions per request of one worker.

  tests/bench/callgrind_requests.py [--build-dir DIR] [--requests N] [--providers N] [PATH...]

Runs the real stack (as scripts/bench does) with one worker under
valgrind --tool=callgrind, twice per path: once with a few warm-up requests
only and once with N more (default 2000). The difference of the worker's
instruction totals divided by N is what one request costs in user space
(kernel time is not counted: see scripts/bench's CPU per request for that).
--providers N serves a registry of N providers (copies of the shipped ones)
to show how /api/providers grows. Paths default to the key list and
/api/providers.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))

from stack import Stack, wait_for  # noqa: E402

USER = "bench-user"
WARMUP = 20


def registry_file(state, count):
    with open(os.path.join(TOP, "src", "providers.json")) as f:
        shipped = json.load(f)["providers"]
    providers = []
    for i in range(count):
        p = dict(shipped[i % len(shipped)])
        if i >= len(shipped):
            p["id"] = "%s%d" % (p["id"], i)
            p["envVar"] = "BENCH%d_API_KEY" % i
            if p.get("userKeyField"):
                p["userKeyField"] = "bench%dApiKey" % i
        providers.append(p)
    path = os.path.join(state, "providers.json")
    with open(path, "w") as f:
        json.dump({"providers": providers}, f)
    return path


def worker_instructions(state):
    """The instruction total of the worker: the callgrind file of the
    process that served (the supervisor's is the smaller)."""
    totals = []
    for path in glob.glob(os.path.join(state, "callgrind.out.*")):
        with open(path) as f:
            m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
        if m:
            totals.append((int(m.group(1)), path))
    return max(totals)


def get(url, n):
    for _ in range(n):
        req = urllib.request.Request(url, headers={"X-Test-User": USER})
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert resp.status == 200
            resp.read()


def measure(args, path, n):
    state_env = {"GOFANNON_WORKERS": "1"}
    stack = Stack(build_dir=args.build_dir, service_env=state_env)
    wrapper = os.path.join(stack.state, "callgrind-wrapper")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.out.%%p %s \"$@\"\n" % (
            stack.state, os.path.join(os.path.abspath(args.build_dir), "src", "gofannon-keys")))
    os.chmod(wrapper, 0o755)
    if args.providers:
        stack.service_env["GOFANNON_PROVIDERS_FILE"] = registry_file(stack.state, args.providers)
    try:
        # as Stack.start(), with the service under valgrind: its start-up
        # takes longer than Stack's wait allows on a busy machine
        stack.write_env_file()
        subprocess.run([stack.binary, "keygen", stack.master_key], check=True, capture_output=True,
                       env=stack.service_environment())
        stack.binary = wrapper
        stack.redis_start()
        stack.nginx_start()
        stack.service_start(wait=False)
        wait_for(lambda: stack.service.poll() is not None or stack.health_status() == 200, 300, "the service")
        for provider in ("openai", "gemini"):
            resp = stack.request("PUT", "/api/users/me/api-keys", user=USER,
                                 body={"provider": provider, "apiKey": "sk-bench-%s-0123456789abcdefghij" % provider},
                                 timeout=60)
            assert resp.status == 200, resp
        get(stack.url + path, WARMUP + n)
    finally:
        stack.stop()
    total, path_out = worker_instructions(stack.state)
    if args.annotate and n:
        print(subprocess.run(["callgrind_annotate", "--inclusive=no", path_out], capture_output=True,
                             text=True).stdout[:6000])
    shutil.rmtree(stack.state, ignore_errors=True)
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(TOP, "build"))
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--providers", type=int, default=0)
    parser.add_argument("--annotate", action="store_true", help="print the worker's costliest functions")
    parser.add_argument("paths", nargs="*", default=["/api/users/me/api-keys", "/api/providers"])
    args = parser.parse_args()
    for path in args.paths:
        base = measure(args, path, 0)
        more = measure(args, path, args.requests)
        print("%-45s %8.0f instructions per request%s" % (
            path, (more - base) / args.requests, " (%d providers)" % args.providers if args.providers else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
