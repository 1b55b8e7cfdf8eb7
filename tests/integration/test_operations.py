"""What an operator relies on: the systemd units, the Redis ACL user the
service runs as, and master key rotation with `gofannon-keys rekey` while
the service keeps taking writes."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

from load import wait_until
from masks import mask

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNITS = os.path.join(TOP, "scripts", "systemd")
API_KEYS = "/api/users/me/api-keys"
MAX_EXPOSURE = 3.0  # systemd-analyze security: "OK" and better


def new_key(tag):
    return "sk-%s-%s" % (tag, uuid.uuid4().hex + uuid.uuid4().hex[:6])



# --- systemd units ---------------------------------------------------------

def systemd_analyze():
    """The path of systemd-analyze, installing Debian's systemd package if
    it is missing; None (with the reason) when it cannot run here."""
    tool = shutil.which("systemd-analyze")
    if not tool and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "systemd"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        tool = shutil.which("systemd-analyze")
    if not tool:
        return None, "systemd-analyze is not installed and could not be installed"
    probe = subprocess.run([tool, "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        return None, "systemd-analyze does not run here: %s" % probe.stderr.strip()[:200]
    return tool, None


def unit_copies(stack, subdir):
    """The units of one directory, with the binary path pointed at the build
    (verify checks that ExecStart= programs exist)."""
    out = tempfile.mkdtemp(prefix="units-", dir=stack.state)
    names = sorted(os.listdir(os.path.join(UNITS, subdir)))
    for name in names:
        with open(os.path.join(UNITS, subdir, name)) as f:
            text = f.read().replace("/usr/bin/gofannon-keys", stack.binary)
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    return [os.path.join(out, n) for n in names]


def check_units(stack, subdir):
    tool, why = systemd_analyze()
    if not tool:
        print("# SKIP systemd units in %s: %s" % (subdir, why))
        return
    units = unit_copies(stack, subdir)
    verify = subprocess.run([tool, "verify", "--man=no"] + units, capture_output=True, text=True, timeout=60)
    complaints = [line for line in (verify.stdout + verify.stderr).splitlines()
                  if any(os.path.basename(u) in line for u in units)]
    assert verify.returncode == 0 and not complaints, "systemd-analyze verify %s:\n%s" % (
        subdir, verify.stdout + verify.stderr)
    for unit in units:
        if not unit.endswith(".service"):
            continue
        security = subprocess.run([tool, "security", "--offline=yes", unit], capture_output=True, text=True,
                                  timeout=60)
        level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout + security.stderr)
        assert level, security.stdout[-500:] + security.stderr[-500:]
        assert float(level.group(1)) <= MAX_EXPOSURE, "%s exposure %s" % (unit, level.group(1))
        print("# %s/%s: verified, exposure %s" % (subdir, os.path.basename(unit), level.group(1)))


def test_systemd_unit_for_spawn_fcgi_verifies(stack):
    check_units(stack, "spawn-fcgi")


def test_systemd_socket_activation_pair_verifies(stack):
    check_units(stack, "socket-activation")


def test_systemd_jwt_keys_timer_and_service_verify(stack):
    check_units(stack, "jwt-keys")


# --- Redis ACL -------------------------------------------------------------

def service_redis(stack, *args):
    """One command as the service's Redis user; the error text on refusal."""
    url = stack.service_redis_url
    user, password = re.match(r"unix://([^:]+):([^@]+)@", url).groups()
    try:
        return stack.redis_cli(*args, user=user, password=password)
    except RuntimeError as e:
        return str(e)


def test_the_service_runs_as_the_limited_redis_user(stack):
    user = "acl-" + uuid.uuid4().hex[:6]
    key = new_key("acl")
    stack.remember_keys(key)
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
    clients = stack.redis_cli("CLIENT", "LIST")
    service_users = set(re.findall(r" user=(\S+)", clients)) - {"admin"}
    assert service_users == {"gofannon-keys"}, clients
    mine = "gofannon:users:{%s}:apiKeys" % user
    assert service_redis(stack, "PING") == "PONG"
    assert service_redis(stack, "HGETALL", mine)
    assert service_redis(stack, "HINCRBY", "gofannon:usage:{%s}" % user, "openai:inputTokens", "5") == 5
    refused = {
        "FLUSHALL": ("FLUSHALL",),
        "CONFIG": ("CONFIG", "GET", "dir"),
        "KEYS": ("KEYS", "*"),
        "GET on its own key": ("GET", mine),
        "HSET outside its prefix": ("HSET", "other:users:{x}:apiKeys", "f", "v"),
        "HINCRBY on a key hash": ("HINCRBY", mine, "f", "1"),
        "HSET on a usage hash": ("HSET", "gofannon:usage:{%s}" % user, "f", "v"),
        "EVAL": ("EVAL", "return 1", "0"),
    }
    for what, command in refused.items():
        answer = service_redis(stack, *command)
        assert isinstance(answer, str) and "NOPERM" in answer, "%s was allowed: %r" % (what, answer)
    try:
        stack.redis_cli("PING", user="default", password="")
        raise AssertionError("the default user is enabled")
    except RuntimeError as e:
        assert "WRONGPASS" in str(e) or "NOAUTH" in str(e) or "disabled" in str(e), e


