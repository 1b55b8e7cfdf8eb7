#!/usr/bin/env python3
"""A stand-in for the LLM providers, for the tests (python3 standard library).

One ThreadingHTTPServer on a free 127.0.0.1 port speaks the three wire styles
the service uses, under a path prefix per provider, so one mock serves all of
them (MockProvider.base_urls() gives the <ID>_BASE_URL variables):

  /openai/v1, /perplexity, /openrouter/api/v1   openai style
      POST .../chat/completions (stream: SSE, then data: [DONE])
      GET  .../models, GET .../key (OpenRouter's key check)
  /anthropic                                    anthropic style
      POST /v1/messages (stream: SSE with named events), GET /v1/models
  /gemini                                       gemini style
      POST /v1beta/models/M:generateContent
      POST /v1beta/models/M:streamGenerateContent?alt=sse, GET /v1beta/models

What it answers is set per provider (set_mode), default "ok":
  ok       a normal reply; streams when asked to
  401      the style's way of refusing a key (Gemini: 400 API_KEY_INVALID)
  500      a server error whose message quotes the key it was given
  hang     reads the request, answers nothing, notes when the caller hangs up
  slow     streams one piece every slow_delay seconds, notes a caller abort
  gate     streams the first piece, then waits for gate.set() (or
           hang_limit) before the rest: proves the pieces are relayed live
  big      a reply of BIG_REPLY bytes
  garbage  200 with a body that is not JSON
  echo     quotes the key it was given, wholly and in parts (echo_text()):
           an error body (HTTP 400) for a whole reply or a GET, and for a
           stream 200, one piece of text, then the style's error event

Every request is recorded (calls()): provider, style, method, path, query,
headers, parsed body and the key it carried, plus what happened to it
(finished, aborted, closed_after). Only in memory: the log file, when
log_path is set, has one line per request without any header or key (a
key's SHA-256 prefix stands for it).

Bounded: the server stops itself after `lifetime` seconds, every wait has a
limit, and its threads are daemons.

As a command, for trying the service by hand:
  python3 tests/mock_provider.py [--mode MODE] [--lifetime SECONDS]
"""

import hashlib
import json
import re
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

STYLES = {"openai": "openai", "perplexity": "openai", "openrouter": "openai",
          "anthropic": "anthropic", "gemini": "gemini"}
PREFIXES = {"openai": "/openai/v1", "perplexity": "/perplexity", "openrouter": "/openrouter/api/v1",
            "anthropic": "/anthropic", "gemini": "/gemini"}
MODES = ("ok", "401", "500", "hang", "slow", "gate", "big", "garbage", "echo")
BIG_REPLY = 5 * 1024 * 1024


def key_tag(key):
    return hashlib.sha256(key.encode()).hexdigest()[:12] if key else "-"


