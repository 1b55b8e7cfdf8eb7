"""Several gofannon-keys instances behind one nginx: the site
nginx/gofannon-keys.conf with its upstream listing them (scripts/nginx-conf --multi).

Two instances listen on loopback TCP ports (--listen, FCGI_WEB_SERVER_ADDRS)
behind one nginx, sharing one Redis. Under a load of reads and PUTs one is
reloaded (SIGHUP) while the other serves, then one is killed with kill -9
(its master and its workers). No GET may fail, and no PUT may be applied
twice: a MONITOR on Redis counts the HSETs of every user's hash, and every
PUT of the load goes to a user of its own.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from stack import TOP, Stack, _encode_command, free_port, stop_process, wait_for  # noqa: E402

API_KEYS = "/api/users/me/api-keys"


class MultiStack(Stack):
    """Stack with two instances on TCP instead of one under spawn-fcgi."""

    INSTANCES = 2

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.ports = [free_port() for _ in range(self.INSTANCES)]
        self.instances = {}

    def service_start(self, extra_env=None, wait=True):
        for port in self.ports:
            self.instance_start(port, extra_env)
        if wait:
            wait_for(lambda: self.health_status() == 200, 15, "the instances to answer /api/health")
        self._save_state()

    def instance_start(self, port, extra_env=None):
        env = self.service_environment(dict(extra_env or {}, FCGI_WEB_SERVER_ADDRS="127.0.0.1",
                                            GOFANNON_LOG_LEVEL="debug"))
        log = open(os.path.join(self.state, "instance-%d.log" % port), "ab")
        proc = subprocess.Popen([self.binary, "--listen", "127.0.0.1:%d" % port], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()
        self.instances[port] = proc
        wait_for(lambda: self._port_open(port) or proc.poll() is not None, 15, "instance on %d" % port)

    def instance_kill(self, port):
        """kill -9 of the instance's master and every worker."""
        proc = self.instances.pop(port)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)

    def service_stop(self, sig=signal.SIGTERM):
        for port in list(self.instances):
            stop_process(self.instances.pop(port), sig)
        self.service = None

    def service_log_text(self):
        text = ""
        for port in self.ports:
            path = os.path.join(self.state, "instance-%d.log" % port)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return text

    def nginx_render_args(self):
        return ["--socket", "/nonexistent", "--test-identity-header",
                "--multi", " ".join("127.0.0.1:%d" % p for p in self.ports)]


STACK_CLASS = MultiStack
FRESH_STACK = True


class HsetCounter:
    """MONITOR on Redis: how many HSETs each user's hash got."""

    def __init__(self, stack):
        self.counts = {}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(stack.redis_socket)
        self.sock.sendall(_encode_command("AUTH", "admin", stack._redis_users()[1]) + _encode_command("MONITOR"))
        self.file = self.sock.makefile("rb")
        self.file.readline()
        self.file.readline()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        pattern = re.compile(rb'"HSET" "gofannon:users:\{([^}]*)\}:apiKeys"', re.I)
        try:
            for line in self.file:
                m = pattern.search(line)
                if m:
                    user = m.group(1).decode()
                    self.counts[user] = self.counts.get(user, 0) + 1
        except (OSError, ValueError):
            pass

    def close(self):
        time.sleep(0.3)  # the last lines
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)


class Load:
    def __init__(self, stack, reader, reader_key):
        self.stack = stack
        self.reader = reader
        self.reader_mask = reader_key[:3] + "..." + reader_key[-4:]
        self.records = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.read, daemon=True) for _ in range(2)]
        self.threads += [threading.Thread(target=self.write, daemon=True) for _ in range(2)]

    def add(self, *record):
        with self.lock:
            self.records.append((time.monotonic(),) + record)

    def read(self):
        while not self.stopping.is_set():
            r = self.stack.request("GET", API_KEYS, user=self.reader, timeout=10)
            ok = r.status == 200 and r.json["openaiApiKey"] == self.reader_mask
            self.add("GET", r.status if ok else -r.status, None, None)

    def write(self):
        while not self.stopping.is_set():
            user = "mh-%s" % uuid.uuid4().hex[:12]
            key = "sk-multihost-" + uuid.uuid4().hex
            self.stack.remember_keys(key)
            r = self.stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}, timeout=10)
            self.add("PUT", r.status, user, key)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)

    def since(self, t0, kind):
        return [r for r in self.records if r[0] >= t0 and r[1] == kind]