# --- master key rotation ---------------------------------------------------

def sealed_kids(stack, users, field="openaiApiKey"):
    kids = {}
    for user in users:
        value = stack.redis_cli("HGET", "gofannon:users:{%s}:apiKeys" % user, field)
        kids[user] = value.split(".")[1] if value else None
    return kids


def run_rekey(stack, extra_env=None):
    env = stack.service_environment(extra_env)
    return subprocess.run([stack.binary, "rekey"], env=env, capture_output=True, text=True, timeout=60)


def test_rotation_with_rekey_under_concurrent_writes_loses_nothing(stack):
    users = ["rot-%03d-%s" % (i, uuid.uuid4().hex[:6]) for i in range(150)]
    latest = {}
    keys = []
    for user in users:
        key = new_key("old")
        keys.append(key)
        assert stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200
        latest[user] = key
    old_kid = set(sealed_kids(stack, users).values())
    assert len(old_kid) == 1
    old_kid = old_kid.pop()

    # 1. a new master key, 2. reload: new values sealed under it
    with open(stack.master_key) as f:
        old_line = f.read().strip().splitlines()[-1]
    subprocess.run([stack.binary, "keygen", "--append", stack.master_key], check=True, capture_output=True)
    stack.service.send_signal(signal.SIGHUP)
    wait_until(lambda: "event=workers_replaced" in stack.service_log_text(), 10, "the reload")

    # 3. rekey, while a client keeps replacing keys of the same users
    stop = threading.Event()
    writes = [0]

    def writer():
        i = 0
        while not stop.is_set():
            user = users[i % len(users)]
            key = new_key("new")
            keys.append(key)
            if stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}).status == 200:
                latest[user] = key
                writes[0] += 1
            i += 7

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)
        done = run_rekey(stack)
    finally:
        stop.set()
        thread.join(10)
        stack.remember_keys(*keys)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rekey complete" in done.stdout, done.stdout
    retries = re.search(r"retries=(\d+)", done.stderr).group(1)
    kids = sealed_kids(stack, users)
    assert old_kid not in kids.values(), "values still sealed under the old key: %d" % list(kids.values()).count(old_kid)
    new_kid = kids[users[0]]

    # 4. the old key goes; after a reload every key still opens, and each
    # user has the key written last: rekey undid no concurrent write
    with open(stack.master_key) as f:
        lines = [line for line in f.read().splitlines() if line.strip() != old_line]
    with open(stack.master_key, "w") as f:
        f.write("\n".join(lines) + "\n")
    stack.service.send_signal(signal.SIGHUP)
    wait_until(lambda: stack.service_log_text().count("event=workers_replaced") >= 2, 10, "the second reload")
    wrong = []
    for user in users:
        body = stack.request("GET", API_KEYS, user=user).json
        if body["openaiApiKey"] != mask(latest[user]):
            wrong.append((user, body["openaiApiKey"]))
    assert not wrong, "%d users do not have their last key: %s" % (len(wrong), wrong[:3])
    print("# rotation: %d users, %d concurrent PUTs during rekey, %s hashes read again; %s -> %s; %s" % (
        len(users), writes[0], retries, old_kid, new_kid, done.stdout.strip()))


def test_rekey_leaves_unreadable_values_and_names_them(stack):
    user = "damaged-" + uuid.uuid4().hex[:6]
    stack.redis_cli("HSET", "gofannon:users:{%s}:apiKeys" % user, "anthropicApiKey", "v1.gone.AAAA",
                    "retiredApiKey", "v1.gone.BBBB")
    done = run_rekey(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unreadable" in done.stdout
    assert re.search(r'event=rekey_value_left user="%s" field="anthropicApiKey"' % user, done.stderr)
    assert re.search(r'event=rekey_value_left user="%s" field="retiredApiKey" reason="provider not in the registry"'
                     % user, done.stderr)
    assert stack.redis_cli("HGET", "gofannon:users:{%s}:apiKeys" % user, "anthropicApiKey") == "v1.gone.AAAA"


def test_rekey_without_redis_says_it_is_incomplete(stack):
    stack.redis_stop()
    try:
        done = run_rekey(stack)
    finally:
        stack.redis_start()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "INCOMPLETE" in done.stdout and "run rekey again" in done.stdout


def test_a_write_between_rekeys_read_and_write_is_kept(stack):
    """rekey's transaction, made deterministic by tests/integration/rewrite_race.c:
    another client writes the hash after it was read; the rewrite must
    write nothing, then succeed on the next read."""
    race = os.path.join(stack.build_dir, "tests", "integration", "rewrite_race")
    done = subprocess.run([race, "race-" + uuid.uuid4().hex[:6]], env=stack.service_environment(),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "not ok" not in done.stdout, done.stdout + done.stderr
