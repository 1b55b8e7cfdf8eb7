#!/usr/bin/env python3
"""redis_memory: Redis memory per user under the shipped configuration.

  tests/bench/redis_memory.py [--users N] [--keys K] [--set NAME VALUE]...

Starts redis-server with scripts/redis/gofannon-keys.conf (as scripts/redis-conf
renders it, without persistence so that loading is quick), writes N users'
hashes as the service does (K providers, each a sealed value the size a 51
character key seals to plus its ":updatedAt" field) and prints used_memory
per user and the hashes' encoding. --set adds a configuration line (e.g.
--set hash-max-listpack-value 64 to see the old default).
"""

import argparse
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIELDS = ["openaiApiKey", "anthropicApiKey", "geminiApiKey", "perplexityApiKey", "openrouterApiKey"]


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def sealed_value():
    # "v1.<kid>." + base64url(24-byte nonce + 51-byte key + 16-byte tag)
    return "v1.k20261128." + base64.urlsafe_b64encode(os.urandom(24 + 51 + 16)).decode().rstrip("=")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100000)
    parser.add_argument("--keys", type=int, default=2)
    parser.add_argument("--set", nargs=2, action="append", default=[])
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="gofannon-redis-mem-")
    sock = os.path.join(state, "redis.sock")
    conf = subprocess.run([os.path.join(TOP, "scripts", "redis-conf"), "--state", state, "--socket", sock],
                          check=True, capture_output=True, text=True).stdout
    conf += "appendonly no\nsave \"\"\n" + "".join("%s %s\n" % (k, v) for k, v in args.set)
    path = os.path.join(state, "redis.conf")
    with open(path, "w") as f:
        f.write(conf)
    redis = subprocess.Popen(["redis-server", path], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        cli = ["redis-cli", "-s", sock]

        def used():
            info = subprocess.run(cli + ["info", "memory"], check=True, capture_output=True, text=True).stdout
            return int(info.split("used_memory:")[1].split()[0])

        before = used()
        batch = bytearray()
        for u in range(args.users):
            argv = ["HSET", "gofannon:users:{user-%07d@example.org}:apiKeys" % u]
            for field in FIELDS[:args.keys]:
                argv += [field, sealed_value(), field + ":updatedAt", "2026-11-28T20:00:00Z"]
            batch += resp(*argv)
        subprocess.run(cli + ["--pipe"], input=bytes(batch), check=True, capture_output=True)
        after = used()
        encoding = subprocess.run(cli + ["object", "encoding", "gofannon:users:{user-0000000@example.org}:apiKeys"],
                                  check=True, capture_output=True, text=True).stdout.strip()
        value_len = len(sealed_value())
        print("%d users, %d keys each (sealed value %d bytes): %.0f bytes per user, hash encoding %s%s" % (
            args.users, args.keys, value_len, (after - before) / args.users, encoding,
            "".join(" [%s %s]" % (k, v) for k, v in args.set)))
    finally:
        redis.terminate()
        redis.wait()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
