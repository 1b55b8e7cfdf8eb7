"""The key API through nginx, spawn-fcgi and Redis: every rule of docs/api.md."""

import json
import time
import uuid

API_KEYS = "/api/users/me/api-keys"
FIELDS = ["openaiApiKey", "anthropicApiKey", "geminiApiKey", "perplexityApiKey", "openrouterApiKey"]


def new_user(prefix="user"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def new_key(prefix="sk-proj-", length=40):
    body = uuid.uuid4().hex + uuid.uuid4().hex
    return (prefix + body)[:length]


def expect(resp, status, detail=None):
    assert resp.status == status, "expected %d, got %r" % (status, resp)
    if status >= 400:
        assert isinstance(resp.json, dict) and list(resp.json) == ["detail"], "error body %r" % resp.raw
        assert isinstance(resp.json["detail"], str) and resp.json["detail"], resp.raw
        if detail is not None:
            assert resp.json["detail"] == detail, "detail %r, expected %r" % (resp.json["detail"], detail)
    return resp.json


def expect_detail_mentions(resp, status, *words):
    body = expect(resp, status)
    for word in words:
        assert word.lower() in body["detail"].lower(), "%r does not mention %r" % (body["detail"], word)
    return body


def put_key(stack, user, provider, key, field="apiKey", **kw):
    resp = stack.request("PUT", API_KEYS, user=user, body={"provider": provider, field: key}, **kw)
    stack.remember_keys(key)
    return resp


def stored_hash(stack, user):
    flat = stack.redis_cli("HGETALL", "gofannon:users:{%s}:apiKeys" % user) or []
    return dict(zip(flat[0::2], flat[1::2]))


# --- reading and writing keys ---------------------------------------------

def test_new_user_has_no_keys_and_every_provider_in_registry_order(stack):
    body = expect(stack.request("GET", API_KEYS, user=new_user()), 200)
    assert list(body) == FIELDS, list(body)
    assert all(v is None for v in body.values()), body


def test_put_returns_the_masked_keys_and_get_agrees(stack):
    user = new_user()
    key = "sk-proj-abcdef1234wxyz"
    body = expect(put_key(stack, user, "openai", key), 200)
    assert body["openaiApiKey"] == "sk-...wxyz", body
    assert list(body) == FIELDS
    assert key not in json.dumps(body)
    assert expect(stack.request("GET", API_KEYS, user=user), 200) == body


def test_mask_at_eleven_and_twelve_characters(stack):
    user = new_user()
    assert expect(put_key(stack, user, "anthropic", "abcdefghijk"), 200)["anthropicApiKey"] == "****"
    assert expect(put_key(stack, user, "anthropic", "abcdefgh1234"), 200)["anthropicApiKey"] == "abc...1234"


def test_surrounding_whitespace_is_trimmed(stack):
    user = new_user()
    key = new_key("sk-trim-")
    body = expect(put_key(stack, user, "openai", "  \t%s \n" % key), 200)
    assert body["openaiApiKey"] == key[:3] + "..." + key[-4:], body
    eff = expect(stack.request("GET", API_KEYS + "/openai/effective", user=user), 200)
    assert eff == {"provider": "openai", "hasKey": True, "has_key": True, "source": "user"}, eff


def test_api_key_synonym_from_gofannons_front_end(stack):
    user = new_user()
    key = new_key("pplx-")
    body = expect(put_key(stack, user, "perplexity", key, field="api_key"), 200)
    assert body["perplexityApiKey"] == "ppl..." + key[-4:], body


def test_replace_keeps_one_value_per_provider(stack):
    user = new_user()
    expect(put_key(stack, user, "openai", new_key("sk-first-")), 200)
    second = new_key("sk-second-")
    body = expect(put_key(stack, user, "openai", second), 200)
    assert body["openaiApiKey"] == "sk-..." + second[-4:]
    assert sorted(stored_hash(stack, user)) == ["openaiApiKey", "openaiApiKey:updatedAt"]


def test_delete_is_idempotent(stack):
    user = new_user()
    expect(put_key(stack, user, "gemini", new_key("AIza")), 200)
    first = expect(stack.request("DELETE", API_KEYS + "/gemini", user=user), 200)
    assert first["geminiApiKey"] is None and list(first) == FIELDS, first
    second = expect(stack.request("DELETE", API_KEYS + "/gemini", user=user), 200)
    assert second == first
    assert stored_hash(stack, user) == {}


def test_delete_leaves_other_providers_alone(stack):
    user = new_user()
    keep = new_key("sk-ant-")
    expect(put_key(stack, user, "anthropic", keep), 200)
    expect(put_key(stack, user, "openai", new_key()), 200)
    body = expect(stack.request("DELETE", API_KEYS + "/openai", user=user), 200)
    assert body["openaiApiKey"] is None and body["anthropicApiKey"] == "sk-..." + keep[-4:], body


def test_longest_key_is_accepted_and_one_more_is_not(stack):
    user = new_user()
    key = "k" * 4096
    expect(put_key(stack, user, "openrouter", key), 200)
    expect_detail_mentions(put_key(stack, user, "openrouter", key + "k"), 422, "4096")


def test_me_and_health(stack):
    user = new_user("Zoë")
    assert expect(stack.request("GET", "/api/users/me", user=user), 200) == {"id": user}
    assert expect(stack.request("GET", "/api/health"), 200) == {"status": "ok"}


def test_every_api_response_carries_the_json_and_caching_headers(stack):
    user = new_user()
    for method, path, body in [("GET", API_KEYS, None), ("GET", "/api/providers", None),
                               ("GET", "/api/nope", None), ("PUT", API_KEYS, {"provider": "x"}),
                               ("GET", "/api/health", None), ("DELETE", API_KEYS + "/nope", None)]:
        resp = stack.request(method, path, user=user, body=body)
        assert resp.header("Content-Type") == "application/json", (path, resp.headers)
        assert resp.header("Cache-Control") == "no-store", (path, resp.headers)
        assert resp.header("X-Content-Type-Options") == "nosniff", (path, resp.headers)
        assert resp.json is not None, (path, resp.raw)


def test_gofannon_unprefixed_paths_reach_the_same_keys(stack):
    user = new_user()
    key = new_key("sk-gof-")
    resp = stack.request("PUT", "/users/me/api-keys", user=user, body={"provider": "openai", "api_key": key})
    stack.remember_keys(key)
    assert expect(resp, 200)["openaiApiKey"] == "sk-..." + key[-4:]
    eff = expect(stack.request("GET", "/users/me/api-keys/openai/effective", user=user), 200)
    assert eff["source"] == "user"
    assert expect(stack.request("DELETE", "/users/me/api-keys/openai", user=user), 200)["openaiApiKey"] is None


# --- errors, in the order of docs/api.md -----------------------------------

def test_unknown_path_is_404(stack):
    expect(stack.request("GET", "/api/users/me/api-keys/", user=new_user()), 404, "Not found")
    expect(stack.request("GET", "/api/whatever", user=new_user()), 404, "Not found")
    expect(stack.request("GET", API_KEYS + "/openai/effective/more", user=new_user()), 404)


def test_wrong_method_is_405_with_allow(stack):
    resp = stack.request("POST", API_KEYS, user=new_user(), body={})
    expect(resp, 405, "Method not allowed")
    assert resp.header("Allow") == "GET, PUT", resp.headers
    resp = stack.request("GET", API_KEYS + "/openai", user=new_user())
    expect(resp, 405)
    assert resp.header("Allow") == "DELETE"


def test_404_and_405_come_before_identity(stack):
    expect(stack.request("GET", "/api/nothing-here"), 404)
    expect(stack.request("PATCH", API_KEYS), 405)


def test_missing_identity_is_401(stack):
    expect(stack.request("GET", API_KEYS), 401, "Not authenticated")
    expect(stack.request("GET", API_KEYS, headers={"X-Test-User": ""}), 401, "Not authenticated")
    expect(stack.request("GET", "/api/providers"), 401, "Not authenticated")


def test_identity_is_never_read_from_a_client_header(stack):
    for header in ("Remote-User", "X-Remote-User", "X-Forwarded-User", "X-User"):
        expect(stack.request("GET", "/api/users/me", headers={header: "mallory"}), 401)


def test_bad_identity_is_400(stack):
    expect_detail_mentions(stack.request("GET", "/api/users/me", user="u" * 257), 400, "256")
    assert expect(stack.request("GET", "/api/users/me", user="u" * 256), 200)["id"] == "u" * 256
    expect_detail_mentions(stack.request("GET", "/api/users/me", headers={"X-Test-User": b"caf\xe9".decode("latin-1")}),
                           400, "UTF-8")
    expect_detail_mentions(stack.request("GET", "/api/users/me", user="bad\x01user"), 400, "control")


def test_cross_origin_writes_are_403(stack):
    user = new_user()
    body = {"provider": "openai", "apiKey": new_key()}
    stack.remember_keys(body["apiKey"])
    expect(stack.request("PUT", API_KEYS, user=user, body=body, headers={"Origin": "https://evil.example"}),
           403, "Origin not allowed")
    expect(stack.request("DELETE", API_KEYS + "/openai", user=user, headers={"Origin": "null"}), 403)
    assert stored_hash(stack, user) == {}
    same = "http://127.0.0.1:%d" % stack.port
    expect(stack.request("PUT", API_KEYS, user=user, body=body, headers={"Origin": same}), 200)
    # reads are not state-changing: any Origin may read its own user's masks
    expect(stack.request("GET", API_KEYS, user=user, headers={"Origin": "https://evil.example"}), 200)


def test_body_over_64_kib_is_413_before_reading(stack):
    user = new_user()
    big = json.dumps({"provider": "openai", "apiKey": "k" * (64 * 1024)}).encode()
    expect_detail_mentions(stack.request("PUT", API_KEYS, user=user, raw_body=big,
                                         headers={"Content-Type": "application/json"}), 413, "64 KiB")
    # the size decides before the content type is even looked at
    expect(stack.request("PUT", API_KEYS, user=user, raw_body=big, headers={"Content-Type": "text/plain"}), 413)


def test_wrong_content_type_is_415(stack):
    user = new_user()
    raw = json.dumps({"provider": "openai", "apiKey": new_key()}).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": ctype} if ctype else {}
        expect(stack.request("PUT", API_KEYS, user=user, raw_body=raw, headers=headers), 415,
               "Content-Type must be application/json")
    resp = stack.request("PUT", API_KEYS, user=user, raw_body=raw,
                         headers={"Content-Type": "Application/JSON; charset=utf-8"})
    expect(resp, 200)
    stack.remember_keys(json.loads(raw)["apiKey"])


def test_malformed_bodies_are_422_naming_the_field(stack):
    user = new_user()
    cases = [
        (b"{not json", "Request body must be valid JSON"),
        (b"", "Request body must be valid JSON"),
        (b'["openai"]', "Request body must be a JSON object"),
        (b'"openai"', "Request body must be a JSON object"),
        (b'{"apiKey": "sk-abcdefghijklmnop"}', "Field 'provider' is required"),
        (b'{"provider": 7, "apiKey": "sk-abcdefghijklmnop"}', "Field 'provider' must be a string"),
        (b'{"provider": "openai"}', "Field 'apiKey' is required"),
        (b'{"provider": "openai", "apiKey": null}', "Field 'apiKey' is required"),
        (b'{"provider": "openai", "apiKey": ["x"]}', "Field 'apiKey' must be a string"),
        (b'{"provider": "openai", "api_key": 42}', "Field 'api_key' must be a string"),
        (b'{"provider": "openai", "apiKey": "sk-abc"} trailing', "Request body must be valid JSON"),
        (b'{"provider": "openai\\u0000junk", "apiKey": "sk-abcdefghijklmnop"}',
         "Field 'provider' must not contain NUL characters"),
        (b'{"provider": "openai", "apiKey": "sk-abcdef\\u0000ghijklmnop"}',
         "Field 'apiKey' must not contain NUL characters"),
    ]
    for raw, detail in cases:
        resp = stack.request("PUT", API_KEYS, user=user, raw_body=raw, headers={"Content-Type": "application/json"})
        expect(resp, 422, detail)
    assert stored_hash(stack, user) == {}


def test_unknown_provider_is_400_in_body_and_path(stack):
    user = new_user()
    expect(put_key(stack, user, "mistral", new_key()), 400, "Unknown provider: mistral")
    expect(put_key(stack, user, "OpenAI", new_key()), 400, "Unknown provider: OpenAI")
    expect(stack.request("DELETE", API_KEYS + "/mistral", user=user), 400, "Unknown provider: mistral")
    # a path segment that is not shaped like an id never reaches the service:
    # nginx refuses it without an echo (test_site.py)
    expect(stack.request("GET", API_KEYS + "/Gemini/effective", user=user), 400, "Unknown provider")


def test_a_key_pasted_into_the_path_is_not_echoed_whole(stack):
    user = new_user()
    key = new_key("sk-proj-", 60)
    stack.remember_keys(key)
    body = expect(stack.request("GET", API_KEYS + "/%s/effective" % key, user=user), 400)
    assert body == {"detail": "Unknown provider"}, body  # nginx's refusal (test_site.py)


def test_bad_key_values_are_422_and_nothing_is_stored(stack):
    user = new_user()
    cases = [
        ("", "empty"),
        ("   \t ", "empty"),
        ("sk-abc def1234567", "printable ASCII"),
        ("sk-abc\tdef1234567", "printable ASCII"),
        ("sk-abc\x07def1234567", "printable ASCII"),
        ("sk-\u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022wxyz", "printable ASCII"),
        ("sk-abcdé1234567", "printable ASCII"),
        ("sk-...wxyz", "masked"),
        ("sk-proj-abcd...wxyz1234", "masked"),
    ]
    for value, word in cases:
        expect_detail_mentions(put_key(stack, user, "openai", value), 422, word)
    assert stored_hash(stack, user) == {}


def test_unknown_provider_is_checked_after_the_fields(stack):
    user = new_user()
    resp = stack.request("PUT", API_KEYS, user=user, raw_body=b'{"provider": "nope"}',
                         headers={"Content-Type": "application/json"})
    expect(resp, 422, "Field 'apiKey' is required")
    expect(put_key(stack, user, "nope", "sk bad value"), 400, "Unknown provider: nope")


# --- resolution and availability -------------------------------------------

def test_effective_source_user_env_and_none(stack):
    user = new_user()
    eff = lambda p: expect(stack.request("GET", API_KEYS + "/%s/effective" % p, user=user), 200)
    # has_key is Gofannon's spelling of hasKey, always beside it
    assert eff("openai") == {"provider": "openai", "hasKey": False, "has_key": False, "source": None}
    assert eff("gemini") == {"provider": "gemini", "hasKey": True, "has_key": True, "source": "env"}
    # OPENROUTER_API_KEY is set to the empty string: counts as unset
    assert eff("openrouter") == {"provider": "openrouter", "hasKey": False, "has_key": False, "source": None}
    expect(put_key(stack, user, "gemini", new_key("AIza-user-")), 200)
    assert eff("gemini") == {"provider": "gemini", "hasKey": True, "has_key": True, "source": "user"}
    expect(stack.request("DELETE", API_KEYS + "/gemini", user=user), 200)
    assert eff("gemini")["source"] == "env"


def test_providers_lists_every_registry_entry_with_its_status(stack):
    user = new_user()
    key = new_key("sk-ant-api03-")
    expect(put_key(stack, user, "anthropic", key), 200)
    providers = expect(stack.request("GET", "/api/providers", user=user), 200)["providers"]
    assert [p["id"] for p in providers] == ["openai", "anthropic", "gemini", "perplexity", "openrouter"]
    by_id = {p["id"]: p for p in providers}
    anthropic = by_id["anthropic"]
    assert anthropic["name"] == "Anthropic" and anthropic["envVar"] == "ANTHROPIC_API_KEY"
    assert anthropic["userKeys"] is True and anthropic["userKey"]["configured"] is True
    # the member of PUT bodies' answers and GET .../api-keys that holds each mask
    masks = expect(stack.request("GET", API_KEYS, user=user), 200)
    assert [p["userKeyField"] for p in providers] == list(masks)
    assert masks[anthropic["userKeyField"]] == anthropic["userKey"]["masked"]
    assert anthropic["userKey"]["masked"] == "sk-..." + key[-4:]
    assert time.strptime(anthropic["userKey"]["updatedAt"], "%Y-%m-%dT%H:%M:%SZ")
    assert anthropic["available"] is True and anthropic["source"] == "user" and anthropic["envKey"] is False
    gemini = by_id["gemini"]
    assert gemini["userKey"] == {"configured": False, "masked": None, "updatedAt": None, "expiresAt": None,
                                 "expiresSoon": False, "expired": False, "expiredAt": None, "lastUsedAt": None,
                                 "rejected": False, "rejectedAt": None}
    assert gemini["envKey"] is True and gemini["available"] is True and gemini["source"] == "env"
    openrouter = by_id["openrouter"]
    assert openrouter["envKey"] is False and openrouter["available"] is False and openrouter["source"] is None
    for p in providers:
        assert p["description"], p
        assert p["verifyBilled"] is (p["id"] == "perplexity"), p
        assert p["systemKey"] is None and p["reason"] is None, p  # the built-in registry sets no allowance
    assert key not in json.dumps(providers)


def test_two_users_never_see_each_other(stack):
    alice, bob = new_user("alice"), new_user("bob")
    key = new_key("sk-alice-")
    expect(put_key(stack, alice, "openai", key), 200)
    assert expect(stack.request("GET", API_KEYS, user=bob), 200)["openaiApiKey"] is None
    assert expect(stack.request("GET", API_KEYS + "/openai/effective", user=bob), 200)["source"] is None
    bob_providers = expect(stack.request("GET", "/api/providers", user=bob), 200)["providers"]
    assert bob_providers[0]["userKey"]["configured"] is False
    expect(stack.request("DELETE", API_KEYS + "/openai", user=bob), 200)
    assert expect(stack.request("GET", API_KEYS, user=alice), 200)["openaiApiKey"] == "sk-..." + key[-4:]


# --- what Redis holds ------------------------------------------------------

def test_redis_holds_no_plaintext_and_every_write_seals_differently(stack):
    user = new_user()
    key = new_key("sk-plain-", 48)
    expect(put_key(stack, user, "openai", key), 200)
    first = stored_hash(stack, user)
    expect(put_key(stack, user, "openai", key), 200)
    second = stored_hash(stack, user)
    for stored in (first, second):
        sealed = stored["openaiApiKey"]
        assert sealed.startswith("v1.") and len(sealed.split(".")) == 3, sealed
        for chunk in (key, key[-12:], key[3:15]):
            assert chunk not in json.dumps(stored), "plaintext in Redis"
    assert first["openaiApiKey"] != second["openaiApiKey"], "same key sealed the same way twice"
    dump = stack.redis_cli("DUMP", "gofannon:users:{%s}:apiKeys" % user)
    assert key not in (dump or "")


def test_a_value_copied_to_another_user_does_not_open_and_is_reported(stack):
    alice, mallory = new_user("alice"), new_user("mallory")
    expect(put_key(stack, alice, "openai", new_key("sk-copied-")), 200)
    sealed = stored_hash(stack, alice)["openaiApiKey"]
    stack.redis_cli("HSET", "gofannon:users:{%s}:apiKeys" % mallory, "openaiApiKey", sealed)
    eff = expect(stack.request("GET", API_KEYS + "/openai/effective", user=mallory), 200)
    assert eff["hasKey"] is False and eff["source"] == "user" and "decrypt" in eff["error"], eff
    providers = expect(stack.request("GET", "/api/providers", user=mallory), 200)["providers"]
    status = providers[0]
    assert status["userKey"]["configured"] is True and status["userKey"]["masked"] is None
    assert status["userKey"]["error"] and status["available"] is False and status["source"] == "user"
    assert expect(stack.request("GET", API_KEYS, user=mallory), 200)["openaiApiKey"] is None


def test_a_value_moved_to_another_provider_does_not_open(stack):
    user = new_user()
    expect(put_key(stack, user, "anthropic", new_key("sk-ant-")), 200)
    sealed = stored_hash(stack, user)["anthropicApiKey"]
    stack.redis_cli("HSET", "gofannon:users:{%s}:apiKeys" % user, "openaiApiKey", sealed)
    eff = expect(stack.request("GET", API_KEYS + "/openai/effective", user=user), 200)
    assert eff["hasKey"] is False and eff["source"] == "user" and eff["error"], eff


def test_an_unreadable_user_key_is_not_replaced_by_the_system_key(stack):
    user = new_user()
    expect(put_key(stack, user, "gemini", new_key("AIza-")), 200)
    sealed = stored_hash(stack, user)["geminiApiKey"]
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    stack.redis_cli("HSET", "gofannon:users:{%s}:apiKeys" % user, "geminiApiKey", flipped)
    eff = expect(stack.request("GET", API_KEYS + "/gemini/effective", user=user), 200)
    assert eff["hasKey"] is False and eff["source"] == "user" and eff["error"], eff
    gemini = expect(stack.request("GET", "/api/providers", user=user), 200)["providers"][2]
    assert gemini["envKey"] is True and gemini["available"] is False and gemini["source"] == "user", gemini
    # removing the broken key brings the system key back
    expect(stack.request("DELETE", API_KEYS + "/gemini", user=user), 200)
    assert expect(stack.request("GET", API_KEYS + "/gemini/effective", user=user), 200)["source"] == "env"


def test_garbage_in_the_hash_is_reported_not_crashed_on(stack):
    user = new_user()
    for junk in ("plaintext-key-1234567890", "v1.", "v1.nokid", "v1.unknownkid.AAAA", "v2.x.y", ""):
        stack.redis_cli("HSET", "gofannon:users:{%s}:apiKeys" % user, "openaiApiKey", junk)
        eff = expect(stack.request("GET", API_KEYS + "/openai/effective", user=user), 200)
        assert eff["hasKey"] is False and eff["source"] == "user" and eff["error"], (junk, eff)
        body = expect(stack.request("GET", API_KEYS, user=user), 200)
        assert body["openaiApiKey"] is None, body
    assert "plaintext-key" not in stack.service_log_text()


def test_every_reply_arrives_whole_whatever_was_left_unread(stack):
    """Requests read whole end with a plain close; a body over the limit is
    answered 413 unread and its connection closed with the lingering close,
    which reads the rest: nginx never sees a reset before the reply (it
    would answer 502). Interleaved, so that either close follows the other."""
    user = new_user()
    key = "sk-close-" + "0123456789abcdef" * 2
    stack.remember_keys(key)
    expect(stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}), 200)
    for size in (70 * 1024, 300 * 1024, 900 * 1024) * 3:
        big = json.dumps({"provider": "openai", "apiKey": "k" * size}).encode()
        expect_detail_mentions(stack.request("PUT", API_KEYS, user=user, raw_body=big,
                                             headers={"Content-Type": "application/json"}), 413, "64 KiB")
        body = expect(stack.request("GET", API_KEYS, user=user), 200)
        assert body["openaiApiKey"] == "sk-...cdef", body
        expect(stack.request("PUT", API_KEYS, user=user, body={"provider": "openai", "apiKey": key}), 200)
