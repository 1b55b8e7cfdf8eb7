"""A FastCGI parameter sent twice, through nginx configured the way
operators write it: `include /etc/nginx/fastcgi_params;` (Debian's file,
which sets REMOTE_USER to $remote_user, the user of the client's own
Authorization: Basic header, unverified when auth_basic is off) followed by
`fastcgi_param REMOTE_USER $verified_user;`. nginx then sends REMOTE_USER
twice, the forged one first. The service must refuse such requests (500
"Server misconfigured"), never serve them as either user, leave the victim's
hash as it was, and say once (per minute and worker) how to fix nginx.

A second nginx, rendered here into the stack's state directory on free
loopback ports, talks to the stack's FastCGI socket beside the stack's own
nginx. $verified_user stands in for whatever really authenticates the user
(auth_request's answer, say); here it is the X-Test-User header. The stack
runs one worker, so "once a minute per worker" is one line per burst."""

import base64
import grp
import json
import os
import pwd
import socket
import subprocess
import urllib.error
import urllib.request
import uuid

from stack import Response, free_port, stop_process, wait_for

STACK_OPTIONS = {"service_env": {"GOFANNON_WORKERS": "1"}}

API_KEYS = "/api/users/me/api-keys"
DEBIAN_FASTCGI_PARAMS = "/etc/nginx/fastcgi_params"

# Debian's /etc/nginx/fastcgi_params (nginx-common), for a machine without
# it: the lines that matter here are REMOTE_USER $remote_user and the
# request parameters the service reads.
FALLBACK_FASTCGI_PARAMS = """\
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;
fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;
fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;
fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  REMOTE_USER        $remote_user;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;
fastcgi_param  REDIRECT_STATUS    200;
"""


def fastcgi_params_file(stack):
    """Debian's file when nginx installed it, else the same lines."""
    if os.path.exists(DEBIAN_FASTCGI_PARAMS):
        return DEBIAN_FASTCGI_PARAMS
    path = os.path.join(stack.state, "fastcgi_params")
    with open(path, "w") as f:
        f.write(FALLBACK_FASTCGI_PARAMS)
    return path


def workers_user():
    """As scripts/nginx-conf: started as root, nginx's workers run as root's
    user too, so they reach the FastCGI socket (0600) in a private state dir."""
    if os.geteuid() != 0:
        return ""
    return "user %s %s;" % (pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name)


def without_remote_user(stack, source):
    """The fix an operator makes: the same parameters, REMOTE_USER left out."""
    path = os.path.join(stack.state, "fastcgi_params-no-remote-user")
    with open(source) as f:
        lines = [line for line in f if not line.split()[:2] == ["fastcgi_param", "REMOTE_USER"]]
    with open(path, "w") as f:
        f.writelines(lines)
    return path