class MockProvider:
    def __init__(self, lifetime=300, log_path=None):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.usage = (13, 7)         # input and output tokens of every reply
        self.hang_limit = 10.0       # longest a hang or a gate holds a connection
        self.slow_delay = 0.2
        self.slow_pieces = 50
        self.stopped = False
        self.reset()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.mock = self
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    # --- control -----------------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def base_urls(self):
        return {"%s_BASE_URL" % p.upper(): self.url + prefix for p, prefix in PREFIXES.items()}

    def start(self):
        self._thread.start()
        self._timer.start()
        return self

    def stop(self):
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
        self.gate.set()
        self._timer.cancel()
        self.server.shutdown()
        self.server.server_close()

    def reset(self, log_path=None):
        """Forgets the calls and modes of the previous test."""
        with self.lock:
            self._calls = []
            self.modes = {}
            self.gate = threading.Event()
            if log_path:
                self.log_path = log_path

    def set_mode(self, mode, provider="*"):
        assert mode in MODES, mode
        with self.lock:
            self.modes[provider] = mode

    def mode_for(self, provider):
        with self.lock:
            return self.modes.get(provider, self.modes.get("*", "ok"))

    def calls(self, provider=None):
        with self.lock:
            return [dict(c) for c in self._calls if provider is None or c["provider"] == provider]

    def wait_for(self, predicate, timeout=5.0):
        """Waits until predicate(calls) is true; returns the calls."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls()
            if predicate(calls) or time.monotonic() > deadline:
                return calls
            time.sleep(0.02)

    # --- used by the handler -------------------------------------------------

    def record(self, call):
        with self.lock:
            self._calls.append(call)

    def note(self, call, **fields):
        with self.lock:
            call.update(fields)

    def log(self, call, mode, status):
        if not self.log_path:
            return
        line = "%s provider=%s method=%s path=%s mode=%s status=%s key_sha256=%s\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%S"), call["provider"], call["method"], call["path"], mode,
            status, key_tag(call["key"]))
        with self.lock, open(self.log_path, "a") as f:
            f.write(line)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # The service closing a kept-alive connection is normal, not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, socket.timeout)):
            super().handle_error(request, client_address)


def echo_text(key):
    """A provider that repeats the key it got: its start, its end, a piece
    from the middle, in capitals, whole, and run into other words (parts
    first: the service cuts a long message)."""
    key = key or ""
    return ("You sent %s... (ending %s), around %s, KEY=%s; invalid key %s; see x%sx" % (
        key[:12], key[-9:], key[len(key) // 3:len(key) // 3 + 10], key.upper(), key, key))


def pieces(text):
    """The reply text cut the way a stream delivers it: word by word."""
    return re.findall(r"\S+\s*", text) or [text]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 15
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, fmt, *args):  # the mock keeps its own log
        pass

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    # --- request -----------------------------------------------------------

    def serve(self, method):
        mock = self.server.mock
        parts = urlsplit(self.path)
        provider = parts.path.split("/")[1] if parts.path.count("/") >= 1 else ""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        style = STYLES.get(provider)
        call = {"provider": provider, "style": style, "method": method, "path": parts.path,
                "query": parts.query, "headers": headers, "body": body, "key": self.key(style, headers),
                "started": time.monotonic(), "finished": False, "aborted": False, "closed_after": None}
        mock.record(call)
        mode = mock.mode_for(provider)
        try:
            status = self.dispatch(mock, call, mode)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            mock.note(call, aborted=True, aborted_after=time.monotonic() - call["started"])
            self.close_connection = True
            status = "aborted"
        else:
            mock.note(call, finished=True)
        mock.log(call, mode, status)

    @staticmethod
    def key(style, headers):
        if style == "openai":
            auth = headers.get("authorization", "")
            return auth[7:] if auth.startswith("Bearer ") else None
        if style == "anthropic":
            return headers.get("x-api-key")
        if style == "gemini":
            return headers.get("x-goog-api-key")
        return None

    def dispatch(self, mock, call, mode):
        style, path = call["style"], call["path"]
        if style is None:
            return self.send_json(404, {"error": {"message": "no such provider"}})
        if mode == "hang":
            return self.hang(mock, call)
        if mode == "401":
            return self.reject(style)
        if mode == "500":
            return self.send_json(500, {"error": {"message": "The mock failed on purpose for key %s" % call["key"],
                                                  "type": "server_error"}})
        if mode == "garbage":
            return self.send_raw(200, "application/json", b"<html>this is not JSON</html>")
        if mode == "echo" and not self.wants_stream(call):
            return self.send_json(400, {"error": {"message": echo_text(call["key"]),
                                                  "type": "invalid_request_error"}})
        if call["method"] == "GET":
            return self.listing(path)
        if path.endswith("/chat/completions") or path.endswith("/v1/messages") or ":" in path.rsplit("/", 1)[-1]:
            return self.chat(mock, call, mode)
        return self.send_json(404, {"error": {"message": "no such endpoint"}})

    # --- replies -------------------------------------------------------------

    def send_raw(self, status, content_type, data):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        return status

    def send_json(self, status, obj):
        return self.send_raw(status, "application/json", json.dumps(obj).encode())

    def reject(self, style):
        if style == "gemini":
            return self.send_json(400, {"error": {
                "code": 400, "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                             "domain": "googleapis.com"}]}})
        if style == "anthropic":
            return self.send_json(401, {"type": "error", "error": {"type": "authentication_error",
                                                                    "message": "invalid x-api-key"}})
        return self.send_json(401, {"error": {"message": "Incorrect API key provided.",
                                              "type": "invalid_request_error", "code": "invalid_api_key"}})

    def listing(self, path):
        if path.endswith("/key"):
            return self.send_json(200, {"data": {"label": "mock", "usage": 0, "limit": None}})
        if path.endswith("/models"):
            return self.send_json(200, {"data": [{"id": "mock-model"}], "models": [{"name": "models/mock"}]})
        return self.send_json(404, {"error": {"message": "no such endpoint"}})

    def hang(self, mock, call):
        """Answers nothing; returns when the caller hangs up or at hang_limit."""
        sock = self.connection
        deadline = call["started"] + mock.hang_limit
        self.close_connection = True
        while time.monotonic() < deadline and not mock.stopped:
            readable, _, _ = select.select([sock], [], [], 0.05)
            if not readable:
                continue
            try:
                data = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                data = b""
            if not data:
                mock.note(call, closed_after=time.monotonic() - call["started"])
                return "closed by caller"
            time.sleep(0.05)
        return "hung"

    def reply_text(self, call):
        body = call["body"] if isinstance(call["body"], dict) else {}
        last = ""
        for m in body.get("messages") or body.get("contents") or []:
            if isinstance(m, dict) and m.get("role") == "user":
                last = m.get("content") if "content" in m else "".join(p.get("text", "") for p in m.get("parts", []))
        return "Hello from %s: %s" % (call["provider"], last)

    @staticmethod
    def wants_stream(call):
        if call["method"] != "POST":
            return False
        if call["style"] == "gemini":
            return "streamGenerateContent" in call["path"]
        return isinstance(call["body"], dict) and bool(call["body"].get("stream"))

    def chat(self, mock, call, mode):
        style, body = call["style"], call["body"] if isinstance(call["body"], dict) else {}
        stream = self.wants_stream(call)
        text = self.reply_text(call)
        if mode == "big":
            text = "x" * BIG_REPLY
        elif mode == "slow":
            text = " ".join("piece%d" % i for i in range(mock.slow_pieces))
        if stream:
            return self.stream(mock, call, mode, style, body, text)
        inp, out = mock.usage
        model = body.get("model", "gemini")
        if style == "openai":
            reply = {"id": "chatcmpl-mock", "object": "chat.completion", "model": model,
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}}
        elif style == "anthropic":
            reply = {"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                     "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                     "usage": {"input_tokens": inp, "output_tokens": out}}
        else:
            reply = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                     "finishReason": "STOP"}],
                     "usageMetadata": {"promptTokenCount": inp, "candidatesTokenCount": out,
                                       "totalTokenCount": inp + out}}
        return self.send_json(200, reply)

    # --- streams ---------------------------------------------------------------

    def chunk(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, mock, call, mode, style, body, text):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = self.stream_events(mock, style, body, text)
        if mode == "echo":  # up to the first piece of text, then the error
            first = next(i for i, (kind, _) in enumerate(events) if kind == "delta")
            events = events[:first + 1] + [("error", self.error_event(style, echo_text(call["key"])))]
        delta_events = [i for i, (kind, _) in enumerate(events) if kind == "delta"]
        first_delta = delta_events[0] if delta_events else -1
        for i, (kind, data) in enumerate(events):
            self.chunk(data)
            if mode == "slow" and kind == "delta":
                time.sleep(mock.slow_delay)
            if mode == "gate" and i == first_delta:
                mock.note(call, gated=True)
                released = mock.gate.wait(mock.hang_limit)
                mock.note(call, gate_released=released)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return 200

    @staticmethod
    def error_event(style, message):
        """The style's way of failing mid-stream."""
        if style == "anthropic":
            return "event: error\ndata: %s\n\n" % json.dumps({
                "type": "error", "error": {"type": "overloaded_error", "message": message}})
        if style == "gemini":
            return "data: %s\r\n\r\n" % json.dumps({
                "error": {"code": 500, "message": message, "status": "INTERNAL"}})
        return "data: %s\n\n" % json.dumps({"error": {"message": message, "type": "server_error"}})

    def stream_events(self, mock, style, body, text):
        """[(kind, bytes of one SSE event)] for the style."""
        inp, out = mock.usage
        words = pieces(text)
        if style == "openai":
            events = [("delta", "data: %s\n\n" % json.dumps({
                "id": "chatcmpl-mock", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]})) for w in words]
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append(("usage", "data: %s\n\n" % json.dumps({
                    "id": "chatcmpl-mock", "choices": [],
                    "usage": {"prompt_tokens": inp, "completion_tokens": out}})))
            events.append(("end", "data: [DONE]\n\n"))
            return events
        if style == "anthropic":
            def ev(name, obj):
                return "event: %s\ndata: %s\n\n" % (name, json.dumps(obj))
            events = [("start", ev("message_start", {"type": "message_start", "message": {
                          "id": "msg_mock", "type": "message", "role": "assistant", "content": [],
                          "model": body.get("model"), "usage": {"input_tokens": inp, "output_tokens": 1}}})),
                      ("start", ev("content_block_start", {"type": "content_block_start", "index": 0,
                                                           "content_block": {"type": "text", "text": ""}})),
                      ("ping", ev("ping", {"type": "ping"}))]
            events += [("delta", ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                            "delta": {"type": "text_delta", "text": w}}))
                       for w in words]
            events += [("end", ev("content_block_stop", {"type": "content_block_stop", "index": 0})),
                       ("end", ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                                    "usage": {"output_tokens": out}})),
                       ("end", ev("message_stop", {"type": "message_stop"}))]
            return events
        # gemini: CRLF line ends, as Google sends them; counts are totals so far
        events = []
        for i, w in enumerate(words):
            events.append(("delta", "data: %s\r\n\r\n" % json.dumps({
                "candidates": [{"content": {"role": "model", "parts": [{"text": w}]}}],
                "usageMetadata": {"promptTokenCount": inp,
                                  "candidatesTokenCount": out if i == len(words) - 1 else i}})))
        return events


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(description="mock LLM provider")
    parser.add_argument("--mode", default="ok", choices=MODES)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args(argv)
    mock = MockProvider(lifetime=args.lifetime)
    mock.set_mode(args.mode)
    mock.start()
    for name, url in mock.base_urls().items():
        print("%s=%s" % (name, url), flush=True)
    try:
        while not mock.stopped:
            time.sleep(0.2)
    except KeyboardInterrupt:
        mock.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
