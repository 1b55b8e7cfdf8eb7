"""The operator's commands about one user (gofannon-keys user and
gofannon-keys revoke, src/cmd_user.h) against the real Redis of the stack,
among 10,000 other users seeded straight into Redis with one pipeline."""

import os
import re
import subprocess
import time
import uuid

from masks import mask
from mock_provider import MockProvider
from stack import _encode_command, _read_reply

API_KEYS = "/api/users/me/api-keys"
FILLERS = 10000
PROVIDERS = ["openai", "anthropic", "gemini", "perplexity", "openrouter"]

MOCK = MockProvider(lifetime=900).start()
STACK_OPTIONS = {"service_env": dict(MOCK.base_urls(), GOFANNON_LLM_TIMEOUT="3")}

SEEDED = {}


def new_key(prefix="sk-cli-"):
    return prefix + uuid.uuid4().hex



def redis_pipe(stack, commands):
    """Sends every command in one write over the admin connection and reads
    every reply: the pipelined seeding redis-cli --pipe would do."""
    import socket
    password = stack._redis_users()[1]
    data = _encode_command("AUTH", "admin", password) + b"".join(_encode_command(*c) for c in commands)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(stack.redis_socket)
        s.sendall(data)
        f = s.makefile("rb")
        return [_read_reply(f) for _ in range(len(commands) + 1)][1:]


def seed(stack):
    """10,000 users, each with a (fake) sealed OpenAI key and one entry."""
    if SEEDED.get(stack.state):
        return SEEDED[stack.state]
    commands = []
    for i in range(FILLERS):
        user = "fill-%05d" % i
        commands.append(("HSET", "gofannon:users:{%s}:apiKeys" % user, "openaiApiKey", "v1.seed.AAAA%05d" % i,
                         "openaiApiKey:updatedAt", "2026-01-01T00:00:00Z"))
        commands.append(("XADD", "gofannon:users:{%s}:activity" % user, "MAXLEN", "~", "100", "*",
                         "at", "2026-01-01T00:00:00Z", "action", "added", "provider", "openai",
                         "source", "user", "by", "user", "client", "192.0.2.1"))
    started = time.monotonic()
    replies = redis_pipe(stack, commands)
    assert all(not isinstance(r, str) or re.fullmatch(r"\d+-\d+", r) for r in replies), replies[:3]
    print("# seeded %d users (%d commands, one pipeline) in %.1fs" % (FILLERS, len(commands),
                                                                    time.monotonic() - started))
    SEEDED[stack.state] = True
    return True


def run(stack, *args):
    started = time.monotonic()
    done = subprocess.run([stack.binary] + list(args), env=stack.service_environment(), capture_output=True,
                          text=True, timeout=60)
    done.seconds = time.monotonic() - started
    return done


def commandstats(stack):
    info = stack.redis_cli("INFO", "commandstats")
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", info)}


def no_key_in(text, keys):
    for key in keys:
        assert key not in text, "a key is in the output"