class HabitNginx:
    """nginx with three sites against the stack's FastCGI socket, auth_basic
    off in all of them:
      habit:  include fastcgi_params; fastcgi_param REMOTE_USER $verified_user;
      fixed:  fastcgi_params without its REMOTE_USER line, then the same;
      method: the fixed one, plus REQUEST_METHOD set a second time."""

    SITES = ("habit", "fixed", "method")

    def __init__(self, stack):
        self.stack = stack
        self.ports = {site: free_port() for site in self.SITES}
        self.proc = None

    def url(self, site):
        return "http://127.0.0.1:%d" % self.ports[site]

    def render(self):
        state = self.stack.state
        params = fastcgi_params_file(self.stack)
        fixed = without_remote_user(self.stack, params)
        temp = os.path.join(state, "nginx-habit-temp")
        os.makedirs(temp, exist_ok=True)
        includes = {
            "habit": "include %s;" % params,
            "fixed": "include %s;" % fixed,
            "method": "include %s;\n            fastcgi_param REQUEST_METHOD $request_method;" % fixed,
        }
        servers = ""
        for site in self.SITES:
            servers += """
    server {
        listen 127.0.0.1:%d;
        # TEST ONLY: stands in for a verified identity (auth_request, ...)
        set $verified_user $http_x_test_user;
        location /api/ {
            %s
            fastcgi_param REMOTE_USER $verified_user;
            fastcgi_pass unix:%s;
        }
    }
""" % (self.ports[site], includes[site], self.stack.fcgi_socket)
        conf = """# generated by tests/integration/test_params.py
daemon off;
%(user)s
worker_processes 1;
pid %(state)s/nginx-habit.pid;
error_log %(state)s/nginx-habit-error.log warn;
events { worker_connections 64; }
http {
    access_log %(state)s/nginx-habit-access.log;
    client_body_temp_path %(temp)s/body;
    proxy_temp_path %(temp)s/proxy;
    fastcgi_temp_path %(temp)s/fastcgi;
    uwsgi_temp_path %(temp)s/uwsgi;
    scgi_temp_path %(temp)s/scgi;
%(servers)s}
""" % {"state": state, "temp": temp, "servers": servers, "user": workers_user()}
        path = os.path.join(state, "nginx-habit.conf")
        with open(path, "w") as f:
            f.write(conf)
        return path

    def __enter__(self):
        conf = self.render()
        err = open(os.path.join(self.stack.state, "nginx-habit-stderr.log"), "ab")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-e",
                                      os.path.join(self.stack.state, "nginx-habit-error.log")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        try:
            wait_for(self._listening, 10, "the habit-style nginx")
        except Exception:
            self.__exit__()
            raise
        return self

    def _listening(self):
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited with %d; see nginx-habit-stderr.log" % self.proc.returncode)
        try:
            for port in self.ports.values():
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def __exit__(self, *exc):
        stop_process(self.proc)

    def request(self, site, method, path, **kw):
        return request(self.url(site), method, path, **kw)


def request(base, method, path, verified=None, basic=None, body=None, timeout=10):
    headers = {}
    data = None
    if verified is not None:
        headers["X-Test-User"] = verified
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, r.headers, r.read().decode())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read().decode())


