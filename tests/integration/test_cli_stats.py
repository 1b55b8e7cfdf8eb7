"""gofannon-keys stats, the operator's view (README "The operator's view"),
against real Redis: 10,000 users seeded with pipelined commands, counted
exactly per provider (users with a key, keys older than 90 days, keys past
their expiry, system-key tokens of the month, users at the allowance),
read with SCAN and pipelined HMGETs (Redis's own command counts say so,
and that KEYS is never sent), no key, mask or user id printed, Redis down
is exit 1 with a sentence, a wrong command line exit 2."""

import os
import socket
import subprocess
import time
import unittest
import uuid

from stack import _encode_command, _read_reply

USERS = 10000
NOW = "2026-12-15T12:00:00Z"  # the test clock; 90 days before: 2026-09-16T12:00:00Z
ENV = {"GOFANNON_TEST_NOW": NOW, "OPENAI_SYSTEM_KEY_MONTHLY_TOKENS": "40"}
RECENT, OLD = "2026-12-01T00:00:00Z", "2026-01-01T00:00:00Z"
JUST_OLD, NOT_YET_OLD = "2026-09-16T11:59:59Z", "2026-09-16T12:00:00Z"


def redis_pipeline(stack, commands):
    """Sends every command in one write over the admin connection and reads
    every reply: seeding 10,000 users is a few round trips, not 30,000."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(stack.redis_socket)
        s.sendall(_encode_command("AUTH", "admin", stack._redis_users()[1]) +
                  b"".join(_encode_command(*c) for c in commands))
        f = s.makefile("rb")
        return [_read_reply(f) for _ in range(len(commands) + 1)][1:]


def seed(stack):
    """10,000 users; returns what stats must report for them."""
    cmds = []
    for i in range(USERS):
        user = "u%05d" % i
        fields = []
        if i % 2 == 0:  # openai: 5,000 keys, 1,000 stored in January
            fields += ["openaiApiKey", "v1.test.sealed", "openaiApiKey:updatedAt", OLD if i % 10 == 0 else RECENT]
        if i % 5 == 0:  # anthropic: 2,000 keys, 500 a second past 90 days, 500 exactly at it (not older)
            when = {0: JUST_OLD, 5: NOT_YET_OLD}.get(i % 20, RECENT)
            fields += ["anthropicApiKey", "v1.test.sealed", "anthropicApiKey:updatedAt", when]
        if i % 100 in (0, 1):  # gemini: 100 expired (not yet deleted), 100 (all old) expiring next year
            fields += ["geminiApiKey", "v1.test.sealed", "geminiApiKey:updatedAt", OLD,
                       "geminiApiKey:expiresAt", "2026-12-01T00:00:00Z" if i % 100 == 0 else "2027-01-01T00:00:00Z"]
        if fields:
            cmds.append(["HSET", "gofannon:users:{%s}:apiKeys" % user] + fields)
        if i % 4 == 0:  # 2,500 users spent the system key this month, 25 of them up to the allowance (40)
            cmds.append(["HSET", "gofannon:usage:{%s}:2026-12" % user,
                         "openai:requests", "1", "openai:inputTokens", "50", "openai:outputTokens", "20",
                         "openai:system:requests", "1",
                         "openai:system:inputTokens", "33" if i % 400 == 0 else "13",
                         "openai:system:outputTokens", "7",
                         "openai:user:inputTokens", "30", "openai:user:outputTokens", "13"])
        if i % 4 == 1:  # last month: not this month's
            cmds.append(["HSET", "gofannon:usage:{%s}:2026-11" % user, "openai:system:inputTokens", "1000"])
    cmds.append(["ZADD", "gofannon:users:{u00000}:llmCalls", "1", "x"])  # another key of a user: not read
    for start in range(0, len(cmds), 2000):
        redis_pipeline(stack, cmds[start:start + 2000])
    key_hashes = sum(1 for i in range(USERS) if i % 2 == 0 or i % 5 == 0 or i % 100 in (0, 1))
    return {
        "openai": ["5000", "1000", "0", "50500", "2500", "40", "25"],
        "anthropic": ["2000", "500", "0", "0", "0", "-", "-"],
        "gemini": ["100", "100", "100", "0", "0", "-", "-"],
        "perplexity": ["0", "0", "0", "0", "0", "-", "-"],
        "openrouter": ["0", "0", "0", "0", "0", "-", "-"],
    }, key_hashes, USERS // 4


def run_stats(stack, *args, env=None):
    return subprocess.run([stack.binary, "stats"] + list(args), env=stack.service_environment(dict(ENV, **(env or {}))),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def needs_test_hooks(stack):
    out = subprocess.run([stack.binary, "version"], capture_output=True, text=True).stdout
    if "(test hooks)" not in out:
        raise unittest.SkipTest("needs a build configured with --enable-test-hooks (GOFANNON_TEST_NOW)")


def command_calls(stack):
    """{command: calls} from INFO commandstats."""
    info = stack.redis_cli("INFO", "commandstats")
    calls = {}
    for line in info.splitlines():
        if line.startswith("cmdstat_"):
            name, rest = line[8:].split(":", 1)
            calls[name] = int(dict(kv.split("=") for kv in rest.split(","))["calls"])
    return calls


def test_stats_on_10000_users_counts_exactly_with_scan_and_pipelined_reads(stack):
    needs_test_hooks(stack)
    stack.redis_cli("FLUSHALL")
    started = time.monotonic()
    want, key_hashes, usage_hashes = seed(stack)
    seeded = time.monotonic() - started
    # one real key, stored through nginx: neither it nor its mask may show
    key = "sk-stats-%s" % uuid.uuid4().hex
    stack.remember_keys(key)
    assert stack.request("PUT", "/api/users/me/api-keys", user="u00001",
                         body={"provider": "openrouter", "apiKey": key}).status == 200
    want["openrouter"][0] = "1"  # u00001 already has a hash (gemini): still 6,100 hashes
    stack.redis_cli("CONFIG", "RESETSTAT")
    started = time.monotonic()
    proc = run_stats(stack)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "gofannon-keys stats at %s" % NOW, lines[0]
    assert lines[1].split() == ["provider", "users-with-key", "older-than-90d", "expired",
                                "system-tokens-2026-12", "system-users", "allowance", "at-allowance"], lines[1]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:7]}
    assert rows == want, "\n".join(lines)
    assert list(rows) == ["openai", "anthropic", "gemini", "perplexity", "openrouter"]
    assert lines[7].startswith("read %d key hashes and %d usage hashes of 2026-12 in " % (key_hashes, usage_hashes)), lines[7]
    assert len(lines) == 8, proc.stdout
    for text in (proc.stdout, proc.stderr):
        assert key not in text and key[-4:] not in text and "u0000" not in text
    calls = command_calls(stack)
    assert "keys" not in calls, calls
    assert calls["hmget"] == key_hashes + usage_hashes, calls
    # SCAN COUNT 1000 over the ~8,600 keys, twice: a handful of steps, not one per user
    assert 2 <= calls["scan"] <= 40, calls
    print("# stats on %d users: seeded in %.2f s, stats took %.2f s, %d SCAN steps, %d HMGETs" % (
        USERS, seeded, took, calls["scan"], calls["hmget"]))
    for line in lines:
        print("#   " + line)


def test_a_stray_key_of_another_type_is_left_out_not_the_end_of_the_report(stack):
    # a name that matches the walk's pattern but holds a string (or any
    # other type) answers WRONGTYPE to HMGET: one stray key used to end
    # the whole report with "Redis did not answer"
    needs_test_hooks(stack)
    stack.redis_cli("FLUSHALL")
    for i in range(3):
        stack.redis_cli("HSET", "gofannon:users:{stray-%d}:apiKeys" % i, "openaiApiKey", "v1.test.sealed",
                        "openaiApiKey:updatedAt", RECENT)
        stack.redis_cli("HSET", "gofannon:usage:{stray-%d}:2026-12" % i, "openai:system:inputTokens", "13",
                        "openai:system:outputTokens", "7")
    stack.redis_cli("SET", "gofannon:users:{stray-x}:apiKeys", "not a hash")
    stack.redis_cli("RPUSH", "gofannon:usage:{stray-x}:2026-12", "not a hash")
    proc = run_stats(stack)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:7]}
    assert rows["openai"] == ["3", "0", "0", "60", "3", "40", "0"], proc.stdout
    assert lines[7].startswith("read 3 key hashes and 3 usage hashes of 2026-12 in "), lines[7]


def test_stats_without_redis_is_exit_1_with_a_sentence(stack):
    needs_test_hooks(stack)
    stack.redis_stop()
    try:
        proc = run_stats(stack)
    finally:
        stack.redis_start()
    assert proc.returncode == 1, (proc.returncode, proc.stdout)
    assert "gofannon-keys: stats: Redis did not answer (see the log line above); nothing is reported" in proc.stderr, \
        proc.stderr
    assert "event=redis_unavailable" in proc.stderr
    assert proc.stdout == ""


def test_stats_takes_no_arguments_and_a_bad_allowance_stops_it(stack):
    proc = run_stats(stack, "--all")
    assert proc.returncode == 2 and "usage: gofannon-keys stats" in proc.stderr, proc
    proc = run_stats(stack, env={"OPENAI_SYSTEM_KEY_MONTHLY_TOKENS": "lots"})
    assert proc.returncode == 1
    assert "OPENAI_SYSTEM_KEY_MONTHLY_TOKENS must be a whole number" in proc.stderr, proc.stderr
    assert os.path.exists(stack.binary)
