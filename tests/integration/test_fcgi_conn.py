"""Silent, half-sent and kept FastCGI connections, and which TCP peers are
served (issue 9, item 4), with the hand-written client of tests/fcgi_client.py
speaking raw records on the service's socket.

The module's service has ONE worker and GOFANNON_FCGI_TIMEOUT=2, so a
connection that held the worker would show at once: before the fix, a
connection that sent nothing (or half a request) held its worker forever.
"""

import json
import os
import socket
import subprocess
import time
import unittest
import uuid

import fcgi_client as fc
from load import children, wait_until
from mock_provider import MockProvider
from stack import free_port, stop_process

TIMEOUT_S = 2
SYSTEM_OPENAI = "sk-system-openai-fcgiconn-4b8e2d"
MOCK = MockProvider(lifetime=300).start()

STACK_OPTIONS = {
    "system_keys": {"OPENAI_API_KEY": SYSTEM_OPENAI, "GEMINI_API_KEY": "", "OPENROUTER_API_KEY": ""},
    "service_env": dict(MOCK.base_urls(), GOFANNON_WORKERS="1", GOFANNON_FCGI_TIMEOUT=str(TIMEOUT_S),
                        GOFANNON_LLM_TIMEOUT="10"),
}

API_KEYS = "/api/users/me/api-keys"


def timed_get(stack, path="/api/health", user=None):
    started = time.monotonic()
    resp = stack.request("GET", path, user=user, timeout=10)
    return resp, time.monotonic() - started


def worker(stack):
    return wait_until(lambda: children(stack.service.pid) if len(children(stack.service.pid)) == 1 else None,
                      5, "the worker")


def test_a_silent_connection_is_closed_after_the_timeout_and_others_are_served_meanwhile(stack):
    before = worker(stack)
    silent = [fc.connect_unix(stack.fcgi_socket) for _ in range(3)]
    opened = time.monotonic()
    try:
        time.sleep(0.1)
        for _ in range(5):  # the only worker answers while three connections say nothing
            resp, took = timed_get(stack)
            assert resp.status == 200 and resp.json == {"status": "ok"}, resp
            assert took < 0.5, "a request waited %.2f s behind silent connections" % took
        closed = [fc.wait_closed(s, TIMEOUT_S + 3, since=opened) for s in silent]
    finally:
        for s in silent:
            s.close()
    assert all(c is not None and TIMEOUT_S - 0.2 <= c <= TIMEOUT_S + 1.5 for c in closed), closed
    assert worker(stack) == before, "the worker was replaced"
    print("# silent connections closed after %s s (timeout %d s); 5 requests served meanwhile" % (
        ["%.2f" % c for c in closed], TIMEOUT_S))