def seed(stack):
    user = "mh-reader-%s" % uuid.uuid4().hex[:8]
    key = "sk-multihost-" + uuid.uuid4().hex
    stack.remember_keys(key)
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
    return user, key


def test_both_instances_serve(stack):
    user, key = seed(stack)
    for _ in range(20):
        assert stack.request("GET", API_KEYS, user=user).status == 200
    text = stack.service_log_text()
    pids = set(re.findall(r"pid=(\d+) event=request method=GET", text))
    assert len(pids) >= 2, "only one instance got requests: %s" % pids


def test_reload_one_then_kill_the_other_under_load(stack):
    user, key = seed(stack)
    monitor = HsetCounter(stack)
    load = Load(stack, user, key).start()
    a, b = stack.ports
    try:
        time.sleep(1)
        t_reload = time.monotonic()
        os.kill(stack.instances[a].pid, signal.SIGHUP)
        time.sleep(2)
        t_kill = time.monotonic()
        stack.instance_kill(b)
        time.sleep(3)
    finally:
        load.stop()
        monitor.close()
    during_reload = [r for r in load.records if t_reload <= r[0] < t_kill]
    assert during_reload and all(r[2] == 200 for r in during_reload), \
        "failures during the reload: %s" % [r[:3] for r in during_reload if r[2] != 200][:5]
    gets = load.since(t_kill, "GET")
    puts = load.since(t_kill, "PUT")
    assert gets and all(r[2] == 200 for r in gets), "GETs failed: %s" % [r[:3] for r in gets if r[2] != 200][:5]
    assert all(r[2] in (200, 502) for r in puts), [r[:3] for r in puts if r[2] not in (200, 502)][:5]
    all_puts = [r for r in load.records if r[1] == "PUT"]
    doubled = {u: n for u, n in monitor.counts.items() if n > 1}
    assert not doubled, "PUTs applied twice: %s" % doubled
    acked = [r for r in all_puts if r[2] == 200]
    for r in acked:
        assert monitor.counts.get(r[3]) == 1, "an acknowledged PUT that Redis never saw: %s" % r[3]
    assert stack.instances[a].poll() is None
    print("# two instances: %d requests; reload of one: %d requests, 0 failed; kill -9 of the other: "
          "%d GETs, 0 failed; %d PUTs, %d answered 502 (sent once, never retried); HSETs per user at most 1 "
          "(%d users)" % (len(load.records), len(during_reload), len(gets), len(puts),
                          len([r for r in puts if r[2] == 502]), len(monitor.counts)))


