"""A hand-written FastCGI client for the tests: raw records on a socket, so a
test can send exactly what nginx would, half of it, or nothing at all.

  sock = connect_unix(path)            (or socket.create_connection for TCP)
  sock.sendall(request("GET", "/api/health"))
  status, headers, body = read_response(sock)

request(..., keep=True) sets FCGI_KEEP_CONN, as nginx's fastcgi_keep_conn
does: the service then keeps the connection open for the next request.
read_response raises EOFError when the service closes the connection before
its end-of-request record. Standard library only.
"""

import socket
import struct
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
RESPONDER = 1
KEEP_CONN = 1


def record(kind, request_id, content=b""):
    padding = (-len(content)) % 8
    return struct.pack("!BBHHBx", VERSION, kind, request_id, len(content), padding) + content + b"\0" * padding


def begin(request_id=1, keep=False):
    return record(BEGIN_REQUEST, request_id, struct.pack("!HB5x", RESPONDER, KEEP_CONN if keep else 0))


def _length(n):
    return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)


def name_values(pairs):
    out = b""
    for name, value in pairs.items():
        name, value = name.encode(), value.encode()
        out += _length(len(name)) + _length(len(value)) + name + value
    return out


def params(method, path, user=None, body=b"", content_type="application/json"):
    p = {"REQUEST_METHOD": method, "REQUEST_URI": path, "DOCUMENT_URI": path, "REQUEST_SCHEME": "http",
         "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1",
         "CONTENT_LENGTH": str(len(body)) if body else ""}
    if body:
        p["CONTENT_TYPE"] = content_type
    if user is not None:
        p["REMOTE_USER"] = user
    return name_values(p)


def request(method, path, user=None, body=b"", keep=False, request_id=1):
    """A whole request as nginx sends it: begin, params, an empty params
    record, the body in stdin records, an empty stdin record."""
    out = begin(request_id, keep) + record(PARAMS, request_id, params(method, path, user, body))
    out += record(PARAMS, request_id)
    for i in range(0, len(body), 32768):
        out += record(STDIN, request_id, body[i:i + 32768])
    return out + record(STDIN, request_id)


def connect_unix(path, timeout=10):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the service closed the connection after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_record(sock):
    """One record: (kind, content)."""
    _, kind, _, clen, plen = struct.unpack("!BBHHBx", _read_exact(sock, 8))
    return kind, _read_exact(sock, clen + plen)[:clen]


def read_response(sock):
    """Reads records up to the end-of-request; returns (status, headers,
    body) of the CGI-style reply in the stdout records."""
    out = b""
    while True:
        _, kind, _, clen, plen = struct.unpack("!BBHHBx", _read_exact(sock, 8))
        content = _read_exact(sock, clen + plen)[:clen]
        if kind == STDOUT:
            out += content
        elif kind == END_REQUEST:
            break
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(headers.get("status", "0").split()[0])
    return status, headers, body


def wait_closed(sock, timeout, since=None):
    """Seconds from `since` (time.monotonic(), default now) until the
    service closes the connection, reading and discarding anything it sends;
    None if it stays open that long."""
    started = time.monotonic() if since is None else since
    sock.settimeout(0.05)
    while time.monotonic() - started < timeout:
        try:
            if not sock.recv(65536):
                return time.monotonic() - started
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None