def rows_of(out):
    """{provider: [key, state, updated, last used, expires]} of user's table."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in PROVIDERS and len(parts) == 6:
            rows[parts[0]] = parts[1:]
    return rows


def entries_of(out):
    lines = out.split("activity, newest first (last 20):\n", 1)[1].splitlines()
    return [line for line in lines if line.strip() and line != "(none)"]


def make_user(stack):
    """A user with two keys, one used and expiring, and 25 entries."""
    MOCK.reset(log_path=os.path.join(stack.state, "mock-provider.log"))
    user = "cli-" + uuid.uuid4().hex[:8]
    keys = [new_key() for _ in range(23)]
    stack.remember_keys(*keys)
    for key in keys[:-1]:
        assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
    assert stack.request("PUT", API_KEYS, user=user,
                         body={"provider": "openai", "apiKey": keys[-1], "expiresInDays": 30}).status == 200
    ant = new_key("sk-ant-cli-")
    stack.remember_keys(ant)
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "anthropic", "apiKey": ant}).status == 200
    assert stack.request("POST", API_KEYS + "/openai/verify", user=user).json["valid"] is True
    return user, keys[-1], ant, keys


def test_user_shows_keys_and_the_last_20_entries_among_10000_users(stack):
    seed(stack)
    user, key, ant, keys = make_user(stack)
    before = commandstats(stack)
    done = run(stack, "user", user)
    after = commandstats(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith("user %s\n" % user), out
    rows = rows_of(out)
    assert list(rows) == PROVIDERS, out
    providers = {p["id"]: p for p in stack.request("GET", "/api/providers", user=user).json["providers"]}
    openai = providers["openai"]["userKey"]
    assert rows["openai"] == [mask(key), "expires-soon" if openai["expiresSoon"] else "ok", openai["updatedAt"],
                              openai["lastUsedAt"], openai["expiresAt"]], (rows["openai"], openai)
    assert openai["lastUsedAt"] and openai["expiresAt"]
    assert rows["anthropic"][:2] == [mask(ant), "ok"] and rows["anthropic"][3:] == ["-", "-"], rows
    assert rows["gemini"] == ["-", "-", "-", "-", "-"], rows
    api = stack.request("GET", API_KEYS + "/activity?limit=20", user=user).json["entries"]
    lines = entries_of(out)
    assert len(lines) == 20, out
    assert [line.split()[0] for line in lines] == [e["id"] for e in api]
    assert lines[0].startswith(api[0]["id"] + " at=%s action=verified provider=openai source=user by=user "
                               "client=127.0.0.1 result=valid" % api[0]["at"]), lines[0]
    no_key_in(out + done.stderr, keys + [ant])
    assert "v1." not in out
    # one user's hash and stream, read by name: no KEYS, and no walk either
    assert after.get("keys", 0) == before.get("keys", 0) == 0
    assert after.get("scan", 0) == before.get("scan", 0), (before.get("scan"), after.get("scan"))
    assert done.seconds < 10, done.seconds
    print("# user among %d users: %.2fs" % (FILLERS + 1, done.seconds))


def test_user_of_nobody_and_bad_usage(stack):
    done = run(stack, "user", "nobody-" + uuid.uuid4().hex[:6])
    assert done.returncode == 0, done.stderr
    assert all(r == ["-"] * 5 for r in rows_of(done.stdout).values()) and "(none)" in done.stdout
    assert run(stack, "user").returncode == 2
    assert run(stack, "user", "a", "b").returncode == 2
    bad = run(stack, "user", "bad\x01user")
    assert bad.returncode == 2 and "control characters" in bad.stderr, bad.stderr


def test_user_shows_an_expired_and_a_rejected_key_without_changing_them(stack):
    user, key, ant, keys = make_user(stack)
    name = "gofannon:users:{%s}:apiKeys" % user
    stack.redis_cli("HSET", name, "openaiApiKey:expiresAt", "2020-01-01T00:00:00Z",
                    "anthropicApiKey:rejectedAt", "2026-01-02T03:04:05Z")
    done = run(stack, "user", user)
    rows = rows_of(done.stdout)
    assert rows["openai"][1] == "expired" and rows["openai"][4] == "2020-01-01T00:00:00Z", rows
    assert rows["anthropic"][1] == "rejected", rows
    assert stack.redis_cli("HGET", name, "openaiApiKey") is not None  # the user's next request deletes it


def test_user_escapes_the_marks_it_prints(stack):
    # the marks come from Redis, where anyone with write access may put
    # terminal escapes or line breaks: the table shows them escaped, as the
    # activity lines are, never raw on the operator's terminal
    user, key, ant, keys = make_user(stack)
    name = "gofannon:users:{%s}:apiKeys" % user
    stack.redis_cli("HSET", name, "openaiApiKey:updatedAt", "\x1b]0;owned\x07\x1b[2J",
                    "openaiApiKey:lastUsedAt", "x\nfake-row", "anthropicApiKey:expiresAt", "\x1b[31m")
    done = run(stack, "user", user)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout, repr(done.stdout)
    assert "\nfake-row" not in done.stdout, done.stdout
    rows = rows_of(done.stdout)
    assert rows["openai"][0] == mask(key) and rows["openai"][3] == "x\\x0afake-row", rows


def test_revoke_deletes_one_key_and_says_so_everywhere(stack):
    seed(stack)
    user, key, ant, keys = make_user(stack)
    dbsize = stack.redis_cli("DBSIZE")
    before = commandstats(stack)
    done = run(stack, "revoke", user, "openai")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "revoke: deleted the openai key of user %s\n" % user, done.stdout
    assert re.search(r'level=info .*event=key_changed user="%s" provider=openai action=revoked by=operator'
                     % user, done.stderr), done.stderr
    masks = stack.request("GET", API_KEYS, user=user).json
    assert masks["openaiApiKey"] is None and masks["anthropicApiKey"] == mask(ant), masks
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user)
    assert not [f for f in flat[0::2] if f.startswith("openaiApiKey")], flat
    newest = stack.request("GET", API_KEYS + "/activity?limit=1", user=user).json["entries"][0]
    assert {k: newest[k] for k in ("action", "provider", "source", "by", "client")} == {
        "action": "revoked", "provider": "openai", "source": "user", "by": "operator", "client": ""}, newest
    # nobody else's keys moved
    assert stack.redis_cli("DBSIZE") == dbsize
    for i in (0, 4999, FILLERS - 1):
        assert stack.redis_cli("HGET", "gofannon:users:{fill-%05d}:apiKeys" % i, "openaiApiKey") == \
            "v1.seed.AAAA%05d" % i
    assert commandstats(stack).get("keys", 0) == before.get("keys", 0) == 0
    no_key_in(done.stdout + done.stderr, keys + [ant])
    print("# revoke among %d users: %.2fs" % (FILLERS + 1, done.seconds))

    again = run(stack, "revoke", user, "openai")
    assert again.returncode == 0 and "nothing to revoke" in again.stdout, again.stdout + again.stderr
    assert "event=key_changed" not in again.stderr
    assert stack.request("GET", API_KEYS + "/activity?limit=1", user=user).json["entries"][0]["id"] == newest["id"]


def test_revoke_refuses_what_it_cannot_do(stack):
    unknown = run(stack, "revoke", "someone", "no-such")
    assert unknown.returncode == 2 and "unknown provider 'no-such'" in unknown.stderr, unknown.stderr
    assert run(stack, "revoke", "someone").returncode == 2
    stack.redis_stop()
    try:
        down = run(stack, "revoke", "someone", "openai")
        assert down.returncode == 1 and "did not answer" in down.stderr, down.stdout + down.stderr
        down = run(stack, "user", "someone")
        assert down.returncode == 1 and "did not answer" in down.stderr, down.stdout + down.stderr
    finally:
        stack.redis_start()