def test_half_a_request_is_dropped_after_the_timeout(stack):
    """Half the params record: the worker reads it, waits at most the
    timeout for the rest, then drops the connection and serves again."""
    before = worker(stack)
    whole = fc.begin() + fc.record(fc.PARAMS, 1, fc.params("GET", "/api/health"))
    sock = fc.connect_unix(stack.fcgi_socket)
    sent = time.monotonic()
    try:
        sock.sendall(whole[:len(whole) // 2])
        resp, took = timed_get(stack)  # waits for the worker at most about the timeout
        closed = fc.wait_closed(sock, TIMEOUT_S + 3, since=sent)
    finally:
        sock.close()
    assert resp.status == 200 and resp.json == {"status": "ok"}, resp
    assert took < TIMEOUT_S + 1.5, "a request waited %.2f s" % took
    assert closed is not None and TIMEOUT_S - 0.2 <= closed <= TIMEOUT_S + 1.5, closed
    assert worker(stack) == before
    print("# half a request: dropped after %.2f s; a request meanwhile took %.2f s" % (closed, took))


def test_half_a_body_is_answered_400_after_the_timeout(stack):
    user = "half-body-" + uuid.uuid4().hex[:8]
    body = json.dumps({"provider": "openai", "apiKey": "sk-half-body-" + uuid.uuid4().hex}).encode()
    stack.remember_keys(json.loads(body)["apiKey"])
    head = fc.begin() + fc.record(fc.PARAMS, 1, fc.params("PUT", API_KEYS, user, body)) + fc.record(fc.PARAMS, 1)
    sock = fc.connect_unix(stack.fcgi_socket)
    sent = time.monotonic()
    try:
        sock.sendall(head + fc.record(fc.STDIN, 1, body[:10]))
        status, _, reply = fc.read_response(sock)
        took = time.monotonic() - sent
        closed = fc.wait_closed(sock, 3)
    finally:
        sock.close()
    assert status == 400 and json.loads(reply) == {"detail": "Request body is shorter than its Content-Length"}, reply
    assert TIMEOUT_S - 0.2 <= took <= TIMEOUT_S + 1.5, took
    assert closed is not None, "the connection stayed open"
    assert stack.request("GET", API_KEYS, user=user).json["openaiApiKey"] is None, "half a body was stored"


def test_a_put_refused_before_its_body_is_read_is_answered_at_once(stack):
    """A PUT without an identity is refused before its body is read. Its
    reply leaves at once: not after the rest of the body, nor after the
    read timeout that ends the wait for it, on a connection nginx keeps or
    not. (A request without a body, every GET, has its reply leave with
    the end of the request, in one write.)"""
    body = json.dumps({"provider": "openai", "apiKey": "sk-early-reply-" + uuid.uuid4().hex}).encode()
    stack.remember_keys(json.loads(body)["apiKey"])
    for keep in (False, True):
        head = fc.begin(keep=keep) + fc.record(fc.PARAMS, 1, fc.params("PUT", API_KEYS, None, body))
        sock = fc.connect_unix(stack.fcgi_socket, timeout=TIMEOUT_S + 3)
        try:
            sent = time.monotonic()
            sock.sendall(head + fc.record(fc.PARAMS, 1) + fc.record(fc.STDIN, 1, body[:10]))
            kind, content = fc.read_record(sock)
            took = time.monotonic() - sent
        finally:
            sock.close()
        assert kind == fc.STDOUT and content.startswith(b"Status: 401"), (kind, content[:80])
        assert b'{"detail":"Not authenticated"}' in content, content
        assert took < TIMEOUT_S / 2, "keep=%s: the reply waited %.2f s for the rest of the body" % (keep, took)


def test_a_kept_connection_serves_the_next_request_then_closes_when_idle(stack):
    sock = fc.connect_unix(stack.fcgi_socket)
    try:
        for _ in range(3):
            sock.sendall(fc.request("GET", "/api/health", keep=True))
            status, headers, body = fc.read_response(sock)
            assert status == 200 and json.loads(body) == {"status": "ok"}, body
        idle_from = time.monotonic()
        closed = fc.wait_closed(sock, TIMEOUT_S + 3, since=idle_from)
    finally:
        sock.close()
    assert closed is not None and TIMEOUT_S - 0.2 <= closed <= TIMEOUT_S + 1.5, closed


def test_a_connection_not_kept_is_closed_after_its_reply(stack):
    sock = fc.connect_unix(stack.fcgi_socket)
    try:
        sock.sendall(fc.request("GET", "/api/health"))
        status, _, _ = fc.read_response(sock)
        closed = fc.wait_closed(sock, 2)
    finally:
        sock.close()
    assert status == 200 and closed is not None and closed < 0.5, closed


def test_a_kept_connection_does_not_make_another_wait(stack):
    """Two kept connections on one worker: the one nginx uses is served
    whichever it is, while the other stays idle."""
    a, b = fc.connect_unix(stack.fcgi_socket), fc.connect_unix(stack.fcgi_socket)
    try:
        for sock in (a, b, b, a, b):
            started = time.monotonic()
            sock.sendall(fc.request("GET", "/api/health", keep=True))
            status, _, _ = fc.read_response(sock)
            assert status == 200 and time.monotonic() - started < 0.5
    finally:
        a.close()
        b.close()


def test_a_streamed_reply_longer_than_the_timeout_completes(stack):
    """The timeout is for reading a request: a reply being written for
    longer (here a 5 s stream with a 2 s timeout) is never cut."""
    stack.remember_keys(SYSTEM_OPENAI)
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    MOCK.slow_pieces, MOCK.slow_delay = 25, 0.2
    MOCK.set_mode("slow")
    body = {"provider": "openai", "model": "test-model", "stream": True,
            "messages": [{"role": "user", "content": "take your time"}]}
    started = time.monotonic()
    resp = stack.request("POST", "/api/llm/chat", user="slow-" + uuid.uuid4().hex[:6], body=body, timeout=20)
    took = time.monotonic() - started
    assert resp.status == 200, resp
    text = "".join(json.loads(line[6:]).get("delta", "") for line in resp.raw.split("\n")
                   if line.startswith("data: ") and '"delta"' in line)
    assert text.split() == ["piece%d" % i for i in range(25)], resp.raw[-500:]
    assert "event: done" in resp.raw and took > 2 * TIMEOUT_S, took
    print("# a %.1f s stream with GOFANNON_FCGI_TIMEOUT=%d completed" % (took, TIMEOUT_S))


# --- FCGI_WEB_SERVER_ADDRS on IPv6 and dual-stack listeners ------------------------

def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def tcp_service(stack, listen, allowed):
    """The service on its own, listening on a TCP address with --listen."""
    env = stack.service_environment({"FCGI_WEB_SERVER_ADDRS": allowed, "GOFANNON_WORKERS": "1"})
    log = open(os.path.join(stack.state, "service-tcp.log"), "ab")
    proc = subprocess.Popen([stack.binary, "--listen", listen], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            env=env)
    log.close()
    return proc


def ask_health(family, host, port):
    """(status or None when the service closed without answering)."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        s.sendall(fc.request("GET", "/api/health"))
        try:
            return fc.read_response(s)[0]
        except (EOFError, ConnectionResetError):
            return None


def wait_listening(proc, family, host, port):
    def up():
        assert proc.poll() is None, "the service exited with %r" % proc.returncode
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(0.2)
            return s.connect_ex((host, port)) == 0
    wait_until(up, 10, "the service on %s port %d" % (host, port))


def test_web_server_addrs_on_an_ipv6_listener(stack):
    if not ipv6_loopback():
        raise unittest.SkipTest("no IPv6 loopback (::1) on this machine")
    cases = [("::1", 200), ("127.0.0.1", None), ("2001:db8::1,::1", 200), ("", 200)]
    seen = []
    for allowed, expected in cases:
        port = free_port()
        proc = tcp_service(stack, "[::1]:%d" % port, allowed)
        try:
            wait_listening(proc, socket.AF_INET6, "::1", port)
            got = ask_health(socket.AF_INET6, "::1", port)
        finally:
            stop_process(proc)
        seen.append((allowed, got))
        assert got == expected, "FCGI_WEB_SERVER_ADDRS=%r, peer ::1: %r" % (allowed, got)
    print("# IPv6 listener [::1]: %s" % seen)


def test_web_server_addrs_on_a_dual_stack_listener(stack):
    """An IPv4 peer of a [::] listener arrives as ::ffff:127.0.0.1 and is
    matched against the IPv4 entries."""
    if not ipv6_loopback():
        raise unittest.SkipTest("no IPv6 loopback (::1) on this machine")
    try:
        with open("/proc/sys/net/ipv6/bindv6only") as f:
            if f.read().strip() == "1":
                raise unittest.SkipTest("net.ipv6.bindv6only=1: [::] takes no IPv4 peers here")
    except OSError:
        pass
    port = free_port()
    proc = tcp_service(stack, "[::]:%d" % port, "127.0.0.1")
    try:
        wait_listening(proc, socket.AF_INET, "127.0.0.1", port)
        from_v4 = ask_health(socket.AF_INET, "127.0.0.1", port)
        from_v6 = ask_health(socket.AF_INET6, "::1", port)
    finally:
        stop_process(proc)
    assert from_v4 == 200, from_v4
    assert from_v6 is None, "::1 is not in the list, yet was served: %r" % from_v6
