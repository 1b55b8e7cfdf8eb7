#!/usr/bin/env python3
"""stream_memory: what one LLM stream in flight costs a worker in memory.

  tests/bench/stream_memory.py [--build-dir DIR] [--workers N]

Starts the real stack with N workers (default 4) and tests/mock_provider.py
in its slow mode (a piece every 0.2 s), opens N streamed chats at once (one
per worker: a worker serves one request at a time) and, while every one is
streaming, reads each worker's VmRSS and its private memory (Private_Clean
+ Private_Dirty from /proc/PID/smaps_rollup: what it does not share with
the other workers). The same before any stream, and after they end. What a
memory budget carries is budget / private memory per streaming worker.
"""

import argparse
import http.client
import json
import os
import re
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests"))

from load import children  # noqa: E402
from mock_provider import MockProvider  # noqa: E402
from stack import Stack  # noqa: E402

SYSTEM_KEY = "sk-system-openai-bench-5d1c0e9a7b3f4a61"


def memory(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
    with open("/proc/%d/smaps_rollup" % pid) as f:
        text = f.read()
    private = sum(int(x) for x in re.findall(r"Private_(?:Clean|Dirty):\s+(\d+) kB", text))
    return rss, private


def show(label, workers):
    sizes = [memory(pid) for pid in sorted(workers)]
    print("%-28s RSS %s KiB (mean %.0f), private %s KiB (mean %.0f)" % (
        label, " ".join(str(r) for r, _ in sizes), sum(r for r, _ in sizes) / len(sizes),
        " ".join(str(p) for _, p in sizes), sum(p for _, p in sizes) / len(sizes)))
    return sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(TOP, "build"))
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    mock = MockProvider(lifetime=300).start()
    stack = Stack(build_dir=args.build_dir, system_keys={"OPENAI_API_KEY": SYSTEM_KEY},
                  service_env=dict(mock.base_urls(), GOFANNON_WORKERS=str(args.workers), GOFANNON_LLM_TIMEOUT="60"))
    try:
        stack.start()
        workers = children(stack.service.pid)
        for _ in range(50):  # every worker has served a read and a chat
            stack.request("GET", "/api/providers", user="mem-user")
        mock.set_mode("ok")
        for _ in range(4 * args.workers):
            resp = stack.request("POST", "/api/llm/chat", user="mem-user",
                                 body={"provider": "openai", "model": "m", "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]})
            assert resp.status == 200, resp
        show("idle, after use", workers)
        mock.set_mode("slow")
        conns = []
        for i in range(args.workers):
            conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
            conn.request("POST", "/api/llm/chat", body=json.dumps(
                {"provider": "openai", "model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}),
                headers={"Content-Type": "application/json", "X-Test-User": "mem-user-%d" % i})
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.readline().startswith(b"data: ")
            conns.append((conn, resp))
        time.sleep(2)
        show("%d streams in flight" % args.workers, workers)
        for conn, resp in conns:
            resp.read()
            conn.close()
        show("after the streams", workers)
    finally:
        stack.stop()
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