class DyingInstance:
    """A FastCGI "instance" on a port that reads what nginx sends and closes
    the connection without answering, as an instance killed after taking a
    request does. Keeps the bytes of every request it took."""

    def __init__(self, port):
        self.taken = []
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:  # the killed instance's workers may hold the port for a moment yet
            try:
                self.server.bind(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.server.listen(16)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(0.5)
                data = b""
                try:
                    while len(data) < 65536:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except OSError:
                    pass
                self.taken.append(data)

    def took(self, user):
        return [d for d in self.taken if user.encode() in d]

    def close(self):
        self.server.close()


def test_a_write_is_never_sent_to_a_second_instance(stack):
    """One instance takes requests and dies without answering. A GET or a
    preflight it took is answered by the other instance; a PUT (the /api/
    write path) or a DELETE (the provider-segment write path) it took
    answers 502 and never reaches the other instance (nginx's default would
    resend both), and the DELETE's failure leaves no line in nginx's error
    log (that path's log is muted, as the provider-segment location's)."""
    a, b = stack.ports
    # Users with a stored key, for the DELETEs, stored while both instances
    # live. Each DELETE the live instance answers uses one up, and once only
    # DELETE is left every request is one: enough for several fail_timeout
    # windows however fast the live instance answers.
    holders = []
    for n in range(200):
        user = "mh-holder-%d-%s" % (n, uuid.uuid4().hex[:8])
        key = "sk-multihost-" + uuid.uuid4().hex
        stack.remember_keys(key)
        assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
        holders.append(user)
    stack.instance_kill(b)
    dying = DyingInstance(b)
    seen = {"GET": 0, "OPTIONS": 0, "PUT": 0, "DELETE": 0}
    deadline = time.monotonic() + 50
    i = 0

    def put(user):
        key = "sk-multihost-" + uuid.uuid4().hex
        stack.remember_keys(key)
        r = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key})
        if dying.took(user):
            seen["PUT"] += 1
            assert r.status == 502, "a PUT the dying instance took answered %r" % r
            assert stack.redis_cli("EXISTS", "gofannon:users:{%s}:apiKeys" % user) == 0, \
                "a PUT the dying instance took was sent to the other one too"
            assert "user=\"%s\"" % user not in stack.service_log_text()
        else:
            assert r.status == 200, r
        return r.status

    # After a failure nginx leaves the dying instance alone for fail_timeout
    # (5 s), then sends it one request: cycle through the kinds it has not
    # taken yet, so that each takes one probe.
    try:
        while not all(seen.values()) and time.monotonic() < deadline:
            i += 1
            user = "mh-dying-%d-%s" % (i, uuid.uuid4().hex[:8])
            kind = [k for k in seen if not seen[k]][i % len([k for k in seen if not seen[k]])]
            if kind == "GET":
                r = stack.request("GET", API_KEYS, user=user)
                if dying.took(user):
                    seen["GET"] += 1
                    assert r.status == 200 and r.json["openaiApiKey"] is None, \
                        "a GET the dying instance took was not retried: %r" % r
            elif kind == "OPTIONS":
                r = stack.request("OPTIONS", API_KEYS + "/openai/effective", user=user,
                                  headers={"Origin": "http://example.test", "Access-Control-Request-Method": "GET"})
                if dying.took(user):
                    seen["OPTIONS"] += 1
                    assert r.status == 204, "a preflight the dying instance took was not retried: %r" % r
            elif kind == "PUT":
                put(user)
            elif holders:
                user = holders.pop()
                r = stack.request("DELETE", API_KEYS + "/openai", user=user)
                if dying.took(user):
                    seen["DELETE"] += 1
                    assert r.status == 502, "a DELETE the dying instance took answered %r" % r
                    assert stack.redis_cli("EXISTS", "gofannon:users:{%s}:apiKeys" % user) == 1, \
                        "a DELETE the dying instance took was sent to the other one too"
                else:
                    assert r.status == 200 and r.json["openaiApiKey"] is None, r
            time.sleep(0.25)
    finally:
        dying.close()
    assert all(seen.values()), "the dying instance took %s in 50 s" % seen
    with open(os.path.join(stack.state, "nginx-error.log"), errors="replace") as f:
        errors = f.read()
    assert "upstream prematurely closed" in errors  # the log is on, for the other paths
    assert "DELETE /api/users/me/api-keys/" not in errors, "the provider write path logged its request line"
    print("# dying instance: took %d GETs and %d preflights (each answered by the other instance), %d PUTs and "
          "%d DELETEs (each 502, never sent to the other) of %d requests"
          % (seen["GET"], seen["OPTIONS"], seen["PUT"], seen["DELETE"], i))


def render(stack, *extra):
    return subprocess.run([os.path.join(TOP, "scripts", "nginx-conf"), "--state", stack.state,
                           "--listen", "127.0.0.1:1", "--socket", "/nonexistent", "--test-identity-header"]
                          + list(extra), check=True, capture_output=True, text=True).stdout


def test_the_multi_host_site_is_the_site_with_another_upstream(stack):
    """--multi renders nginx/gofannon-keys.conf itself: the two renderings
    differ in the upstream's server lines only, so the multi-host site can
    never lack what the site has (headers, provider-segment refusal,
    preflights, the write path)."""
    single = render(stack).splitlines()
    multi = render(stack, "--multi", "127.0.0.1:2 127.0.0.1:3").splitlines()
    assert [l for l in single if l not in multi] == ["        server unix:/nonexistent;  # path: the FastCGI socket"]
    assert [l for l in multi if l not in single] == ["        server 127.0.0.1:%d max_fails=1 fail_timeout=5s;" % p
                                                     for p in (2, 3)]