def new_user(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def new_key():
    return "sk-proj-" + uuid.uuid4().hex + uuid.uuid4().hex[:8]


def hash_name(user):
    return "gofannon:users:{%s}:apiKeys" % user


def snapshot(stack, user):
    """The victim's hash: its fields and values (ASCII, so compared byte for
    byte) and Redis's own serialisation of it, checksum included."""
    flat = stack.redis_cli("HGETALL", hash_name(user)) or []
    fields = dict(zip(flat[0::2], flat[1::2]))
    for value in flat:
        assert value.isascii() and "\ufffd" not in value, "a non-ASCII value in the hash"
    return fields, stack.redis_cli("DUMP", hash_name(user))


def store_victim_key(stack, victim):
    key = new_key()
    stack.remember_keys(key)
    resp = stack.request("PUT", API_KEYS, user=victim, body={"provider": "openai", "apiKey": key})
    assert resp.status == 200 and resp.json["openaiApiKey"] == key[:3] + "..." + key[-4:], resp
    return key


def expect_refused(resp):
    assert resp.status == 500, "expected 500, got %r" % resp
    assert resp.json == {"detail": "Server misconfigured"}, resp.raw
    assert resp.header("Content-Type") == "application/json", resp.headers


def new_log_lines(stack, offset):
    return stack.service_log_text()[offset:].splitlines()


def test_forged_basic_user_through_the_habit_config_is_refused_and_logged_once(stack):
    victim, mallory = new_user("victim"), new_user("mallory")
    store_victim_key(stack, victim)
    before = snapshot(stack, victim)
    assert "openaiApiKey" in before[0] and before[1] is not None
    attack_key = new_key()
    stack.remember_keys(attack_key)
    offset = len(stack.service_log_text())
    forged = victim + ":x"
    attempts = [
        ("GET", API_KEYS, None),
        ("GET", API_KEYS + "/openai/effective", None),
        ("PUT", API_KEYS, {"provider": "openai", "apiKey": attack_key}),
        ("DELETE", API_KEYS + "/openai", None),
        ("GET", "/api/users/me", None),
    ]
    sent = 0
    with HabitNginx(stack) as nginx:
        for verified in (None, mallory):  # REMOTE_USER second: "" or mallory's own
            for _ in range(4):
                for method, path, body in attempts:
                    expect_refused(nginx.request("habit", method, path, verified=verified, basic=forged,
                                                 body=body))
                    sent += 1
    assert sent == 40
    assert snapshot(stack, victim) == before, "the victim's hash changed"
    # never served as the second value either
    assert stack.redis_cli("EXISTS", hash_name(mallory)) == 0
    lines = new_log_lines(stack, offset)
    repeated = [line for line in lines if "event=param_repeated" in line]
    assert len(repeated) == 1, "expected one param_repeated line for %d requests, got %r" % (sent, repeated)
    line = repeated[0]
    assert " level=error " in line and " name=REMOTE_USER " in line, line
    assert "hint=\"" in line and "fastcgi_params" in line and "gofannon-keys-fastcgi.conf" in line, line
    # the refused requests name no user, forged or not
    assert not [l for l in lines if victim in l or mallory in l], lines
    refused = [l for l in lines if "event=request " in l and "status=500" in l]
    assert len(refused) == sent and all('user="-"' in l for l in refused), refused[:3]


def test_one_remote_user_is_served_as_that_user(stack):
    victim, mallory = new_user("victim"), new_user("mallory")
    key = store_victim_key(stack, victim)
    before = snapshot(stack, victim)
    mallory_key = new_key()
    stack.remember_keys(mallory_key)
    offset = len(stack.service_log_text())
    with HabitNginx(stack) as nginx:
        # the verified user, whatever Basic header comes along
        resp = nginx.request("fixed", "GET", API_KEYS, verified=victim, basic=mallory + ":x")
        assert resp.status == 200 and resp.json["openaiApiKey"] == key[:3] + "..." + key[-4:], resp
        resp = nginx.request("fixed", "GET", API_KEYS, verified=mallory, basic=victim + ":x")
        assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
        resp = nginx.request("fixed", "PUT", API_KEYS, verified=mallory, basic=victim + ":x",
                             body={"provider": "openai", "apiKey": mallory_key})
        assert resp.status == 200 and resp.json["openaiApiKey"] == mallory_key[:3] + "..." + mallory_key[-4:]
        resp = nginx.request("fixed", "DELETE", API_KEYS + "/openai", verified=mallory, basic=victim + ":x")
        assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
        resp = nginx.request("fixed", "GET", "/api/users/me", verified=victim)
        assert resp.status == 200 and resp.json == {"id": victim}, resp
        # with no verified user the identity is empty, and that is a 401,
        # not the Basic header's user
        resp = nginx.request("fixed", "GET", API_KEYS, basic=victim + ":x")
        assert resp.status == 401, resp
    assert snapshot(stack, victim) == before
    assert not [l for l in new_log_lines(stack, offset) if "event=param_repeated" in l]


def test_another_decisive_parameter_sent_twice_is_refused(stack):
    """REQUEST_METHOD twice (fastcgi_params, then the operator's own line):
    refused like the identity, and logged under its own name."""
    victim = new_user("victim")
    store_victim_key(stack, victim)
    before = snapshot(stack, victim)
    offset = len(stack.service_log_text())
    with HabitNginx(stack) as nginx:
        for _ in range(5):
            expect_refused(nginx.request("method", "DELETE", API_KEYS + "/openai", verified=victim))
            expect_refused(nginx.request("method", "GET", API_KEYS, verified=victim))
    assert snapshot(stack, victim) == before
    repeated = [l for l in new_log_lines(stack, offset) if "event=param_repeated" in l]
    assert len(repeated) == 1 and " name=REQUEST_METHOD " in repeated[0], repeated
