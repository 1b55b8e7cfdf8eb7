#!/usr/bin/env python3
"""The real stack for the integration and browser tests.

Starts a real redis-server (the shipped configuration, on a unix socket in a
state directory, with the users of scripts/redis/make-acl: the service
connects as the limited gofannon-keys user, the tests' redis_cli as admin),
the built service under spawn-fcgi, and nginx with the
shipped site configuration rendered by scripts/nginx-conf on a free loopback
port; the test configuration maps the request header X-Test-User (or,
without it, the cookie gofannon_test_user) to the identity
(Stack(identity="token", jwt={...}) renders the token-mode site instead:
nginx sets no identity and the service verifies bearer tokens against a keys
file in the state directory). Everything stops by itself: every wait is
bounded.

As a command:
  python3 tests/stack.py run [--build-dir DIR] [--mock-provider] [--cross-origin]
                            [--service-env NAME=VALUE]... -- CMD ARGS...
      starts the stack, runs CMD with GOFANNON_TEST_URL, GOFANNON_TEST_STATE,
      GOFANNON_TEST_SYSTEM_KEYS and GOFANNON_TEST_ARTIFACTS set, stops the
      stack, then searches every log it produced for every key listed in
      STATE/keys-used.txt; exits with CMD's status (1 if a key leaked).
      --mock-provider also starts tests/mock_provider.py on a free loopback
      port, points the service at it (all five <ID>_BASE_URL variables,
      GOFANNON_LLM_TIMEOUT=3) and gives CMD GOFANNON_TEST_MOCK_URL,
      GOFANNON_TEST_MOCK_CONTROL and GOFANNON_TEST_LLM_TIMEOUT; see
      MockControl for what the control URL answers.
      --cross-origin also serves a small page from two more loopback
      origins, lists the first (and the stack's own) in
      GOFANNON_ALLOWED_ORIGINS and gives CMD GOFANNON_TEST_CORS_ALLOWED and
      GOFANNON_TEST_CORS_DENIED, the two origins; see CrossOriginPages.
      --service-env adds a variable to the service's environment (e.g. an
      allowance, <ID>_SYSTEM_KEY_MONTHLY_TOKENS).
  python3 tests/stack.py redis-stop STATE
  python3 tests/stack.py redis-start STATE
  python3 tests/stack.py redis-cli STATE ARG...
      runs one command as the admin user, prints the reply as JSON.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# System-wide keys the service starts with (through GOFANNON_ENV_FILE).
SYSTEM_KEYS = {
    "GEMINI_API_KEY": "gemini-system-key-7f3a9c2e51d04b8a",
    "OPENROUTER_API_KEY": "",  # set but empty: counts as unset
}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise RuntimeError("timed out after %.1fs waiting for %s" % (timeout, what))


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(5)


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:300])


class Stack:
    """One redis-server, one gofannon-keys under spawn-fcgi, one nginx."""

    def __init__(self, build_dir=None, state_dir=None, system_keys=None, service_env=None,
                 launcher="spawn-fcgi", service_user=None, service_rlimits=None, service_cwd=None,
                 identity="test-header", jwt=None, keep_conn=0):
        self.build_dir = os.path.abspath(build_dir or os.environ.get("GOFANNON_BUILD_DIR") or os.path.join(TOP, "build"))
        self.binary = os.path.join(self.build_dir, "src", "gofannon-keys")
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("%s is not built: run ./scripts/check or make first" % self.binary)
        self.state = state_dir or tempfile.mkdtemp(prefix="gofannon-test-")
        os.makedirs(self.state, exist_ok=True)
        # Private, like a clone in /root: nginx's workers run as this user
        # (scripts/nginx-conf), so they reach the socket and the page anyway.
        os.chmod(self.state, 0o700)
        self.system_keys = dict(SYSTEM_KEYS if system_keys is None else system_keys)
        self.service_env = dict(service_env or {})
        self.launcher = launcher  # "spawn-fcgi" (-n) or "socket-activate" (systemd's tool)
        # spawn-fcgi only: run the service as this user (-u, when root; the
        # files it reads become the user's), with these resource limits
        # ({resource.RLIMIT_*: (soft, hard)}) and in this directory.
        self.service_user = service_user
        self.service_rlimits = dict(service_rlimits or {})
        self.service_cwd = service_cwd
        # "test-header": nginx maps X-Test-User to the identity; "token": nginx
        # sets none, the service verifies bearer tokens (needs jwt).
        self.identity = identity
        # {"issuer", "audience", "keys": text of the keys file}: bearer tokens on.
        self.jwt = dict(jwt) if jwt else None
        self.jwt_keys_file = os.path.join(self.state, "jwt-keys.json")
        self.keep_conn = keep_conn  # nginx keeps up to this many FastCGI connections (0: none)
        self.redis_socket = os.path.join(self.state, "redis.sock")
        self.fcgi_socket = os.path.join(self.state, "fcgi.sock")
        self.master_key = os.path.join(self.state, "master.key")
        self.env_file = os.path.join(self.state, "system-keys.env")
        self.redis_acl = os.path.join(self.state, "gofannon-keys.acl")
        self.port = None
        self.redis = self.service = self.nginx = None
        self.extra_nginx = []
        self.service_logs = 0

    # --- files -------------------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log_files(self):
        return [os.path.join(self.state, f) for f in sorted(os.listdir(self.state)) if f.endswith(".log")]

    def write_env_file(self, keys=None):
        if keys is not None:
            self.system_keys = dict(keys)
        with open(self.env_file, "w") as f:
            f.write("# system-wide provider keys for the tests\n")
            for name, value in self.system_keys.items():
                f.write("%s=%s\n" % (name, value))

    def remember_keys(self, *keys):
        with open(os.path.join(self.state, "keys-used.txt"), "a") as f:
            for key in keys:
                f.write(key.strip() + "\n")

    # --- redis -------------------------------------------------------------

    def _redis_users(self):
        """(service URL, admin password), made once per state dir by the
        shipped scripts/redis/make-acl."""
        if not os.path.exists(self.redis_acl):
            prefix = self.service_env.get("GOFANNON_REDIS_PREFIX") or "gofannon"
            subprocess.run([os.path.join(TOP, "scripts", "redis", "make-acl"), "--prefix", prefix,
                            "--socket", self.redis_socket, self.state], check=True, capture_output=True)
        with open(os.path.join(self.state, "redis-url.env")) as f:
            url = f.read().strip().split("=", 1)[1]
        with open(os.path.join(self.state, "admin.password")) as f:
            return url, f.read().strip()

    @property
    def service_redis_url(self):
        return self._redis_users()[0]

    def redis_conf(self):
        """The shipped configuration with its paths moved into the state dir."""
        self._redis_users()
        path = os.path.join(self.state, "redis.conf")
        rendered = subprocess.run([os.path.join(TOP, "scripts", "redis-conf"), "--state", self.state,
                                   "--socket", self.redis_socket, "--aclfile", self.redis_acl],
                                  check=True, capture_output=True, text=True)
        with open(path, "w") as f:
            f.write(rendered.stdout)
        return path

    def redis_argv(self):
        return ["redis-server", self.redis_conf()]

    def redis_start(self):
        self.redis = subprocess.Popen(self.redis_argv(), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(lambda: self.redis_ping(), 10, "redis-server")
        self._save_state()

    def redis_stop(self, sig=signal.SIGTERM):
        pid = self._redis_pid()
        if self.redis is not None and self.redis.poll() is None:
            stop_process(self.redis, sig)
            self.redis = None
        elif pid and _alive(pid):
            # started by another process (redis-start from the command line)
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            wait_for(lambda: not _alive(pid), 10, "redis-server to stop")
        if os.path.exists(self.redis_socket):
            os.unlink(self.redis_socket)

    def _redis_pid(self):
        try:
            with open(os.path.join(self.state, "redis.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def redis_ping(self):
        try:
            return self.redis_cli("PING") == "PONG"
        except (OSError, RuntimeError):  # not listening yet, or still LOADING
            return False

    def redis_cli(self, *args, user="admin", password=None):
        """Runs one command over the unix socket as the admin user (or
        user/password); returns the decoded reply."""
        if password is None:
            password = self._redis_users()[1]
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(self.redis_socket)
            s.sendall(_encode_command("AUTH", user, password) + _encode_command(*args))
            f = s.makefile("rb")
            _read_reply(f)
            return _read_reply(f)

    # --- service -----------------------------------------------------------

    def service_environment(self, extra=None):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GOFANNON_MASTER_KEY_FILE": self.master_key,
            "GOFANNON_REDIS_URL": self.service_redis_url,
            "GOFANNON_ENV_FILE": self.env_file,
            "GOFANNON_WORKERS": "2",
            "ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:log_path=" + os.path.join(self.state, "asan"),
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:log_path=" + os.path.join(self.state, "ubsan"),
        }
        if self.jwt:
            env.update({"GOFANNON_JWT_ISSUER": self.jwt["issuer"], "GOFANNON_JWT_AUDIENCE": self.jwt["audience"],
                        "GOFANNON_JWT_KEYS_FILE": self.jwt_keys_file})
        env.update(self.service_env)
        env.update(extra or {})
        return {k: v for k, v in env.items() if v is not None}

    def spawn_fcgi_argv(self):
        argv = ["spawn-fcgi", "-n", "-s", self.fcgi_socket, "-M", "0600"]
        if self.service_user and os.geteuid() == 0:
            argv += ["-u", self.service_user]
        return argv + ["--", getattr(self, "service_binary", self.binary)]

    def _hand_files_to_service_user(self):
        """What the service opens, for a service_user other than root: the
        state dir (sanitizer logs), the master key, the env file and the
        Redis socket (redis_start makes it again as root)."""
        if not self.service_user or os.geteuid() != 0:
            return
        # The clone may sit where only its owner can enter (mode 0700):
        # the service user runs a copy of the binary in its state dir.
        copy = os.path.join(self.state, "gofannon-keys")
        shutil.copy2(self.binary, copy)
        shutil.chown(copy, self.service_user)
        self.service_binary = copy
        for path in (self.state, self.master_key, self.env_file, self.redis_socket):
            if os.path.exists(path):
                shutil.chown(path, self.service_user)

    def _service_preexec(self):
        import resource
        for limit, value in self.service_rlimits.items():
            resource.setrlimit(limit, value)

    def socket_activate_argv(self, env):
        """systemd-socket-activate listens like a .socket unit and, on the
        first connection, execs the service with LISTEN_PID/LISTEN_FDS;
        the program gets only the variables passed with -E."""
        argv = ["systemd-socket-activate", "-l", self.fcgi_socket]
        for name, value in sorted(env.items()):
            argv += ["-E", "%s=%s" % (name, value)]
        return argv + [self.binary]

    def service_start(self, extra_env=None, wait=True):
        if os.path.exists(self.fcgi_socket):
            os.unlink(self.fcgi_socket)
        self.service_logs += 1
        log = open(os.path.join(self.state, "service-%d.log" % self.service_logs), "ab")
        env = self.service_environment(extra_env)
        self._hand_files_to_service_user()
        argv = self.socket_activate_argv(env) if self.launcher == "socket-activate" else self.spawn_fcgi_argv()
        self.service = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                        cwd=self.service_cwd,
                                        preexec_fn=self._service_preexec if self.service_rlimits else None)
        log.close()
        if self.launcher == "socket-activate":
            wait_for(lambda: os.path.exists(self.fcgi_socket), 5, "systemd-socket-activate to listen")
            if os.geteuid() == 0:  # what SocketUser=/SocketGroup=/SocketMode= do in the .socket unit
                shutil.chown(self.fcgi_socket, "nobody", "nogroup")
                os.chmod(self.fcgi_socket, 0o660)
        if wait:
            wait_for(lambda: self.service.poll() is not None or self.health_status() == 200,
                     15, "the service to answer /api/health")
            if self.service.poll() is not None:
                raise RuntimeError("the service exited with status %d; see %s" % (
                    self.service.returncode, self.current_service_log()))
        self._save_state()

    def service_stop(self, sig=signal.SIGTERM):
        code = stop_process(self.service, sig)
        self.service = None
        return code

    def service_restart(self, extra_env=None):
        self.service_stop()
        self.service_start(extra_env)

    def current_service_log(self):
        return os.path.join(self.state, "service-%d.log" % self.service_logs)

    def service_log_text(self):
        text = ""
        for i in range(1, self.service_logs + 1):
            with open(os.path.join(self.state, "service-%d.log" % i), errors="replace") as f:
                text += f.read()
        return text

    # --- nginx -------------------------------------------------------------

    def nginx_render_args(self):
        """What scripts/nginx-conf is given after --state and --listen: the
        backend and the identity (a subclass with other backends changes
        this, not nginx_start)."""
        return ["--socket", self.fcgi_socket,
                "--token-identity" if self.identity == "token" else "--test-identity-header",
                "--keep-conn", str(self.keep_conn)]

    def nginx_start(self):
        self.port = self.port or free_port()
        conf = os.path.join(self.state, "nginx.conf")
        rendered = subprocess.run([os.path.join(TOP, "scripts", "nginx-conf"), "--state", self.state,
                                   "--listen", "127.0.0.1:%d" % self.port] + self.nginx_render_args(),
                                  check=True, capture_output=True, text=True)
        with open(conf, "w") as f:
            f.write(rendered.stdout)
        self.nginx = subprocess.Popen(["nginx", "-c", conf, "-e", os.path.join(self.state, "nginx-error.log")],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(self.state, "nginx-stderr.log"), "ab"))
        wait_for(lambda: self._port_open(), 10, "nginx")
        self._save_state()

    def _port_open(self, port=None):
        try:
            with socket.create_connection(("127.0.0.1", port or self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def extra_nginx_start(self, name, *render_args):
        """Another nginx in front of this stack's service: scripts/nginx-conf
        with render_args (e.g. "--htpasswd", FILE for the shipped site with
        basic authentication, or "--site", "app", "--backend", ADDR,
        "--webui", ADDR for nginx/gofannon-app.conf) on a free loopback
        port. Its files are STATE/NAME*, so the key leak search reads its
        logs; it stops with the stack. Returns its base URL."""
        port = free_port()
        conf = os.path.join(self.state, name + ".conf")
        rendered = subprocess.run([os.path.join(TOP, "scripts", "nginx-conf"), "--state", self.state,
                                   "--listen", "127.0.0.1:%d" % port, "--socket", self.fcgi_socket,
                                   "--name", name] + list(render_args),
                                  check=True, capture_output=True, text=True)
        with open(conf, "w") as f:
            f.write(rendered.stdout)
        error_log = os.path.join(self.state, name + "-error.log")
        proc = subprocess.Popen(["nginx", "-c", conf, "-e", error_log], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(self.state, name + "-stderr.log"), "ab"))
        self.extra_nginx.append(proc)
        wait_for(lambda: proc.poll() is not None or self._port_open(port), 10, "nginx " + name)
        if proc.poll() is not None:
            raise RuntimeError("nginx %s exited with status %d; see %s" % (name, proc.returncode, error_log))
        return "http://127.0.0.1:%d" % port

    # --- whole stack -------------------------------------------------------

    def write_jwt_keys(self, text):
        """Replaces the keys file the way an operator's timer does: a new file
        moved over the old one."""
        tmp = self.jwt_keys_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.jwt_keys_file)

    def start(self):
        try:
            self.write_env_file()
            if self.jwt:
                self.write_jwt_keys(self.jwt["keys"])
            if not os.path.exists(self.master_key):
                subprocess.run([self.binary, "keygen", self.master_key], check=True,
                               capture_output=True, env=self.service_environment())
            self.redis_start()
            self.nginx_start()
            self.service_start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        for proc in self.extra_nginx:
            stop_process(proc, signal.SIGQUIT)
        self.extra_nginx = []
        stop_process(self.nginx, signal.SIGQUIT)
        self.service_stop()
        self.redis_stop()
        self.nginx = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _save_state(self):
        with open(os.path.join(self.state, "stack.json"), "w") as f:
            json.dump({"build_dir": self.build_dir, "port": self.port,
                       "system_keys": self.system_keys}, f)

    @classmethod
    def attach(cls, state):
        with open(os.path.join(state, "stack.json")) as f:
            saved = json.load(f)
        stack = cls(build_dir=saved["build_dir"], state_dir=state, system_keys=saved["system_keys"])
        stack.port = saved["port"]
        return stack

    # --- HTTP --------------------------------------------------------------

    def request(self, method, path, user=None, body=None, headers=None, raw_body=None, timeout=10, base=None):
        """One request through nginx (the stack's, or the one at base). body
        is JSON-encoded with the JSON content type; raw_body (bytes) is sent
        as it is."""
        hdrs = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if user is not None:
            # http.client sends header text as latin-1: pass the UTF-8 bytes through
            hdrs["X-Test-User"] = user.encode("utf-8").decode("latin-1")
        req = urllib.request.Request((base or self.url) + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.headers, r.read().decode())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read().decode())

    def health_status(self):
        try:
            return self.request("GET", "/api/health", timeout=2).status
        except OSError:
            return None

    def leaked_keys(self):
        """Returns (key, file) pairs for every remembered key found in a log."""
        path = os.path.join(self.state, "keys-used.txt")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            keys = {k.strip() for k in f if k.strip()}
        found = []
        for name in sorted(os.listdir(self.state)):
            full = os.path.join(self.state, name)
            # The harness's own files hold keys on purpose (stack.json keeps
            # the system keys for `attach`); everything else must not.
            if not os.path.isfile(full) or name in ("keys-used.txt", "system-keys.env", "master.key",
                                                    "stack.json"):
                continue
            with open(full, "rb") as f:
                data = f.read()
            for key in keys:
                if key.encode() in data:
                    found.append((key[:6] + "...", name))
        return found


# --- the mock provider, for a test command in another process -------------------

MOCK_LLM_TIMEOUT_S = 3  # GOFANNON_LLM_TIMEOUT with the mock: what a hang costs


class MockControl:
    """tests/mock_provider.py in this process, steered over loopback HTTP by a
    test command in another one (JSON in and out):

      POST /reset            forget the calls; every provider "ok"; usage 13/7
      POST /mode  {"mode": "401", "provider": "openai"}   (provider "*": all)
      POST /usage {"inputTokens": N, "outputTokens": N}   tokens of each reply
      GET  /calls            {"calls": [{"provider", "style", "method", "path",
                              "query", "body", "keySha256", "finished",
                              "aborted", "closedAfter"}]}

    A call's headers (where the key travels) are never handed out: keySha256
    is the SHA-256 of the key the call carried, in hex (null without one).
    """

    def __init__(self, log_path, lifetime=3600):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import hashlib
        import threading
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from mock_provider import MODES, MockProvider

        self.mock = MockProvider(lifetime=lifetime, log_path=log_path)
        mock = self.mock

        def sha(key):
            return hashlib.sha256(key.encode()).hexdigest() if key else None

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, fmt, *args):
                pass

            def answer(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.split("?")[0] != "/calls":
                    return self.answer(404, {"detail": "no such control"})
                calls = [{"provider": c["provider"], "style": c["style"], "method": c["method"],
                          "path": c["path"], "query": c["query"], "body": c["body"],
                          "keySha256": sha(c["key"]), "finished": c["finished"], "aborted": c["aborted"],
                          "closedAfter": c["closed_after"]} for c in mock.calls()]
                return self.answer(200, {"calls": calls})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self.answer(400, {"detail": "body is not JSON"})
                if self.path == "/reset":
                    mock.reset()
                    mock.usage = (13, 7)
                elif self.path == "/mode":
                    if body.get("mode") not in MODES:
                        return self.answer(400, {"detail": "mode must be one of %s" % ", ".join(MODES)})
                    mock.set_mode(body["mode"], body.get("provider") or "*")
                elif self.path == "/usage":
                    mock.usage = (int(body.get("inputTokens", 13)), int(body.get("outputTokens", 7)))
                else:
                    return self.answer(404, {"detail": "no such control"})
                return self.answer(200, {"ok": True})

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def control_url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self):
        self.mock.start()
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.mock.stop()


class CrossOriginPages:
    """A tiny HTML page served by this process from two loopback origins
    other than the stack's, for the browser's CORS test: `allowed` is to be
    listed in GOFANNON_ALLOWED_ORIGINS, `denied` never is."""

    PAGE = (b"<!doctype html><html lang=en><meta charset=utf-8>"
            b"<title>another origin</title><p>A page on another origin.</p></html>")

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        import threading
        page = self.PAGE

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.servers = [Server(("127.0.0.1", 0), Handler) for _ in range(2)]
        self.threads = [threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
                        for srv in self.servers]

    def origin(self, i):
        return "http://127.0.0.1:%d" % self.servers[i].server_address[1]

    @property
    def allowed(self):
        return self.origin(0)

    @property
    def denied(self):
        return self.origin(1)

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


def _alive(pid):
    """True while pid runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return False


def _encode_command(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


def _read_reply(f):
    line = f.readline()
    if not line:
        raise OSError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError("redis: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise OSError("unexpected redis reply %r" % line)


def main(argv):
    if len(argv) >= 2 and argv[0] in ("redis-stop", "redis-start"):
        stack = Stack.attach(argv[1])
        if argv[0] == "redis-stop":
            stack.redis_stop()
        else:
            stack.redis_start()
        return 0
    if len(argv) >= 3 and argv[0] == "redis-cli":
        print(json.dumps(Stack.attach(argv[1]).redis_cli(*argv[2:])))
        return 0
    if argv and argv[0] == "run":
        args = argv[1:]
        build_dir = None
        with_mock = with_cors = False
        service_env = {}
        while args and args[0] != "--":
            if len(args) >= 2 and args[0] == "--build-dir":
                build_dir, args = args[1], args[2:]
            elif args[0] == "--mock-provider":
                with_mock, args = True, args[1:]
            elif args[0] == "--cross-origin":
                with_cors, args = True, args[1:]
            elif len(args) >= 2 and args[0] == "--service-env" and "=" in args[1]:
                name, value = args[1].split("=", 1)
                service_env[name], args = value, args[2:]
            else:
                break
        if not args or args[0] != "--" or len(args) < 2:
            print(__doc__, file=sys.stderr)
            return 2
        artifacts = os.path.join(os.path.abspath(build_dir or os.path.join(TOP, "build")), "test-artifacts")
        os.makedirs(artifacts, exist_ok=True)
        stack = Stack(build_dir=build_dir, service_env=service_env)
        control = pages = None
        extra = {}
        try:
            if with_cors:
                pages = CrossOriginPages().start()
                stack.port = free_port()
                # The profile page writes from the stack's own origin, which
                # a list replaces: it is listed too.
                stack.service_env["GOFANNON_ALLOWED_ORIGINS"] = "%s %s" % (stack.url, pages.allowed)
                extra.update(GOFANNON_TEST_CORS_ALLOWED=pages.allowed, GOFANNON_TEST_CORS_DENIED=pages.denied)
            if with_mock:
                control = MockControl(os.path.join(stack.state, "mock-provider.log")).start()
                stack.service_env.update(control.mock.base_urls(), GOFANNON_LLM_TIMEOUT=str(MOCK_LLM_TIMEOUT_S))
                # The service now sends the system keys somewhere: no log may hold them.
                stack.remember_keys(*[v for v in stack.system_keys.values() if v])
                extra.update({"GOFANNON_TEST_MOCK_URL": control.mock.url,
                              "GOFANNON_TEST_MOCK_CONTROL": control.control_url,
                              "GOFANNON_TEST_LLM_TIMEOUT": str(MOCK_LLM_TIMEOUT_S)})
            with stack:
                env = dict(os.environ, GOFANNON_TEST_URL=stack.url, GOFANNON_TEST_STATE=stack.state,
                           GOFANNON_TEST_SYSTEM_KEYS=json.dumps(stack.system_keys),
                           GOFANNON_TEST_ARTIFACTS=artifacts, **extra)
                code = subprocess.call(args[1:], env=env)
        finally:
            if control:
                control.stop()
            if pages:
                pages.stop()
        leaks = stack.leaked_keys()
        for key, name in leaks:
            print("not ok - key %s found in %s" % (key, name))
        if not leaks:
            shutil.rmtree(stack.state, ignore_errors=True)
        return 1 if leaks else code
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
