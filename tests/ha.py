#!/usr/bin/env python3
"""A primary with replicas under Redis Sentinel, for the failover tests and
./scripts/demo-ha.

HaStack is a tests/stack.py Stack whose Redis is, instead of one server on
a unix socket, one primary and REPLICAS replicas on loopback TCP ports and
three sentinels watching them (configurations rendered from the shipped
ones by scripts/redis-ha-conf, users from scripts/redis/make-acl); the
service gets GOFANNON_REDIS_URL=redis-sentinel://... with
GOFANNON_SENTINEL_PASSWORD and GOFANNON_REDIS_MIN_REPLICAS. Sentinel's
timings are shortened here (down-after-milliseconds 1500), never in the
shipped configuration. Everything is started and stopped by the stack.

As a command (what scripts/demo-ha runs):
  python3 tests/ha.py run [--build-dir DIR] [--port PORT]
      starts the whole topology and prints how to watch a failover; stops
      it on Ctrl-C.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stack import TOP, Stack, _encode_command, _read_reply, free_port, stop_process, wait_for  # noqa: E402

MASTER_NAME = "gofannon-keys"


class Node:
    """One redis-server or redis-sentinel of the topology."""

    def __init__(self, stack, kind, port):
        self.stack = stack
        self.kind = kind
        self.port = port
        self.dir = os.path.join(stack.state, "%s-%d" % (kind, port))
        self.proc = None

    @property
    def name(self):
        return "%s:%d" % (self.kind, self.port)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def render(self, **options):
        os.makedirs(self.dir, exist_ok=True)
        argv = [os.path.join(TOP, "scripts", "redis-ha-conf"), self.kind, "--state", self.dir,
                "--port", str(self.port), "--acl-dir", self.stack.state]
        for name, value in options.items():
            if value is not None:
                argv += ["--" + name.replace("_", "-"), str(value)]
        conf = os.path.join(self.dir, "%s.conf" % self.kind)
        with open(conf, "w") as f:
            f.write(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
        return conf

    def start(self, conf=None):
        conf = conf or os.path.join(self.dir, "%s.conf" % self.kind)
        if self.kind == "sentinel":
            # Debian's redis-sentinel is redis-server started under that name
            argv = ["redis-sentinel", conf] if shutil.which("redis-sentinel") else ["redis-server", conf,
                                                                                   "--sentinel"]
        else:
            argv = ["redis-server", conf]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.ping(), 10, self.name)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            stop_process(self.proc, sig)
        self.proc = None

    def kill(self):
        self.proc.kill()
        self.proc.wait(5)
        self.proc = None

    def cli(self, *args, timeout=2):
        """One command as admin (a server) or with the clients' password (a
        sentinel) over TCP; returns the decoded reply."""
        if self.kind == "sentinel":
            auth = ("AUTH", self.stack.sentinel_clients_password)
        else:
            auth = ("AUTH", "admin", self.stack.admin_password)
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(_encode_command(*auth) + _encode_command(*args))
            f = s.makefile("rb")
            _read_reply(f)
            return _read_reply(f)

    def ping(self):
        try:
            return self.cli("PING", timeout=0.5) == "PONG"
        except (OSError, RuntimeError):
            return False

    def info(self, section):
        text = self.cli("INFO", section)
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def role(self):
        try:
            return self.cli("ROLE", timeout=0.5)[0]
        except (OSError, RuntimeError, TypeError, IndexError):
            return None


class HaStack(Stack):
    """Stack with one primary, REPLICAS replicas and three sentinels."""

    REPLICAS = 2
    SENTINELS = 3
    # Around a second, as the issue asks; 1.5 s because on a loaded test machine
    # a freshly promoted replica can miss 1 s and be failed over again.
    DOWN_AFTER_MS = 1500
    # A failover that fails (a split vote) is retried after twice this.
    FAILOVER_TIMEOUT_MS = 2000
    MIN_REPLICAS = 1
    # A cut-off primary refuses writes after this many seconds without a
    # replica's acknowledgement (shipped: 10).
    MIN_REPLICAS_MAX_LAG = 2

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        ports = [free_port() for _ in range(1 + self.REPLICAS + self.SENTINELS)]
        self.servers = [Node(self, "server", p) for p in ports[:1 + self.REPLICAS]]
        self.sentinels = [Node(self, "sentinel", p) for p in ports[1 + self.REPLICAS:]]
        self.service_env.setdefault("GOFANNON_REDIS_MIN_REPLICAS", str(self.MIN_REPLICAS))

    # --- users -------------------------------------------------------------

    def _secret(self, name):
        self._redis_users()
        with open(os.path.join(self.state, name)) as f:
            return f.read().strip()

    @property
    def admin_password(self):
        return self._redis_users()[1]

    @property
    def sentinel_clients_password(self):
        return self._secret("sentinel-clients.password")

    @property
    def service_redis_url(self):
        service_password = self._redis_users()[0].split("gofannon-keys:", 1)[1].split("@", 1)[0]
        hosts = ",".join(s.address for s in self.sentinels)
        return "redis-sentinel://gofannon-keys:%s@%s/%s" % (service_password, hosts, MASTER_NAME)

    def service_environment(self, extra=None):
        env = super().service_environment(extra)
        env.setdefault("GOFANNON_SENTINEL_PASSWORD", self.sentinel_clients_password)
        return env

    # --- the topology ------------------------------------------------------

    def redis_start(self):
        primary = self.servers[0]
        for i, node in enumerate(self.servers):
            node.render(replicaof=None if i == 0 else primary.address,
                        min_replicas_max_lag=self.MIN_REPLICAS_MAX_LAG)
            node.start()
        for node in self.sentinels:
            node.render(primary=primary.address, down_after=self.DOWN_AFTER_MS,
                        failover_timeout=self.FAILOVER_TIMEOUT_MS)
            node.start()
        wait_for(lambda: self.topology_ready(primary), 30, "the replicas and the sentinels to see each other")
        self._save_state()

    def topology_ready(self, primary):
        """The primary has every replica online and every sentinel knows
        the replicas and the other sentinels (so a failover can be agreed)."""
        try:
            info = primary.info("replication")
            # "good" replicas (acknowledged within min-replicas-max-lag) are
            # what min-replicas-to-write counts; connected is not enough
            if int(info.get("connected_slaves", 0)) != self.REPLICAS or \
                    int(info.get("min_slaves_good_slaves", 0)) != self.REPLICAS:
                return False
            for s in self.sentinels:
                if len(s.cli("SENTINEL", "replicas", MASTER_NAME)) != self.REPLICAS:
                    return False
                if len(s.cli("SENTINEL", "sentinels", MASTER_NAME)) != self.SENTINELS - 1:
                    return False
            return True
        except (OSError, RuntimeError, ValueError):
            return False

    def redis_stop(self, sig=signal.SIGTERM):
        for node in self.sentinels + self.servers:
            node.stop(sig)

    def redis_ping(self):
        return self.master() is not None

    def master_address(self):
        """What the sentinels say; the first that answers."""
        for s in self.sentinels:
            try:
                reply = s.cli("SENTINEL", "get-master-addr-by-name", MASTER_NAME, timeout=0.5)
                if reply:
                    return "%s:%s" % (reply[0], reply[1])
            except (OSError, RuntimeError):
                continue
        return None

    def master(self):
        address = self.master_address()
        for node in self.servers:
            if node.address == address:
                return node
        return None

    def redis_cli(self, *args, user="admin", password=None):
        node = self.master()
        if node is None:
            raise OSError("no master")
        return node.cli(*args)

    def wait_for_master_change(self, old, timeout=20):
        """The sentinels name a new master and it says it is one."""
        def changed():
            node = self.master()
            return node is not None and node is not old and node.role() == "master"
        wait_for(changed, timeout, "the sentinels to promote a replica")
        return self.master()

    def wait_for_replica_of(self, node, master, timeout=30):
        """node follows master with the link up and the same offset."""
        def synced():
            try:
                info = node.info("replication")
                if info.get("role") != "slave" or info.get("master_link_status") != "up":
                    return False
                if info.get("master_port") != str(master.port):
                    return False
                return master.info("replication").get("master_repl_offset") == info.get("slave_repl_offset")
            except (OSError, RuntimeError):
                return False
        wait_for(synced, timeout, "%s to become a replica of %s" % (node.name, master.name))

    def _save_state(self):
        super()._save_state()


def keyspace(node, pattern="*"):
    """Every key under pattern with its whole value: a hash as a dict, a
    stream (a user's activity) as its entries, a sorted set as its members
    and scores."""
    out = {}
    cursor = "0"
    while True:
        cursor, keys = node.cli("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
        for key in keys:
            kind = node.cli("TYPE", key)
            if kind == "stream":
                out[key] = node.cli("XRANGE", key, "-", "+")
            elif kind == "zset":
                out[key] = node.cli("ZRANGE", key, "0", "-1", "WITHSCORES")
            else:
                flat = node.cli("HGETALL", key)
                out[key] = dict(zip(flat[0::2], flat[1::2]))
        if cursor == "0":
            return out


def watch_health(stack):
    """Prints what /api/health says whenever it changes."""
    last = None
    while True:
        try:
            resp = stack.request("GET", "/api/health", timeout=3)
            now = resp.raw if resp.status == 200 else "%d %s" % (resp.status, resp.raw)
        except OSError as e:
            now = "no answer: %s" % e
        if now != last:
            print("%s  %s" % (time.strftime("%H:%M:%S"), now), flush=True)
            last = now
        time.sleep(0.5)


def main(argv):
    build_dir = None
    port = None
    args = list(argv)
    if not args or args[0] != "run":
        print(__doc__, file=sys.stderr)
        return 2
    args = args[1:]
    while args:
        if args[0] == "--build-dir" and len(args) >= 2:
            build_dir, args = args[1], args[2:]
        elif args[0] == "--port" and len(args) >= 2:
            port, args = int(args[1]), args[2:]
        else:
            print(__doc__, file=sys.stderr)
            return 2
    stack = HaStack(build_dir=build_dir)
    stack.port = port
    with stack:
        primary = stack.master()
        print("gofannon-keys with Redis Sentinel is up (state in %s)\n" % stack.state)
        print("  service      %s   (identity header X-Test-User)" % stack.url)
        print("  health       curl -s %s/api/health" % stack.url)
        for node in stack.servers:
            print("  %-12s %s  pid %d%s" % ("redis", node.address, node.proc.pid,
                                           "  (primary)" if node is primary else "  (replica)"))
        for node in stack.sentinels:
            print("  %-12s %s  pid %d" % ("sentinel", node.address, node.proc.pid))
        print("  store a key  curl -s -X PUT -H 'X-Test-User: alice' -H 'Content-Type: application/json' \\")
        print("                    -d '{\"provider\":\"openai\",\"apiKey\":\"sk-demo-0123456789abcdef\"}' \\")
        print("                    %s/api/users/me/api-keys" % stack.url)
        print("\nWatch a failover: kill the primary (kill -9 %d, or kill -STOP %d for a"
              % (primary.proc.pid, primary.proc.pid))
        print("primary cut off) and watch /api/health below; a killed primary comes back")
        print("as a replica when started again: redis-server %s" % os.path.join(primary.dir, "server.conf"))
        print("Sentinel's log: %s" % os.path.join(stack.sentinels[0].dir, "sentinel.log"))
        print("Ctrl-C stops everything.\n", flush=True)
        try:
            watch_health(stack)
        except KeyboardInterrupt:
            print("\nstopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
