"""A stand-in for a Gofannon deployment's own servers, for the tests of
nginx/gofannon-app.conf: its backend (sessions behind the gofannon_sid
cookie, GET /auth/me, and any other path) and its web UI, each a small HTTP
server on a free loopback port in the test's process. It counts what it is
asked, so a test can tell which requests reached it.

    app = GofannonStandIn().start()
    sid = app.login("alice")              # a session for uid "alice"
    app.calls("/auth/me")                 # [{"path", "cookie", "authorization", "method"}]
    site = start_app_site(stack, app)     # gofannon-app.conf in front of it and the stack's service

Backend answers:
  GET /auth/me   200 {"uid", "displayName", "email", ...} for a live
                 gofannon_sid, else 401 {"detail": "Not authenticated"};
                 app.me_mode = "500" / "no-uid" / "uid-number" breaks it.
  any other      200 {"backend": true, "method", "path"}
Web UI answers every GET with a small HTML page.
"""

import json
import threading
import uuid
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_HOST = "api.gofannon.example"  # the API origin's server_name in gofannon-app.conf
UI_HOST = "gofannon.example"  # the web UI's
UI_ORIGIN = "https://" + UI_HOST


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class GofannonStandIn:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = {}
        self._calls = []
        self.me_mode = "ok"
        standin = self

        class Backend(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, fmt, *args):
                pass

            def answer(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                # What nginx must never cache or pass on: a cookie, no-store.
                self.send_header("Set-Cookie", "gofannon_seen=1; Path=/; HttpOnly")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                standin._record(self)
                if self.path.split("?")[0] == "/auth/me" and self.command == "GET":
                    return self.auth_me()
                return self.answer(200, {"backend": True, "method": self.command, "path": self.path})

            def auth_me(self):
                mode = standin.me_mode
                if mode == "500":
                    return self.answer(500, {"detail": "database down"})
                sid = _cookie(self.headers, "gofannon_sid")
                with standin.lock:
                    uid = standin.sessions.get(sid) if sid else None
                if uid is None:
                    return self.answer(401, {"detail": "Not authenticated"})
                me = {"uid": uid, "displayName": "Test " + uid, "email": uid + "@example.com",
                      "providerType": "dev_stub", "workspaces": [], "isSiteAdmin": False}
                if mode == "no-uid":
                    del me["uid"]
                elif mode == "uid-number":
                    me["uid"] = 42
                return self.answer(200, me)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = handle_any

        class WebUI(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                standin._record(self, "webui")
                data = b"<!doctype html><title>Gofannon</title><div id=root></div>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.backend = _Server(("127.0.0.1", 0), Backend)
        self.webui = _Server(("127.0.0.1", 0), WebUI)
        self._threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
                         for s in (self.backend, self.webui)]

    def _record(self, handler, server="backend"):
        with self.lock:
            self._calls.append({"server": server, "method": handler.command, "path": handler.path,
                                "host": handler.headers.get("Host"),
                                "cookie": handler.headers.get("Cookie"),
                                "authorization": handler.headers.get("Authorization")})

    @property
    def backend_addr(self):
        return "127.0.0.1:%d" % self.backend.server_address[1]

    @property
    def webui_addr(self):
        return "127.0.0.1:%d" % self.webui.server_address[1]

    def login(self, uid):
        """A new live session for uid; returns its gofannon_sid."""
        sid = uuid.uuid4().hex
        with self.lock:
            self.sessions[sid] = uid
        return sid

    def logout(self, sid):
        with self.lock:
            self.sessions.pop(sid, None)

    def calls(self, path=None, server="backend"):
        with self.lock:
            return [c for c in self._calls if c["server"] == server and (path is None or c["path"] == path)]

    def reset(self):
        with self.lock:
            self._calls = []
            self.me_mode = "ok"

    def start(self):
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        for server in (self.backend, self.webui):
            server.shutdown()
            server.server_close()


def _cookie(headers, name):
    jar = SimpleCookie()
    for value in headers.get_all("Cookie") or []:
        jar.load(value)
    return jar[name].value if name in jar else None


def app_site(stack, standin):
    """The stack's gofannon-app.conf site (started on first use) with the
    stand-in's call log cleared; returns its base URL."""
    if not getattr(stack, "app_url", None):
        stack.app_url = start_app_site(stack, standin)
    standin.reset()
    return stack.app_url


def start_app_site(stack, standin):
    """nginx/gofannon-app.conf, rendered by scripts/nginx-conf, in front of
    the stand-in and the stack's service; returns its base URL (send Host:
    API_HOST or UI_HOST to pick the server block)."""
    return stack.extra_nginx_start("nginx-app", "--site", "app", "--backend", standin.backend_addr,
                                   "--webui", standin.webui_addr)
