"""Starting the service: master keys, system keys, registry, SIGHUP."""

import os
import signal
import subprocess
import time
import uuid

FRESH_STACK = True
API_KEYS = "/api/users/me/api-keys"


def run_service(stack, env):
    """Runs the binary in the foreground with --listen and returns (code, stderr)."""
    sock = os.path.join(stack.state, "probe-%s.sock" % uuid.uuid4().hex[:6])
    proc = subprocess.run([stack.binary, "--listen", sock], env=stack.service_environment(env),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
    return proc.returncode, proc.stderr


def test_refuses_to_start_without_a_master_key_and_says_how_to_make_one(stack):
    code, err = run_service(stack, {"GOFANNON_MASTER_KEY_FILE": None})
    assert code == 1 and "keygen" in err and "GOFANNON_MASTER_KEY_FILE" in err, err
    missing = os.path.join(stack.state, "nope.key")
    code, err = run_service(stack, {"GOFANNON_MASTER_KEY_FILE": missing})
    assert code == 1 and "keygen %s" % missing in err, err
    bad = os.path.join(stack.state, "bad.key")
    with open(bad, "w") as f:
        f.write("k1:not-base64-at-all\n")
    os.chmod(bad, 0o600)  # a file others can read is refused before it is read
    code, err = run_service(stack, {"GOFANNON_MASTER_KEY_FILE": bad})
    assert code == 1 and "32 bytes" in err and "not-base64" not in err, err


def test_keygen_makes_a_private_file_and_never_overwrites(stack):
    path = os.path.join(stack.state, "new.key")
    subprocess.run([stack.binary, "keygen", path], check=True, capture_output=True)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path) as f:
        before = f.read()
    proc = subprocess.run([stack.binary, "keygen", path], capture_output=True, text=True)
    assert proc.returncode == 1 and "refusing to overwrite" in proc.stderr, proc.stderr
    with open(path) as f:
        assert f.read() == before


def test_bad_configuration_is_refused_with_the_variable_named(stack):
    code, err = run_service(stack, {"GOFANNON_REDIS_URL": "http://localhost"})
    assert code == 1 and "GOFANNON_REDIS_URL" in err, err
    code, err = run_service(stack, {"GOFANNON_WORKERS": "many"})
    assert code == 1 and "GOFANNON_WORKERS" in err, err
    providers = os.path.join(stack.state, "providers.json")
    with open(providers, "w") as f:
        f.write('{"providers": [{"id": "Bad Id", "name": "x"}]}')
    code, err = run_service(stack, {"GOFANNON_PROVIDERS_FILE": providers})
    assert code == 1 and "'id'" in err, err


def test_process_environment_file_override_and_empty_values(stack):
    user = "env-%s" % uuid.uuid4().hex[:8]
    process_key = "sk-process-env-" + uuid.uuid4().hex
    stack.remember_keys(process_key)
    # OPENAI_API_KEY from the process environment; the file empties ANTHROPIC's
    stack.write_env_file({"ANTHROPIC_API_KEY": ""})
    stack.service_restart({"OPENAI_API_KEY": process_key, "ANTHROPIC_API_KEY": "sk-ant-process-" + "x" * 20,
                           "PERPLEXITYAI_API_KEY": ""})
    eff = lambda p: stack.request("GET", API_KEYS + "/%s/effective" % p, user=user).json
    assert eff("openai") == {"provider": "openai", "hasKey": True, "has_key": True, "source": "env"}
    assert eff("anthropic")["source"] is None, "a file line NAME= must unset the process variable"
    assert eff("perplexity")["source"] is None, "an empty variable counts as unset"
    assert eff("gemini")["source"] is None, "GEMINI_API_KEY is no longer in the file"


def test_sighup_rereads_the_system_keys_without_a_restart(stack):
    user = "hup-%s" % uuid.uuid4().hex[:8]
    eff = lambda: stack.request("GET", API_KEYS + "/perplexity/effective", user=user).json
    assert eff()["source"] is None
    rotated = "pplx-rotated-" + uuid.uuid4().hex
    stack.remember_keys(rotated)
    stack.write_env_file({"PERPLEXITYAI_API_KEY": rotated})
    master = stack.service.pid
    stack.service.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while eff()["source"] != "env":
        assert time.monotonic() < deadline, "SIGHUP did not reload GOFANNON_ENV_FILE"
        time.sleep(0.05)
    assert stack.service.poll() is None and stack.service.pid == master
    # a broken file on reload keeps the previous keys
    with open(stack.env_file, "w") as f:
        f.write("this line has no equals sign\n")
    stack.service.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert eff()["source"] == "env"
    assert "reload_failed" in stack.service_log_text()


def test_a_registry_file_adds_a_provider_without_recompiling(stack):
    providers = os.path.join(stack.state, "providers.json")
    with open(providers, "w") as f:
        f.write("""{"providers": [
          {"id": "openai", "name": "OpenAI", "envVar": "OPENAI_API_KEY", "userKeyField": "openaiApiKey",
           "wireStyle": "openai", "baseUrl": "https://api.openai.com/v1"},
          {"id": "mistral", "name": "Mistral", "description": "Models from Mistral AI.",
           "envVar": "MISTRAL_API_KEY", "userKeyField": "mistralApiKey", "wireStyle": "openai",
           "baseUrl": "https://api.mistral.ai/v1"},
          {"id": "bedrock", "name": "AWS Bedrock", "envVar": "BEDROCK_API_KEY", "wireStyle": "anthropic",
           "baseUrl": "https://bedrock.example"}]}""")
    stack.service_restart({"GOFANNON_PROVIDERS_FILE": providers, "BEDROCK_API_KEY": "bedrock-system-key-1234"})
    stack.remember_keys("bedrock-system-key-1234")
    user = "reg-%s" % uuid.uuid4().hex[:8]
    key = "mistral-" + uuid.uuid4().hex
    stack.remember_keys(key)
    body = stack.request("PUT", API_KEYS, user=user, body={"provider": "mistral", "apiKey": key}).json
    assert body == {"openaiApiKey": None, "mistralApiKey": "mis..." + key[-4:]}, body
    listed = stack.request("GET", "/api/providers", user=user).json["providers"]
    assert [p["id"] for p in listed] == ["openai", "mistral", "bedrock"]
    bedrock = listed[2]
    assert bedrock["userKeys"] is False and bedrock["userKey"] is None and bedrock["userKeyField"] is None
    assert listed[1]["userKeyField"] == "mistralApiKey"
    assert bedrock["available"] is True and bedrock["source"] == "env"
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": "bedrock", "apiKey": key})
    assert resp.status == 400 and "does not take user keys" in resp.json["detail"], resp
    assert stack.request("PUT", API_KEYS, user=user, body={"provider": "gemini", "apiKey": key}).json == \
        {"detail": "Unknown provider: gemini"}


# --- who may read the master key file -----------------------------------------------------

def wait_for_log(stack, text, timeout=5):
    deadline = time.monotonic() + timeout
    while text not in stack.service_log_text():
        assert time.monotonic() < deadline, "no %r in the service log" % text
        time.sleep(0.05)


def test_a_master_key_file_others_can_read_is_refused_at_start(stack):
    exposed = os.path.join(stack.state, "exposed.key")
    with open(stack.master_key) as f:
        text = f.read()
    with open(exposed, "w") as f:
        f.write(text)
    for mode in (0o644, 0o604, 0o602):
        os.chmod(exposed, mode)
        code, err = run_service(stack, {"GOFANNON_MASTER_KEY_FILE": exposed})
        assert code == 1, "started with a master key file of mode %o: %s" % (mode, err)
        assert exposed in err and "chmod 600" in err and "%04o" % mode in err, err
        assert "keygen" not in err, "a new key would not help: %s" % err
        assert text.split(":", 1)[1].strip()[:12] not in err


def test_a_reload_refuses_a_master_key_file_others_can_read_and_keeps_the_keys(stack):
    user = "perm-%s" % uuid.uuid4().hex[:8]
    key = "sk-perm-" + uuid.uuid4().hex
    stack.remember_keys(key)
    put = stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key})
    assert put.status == 200 and put.json["openaiApiKey"] == "sk-..." + key[-4:], put
    # another key in a file anyone can read: if the reload took it, the stored value would no longer open
    other = os.path.join(stack.state, "other.key")
    subprocess.run([stack.binary, "keygen", other], check=True, capture_output=True)
    with open(stack.master_key) as f:
        good = f.read()
    try:
        with open(other) as src, open(stack.master_key, "w") as dst:
            dst.write(src.read())
        os.chmod(stack.master_key, 0o644)
        stack.service.send_signal(signal.SIGHUP)
        wait_for_log(stack, "event=reload_failed")
        log = stack.service_log_text()
        failed = [line for line in log.splitlines() if "event=reload_failed" in line][-1]
        assert stack.master_key in failed and "chmod 600" in failed, failed
        got = stack.request("GET", API_KEYS, user=user)
        assert got.status == 200 and got.json["openaiApiKey"] == "sk-..." + key[-4:], got
        assert "stored_key_unreadable" not in stack.service_log_text()
    finally:
        with open(stack.master_key, "w") as f:
            f.write(good)
        os.chmod(stack.master_key, 0o600)


def test_a_group_readable_master_key_file_is_warned_about_at_start_and_reload(stack):
    os.chmod(stack.master_key, 0o640)
    try:
        stack.service_restart()
        wait_for_log(stack, "event=master_key_file_permissions")
        assert stack.health_status() == 200
        starts = stack.service_log_text().count("event=master_key_file_permissions")
        stack.service.send_signal(signal.SIGHUP)
        wait_for_log(stack, "event=reloaded")
        deadline = time.monotonic() + 5
        while stack.service_log_text().count("event=master_key_file_permissions") == starts:
            assert time.monotonic() < deadline, "no warning on reload"
            time.sleep(0.05)
        line = [x for x in stack.service_log_text().splitlines() if "master_key_file_permissions" in x][-1]
        assert "level=warn" in line and stack.master_key in line and "mode=0640" in line, line
    finally:
        os.chmod(stack.master_key, 0o600)
