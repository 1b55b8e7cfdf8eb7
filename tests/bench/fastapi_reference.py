"""fastapi_reference: the read endpoints of gofannon-keys in Gofannon's own stack.

  GOFANNON_MASTER_KEY_FILE=... GOFANNON_REDIS_URL=... GOFANNON_ENV_FILE=... \
  GOFANNON_REGISTRY=src/providers.json \
  uvicorn --app-dir tests/bench fastapi_reference:app --loop uvloop --http httptools ...

What scripts/bench measures the service against: FastAPI served by uvicorn
with uvloop and httptools, behind the same nginx (proxy_pass), reading the
same Redis hash with redis.asyncio and answering the same JSON:

  GET /api/users/me/api-keys                      {"openaiApiKey": "sk-...wxyz" | null, ...}
  GET /api/users/me/api-keys/{provider}/effective {"provider", "hasKey", "has_key", "source"[, "error"]}
  GET /api/providers                              {"providers": [...]}

Stored values are opened as the service opens them (XChaCha20-Poly1305 via
PyNaCl, the same associated data) and masked the same way, so the work per
request is the same: one HMGET, one decryption per stored key, one JSON
reply. The identity comes from the X-Gofannon-User header nginx sets from
its own $gofannon_user. A benchmark aid, not a second implementation: no
writes, no LLM calls, no Origin checks.
"""

import base64
import calendar
import json
import os
import time

import nacl.bindings
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

UPDATED_SUFFIX = ":updatedAt"
# the marks beside a key, read by the same HMGET (docs/api.md "Storage")
MARKS = (UPDATED_SUFFIX, ":expiresAt", ":lastUsedAt", ":rejectedAt", ":expiredAt")
SOON_S = 7 * 86400
PREFIX = os.environ.get("GOFANNON_REDIS_PREFIX") or "gofannon"
NONCE_BYTES = 24
TAG_BYTES = 16
HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def load_keyring(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                kid, b64 = line.split(":", 1)
                keys[kid] = base64.b64decode(b64)
    return keys


def load_env_keys(path, names):
    values = {n: os.environ.get(n) or None for n in names}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                if line.startswith("export "):
                    line = line[7:].strip()
                name, value = line.split("=", 1)
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                if name.strip() in values:
                    values[name.strip()] = value or None
    return values


with open(os.environ["GOFANNON_REGISTRY"]) as _f:
    PROVIDERS = json.load(_f)["providers"]
BY_ID = {p["id"]: p for p in PROVIDERS}
# Monthly allowances on system keys (docs/api.md) are not modelled: the
# bench's registry has none, so every provider's systemKey and reason are
# null, as the service answers then.
def _allowance_variable(provider_id):
    return "".join(c.upper() if c.isalnum() else "_" for c in provider_id) + "_SYSTEM_KEY_MONTHLY_TOKENS"


if any(p.get("systemKeyMonthlyTokens") or os.environ.get(_allowance_variable(p["id"])) for p in PROVIDERS):
    raise SystemExit("fastapi_reference: allowances (systemKeyMonthlyTokens) are not modelled")
KEYRING = load_keyring(os.environ["GOFANNON_MASTER_KEY_FILE"])
ENV_KEYS = load_env_keys(os.environ.get("GOFANNON_ENV_FILE"), [p["envVar"] for p in PROVIDERS])
FIELDS = []
for _p in PROVIDERS:
    if _p.get("userKeyField"):
        FIELDS += [_p["userKeyField"]] + [_p["userKeyField"] + m for m in MARKS]

app = FastAPI()
store = aioredis.from_url(os.environ["GOFANNON_REDIS_URL"], decode_responses=False)


def open_value(user, provider_id, sealed):
    """The plaintext key, or (None, why) as the service's open_value()."""
    try:
        version, kid, b64 = sealed.decode().split(".", 2)
    except (UnicodeDecodeError, ValueError):
        return None, "The stored key is damaged; save it again"
    if version != "v1":
        return None, "The stored key is damaged; save it again"
    key = KEYRING.get(kid)
    if key is None:
        return None, "The stored key was sealed with a master key this server does not have"
    try:
        box = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    except ValueError:
        return None, "The stored key is damaged; save it again"
    if len(box) < NONCE_BYTES + TAG_BYTES:
        return None, "The stored key is damaged; save it again"
    ad = b"gofannon-keys/v1\0" + kid.encode() + b"\0" + provider_id.encode() + b"\0" + user.encode()
    try:
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(box[NONCE_BYTES:], ad,
                                                                         box[:NONCE_BYTES], key)
    except Exception:  # nacl.exceptions.CryptoError
        return None, "The stored key cannot be decrypted; save it again"
    return plain.decode(), None


def mask(key):
    return "****" if len(key) < 8 else key[:3] + "..." + key[-4:]


async def fetch(user):
    values = await store.hmget("%s:users:{%s}:apiKeys" % (PREFIX, user), FIELDS)
    stored, i = {}, 0
    for p in PROVIDERS:
        if p.get("userKeyField"):
            stored[p["id"]] = tuple(v.decode() if v is not None and n else v
                                    for n, v in enumerate(values[i:i + 1 + len(MARKS)]))
            i += 1 + len(MARKS)
    return stored


def effective(user, p, stored):
    """(source, key, error) as the service's resolve_effective_key()."""
    sealed = stored.get(p["id"], (None,))[0] if p.get("userKeyField") else None
    if sealed is not None:
        key, error = open_value(user, p["id"], sealed)
        return "user", key, error
    env = ENV_KEYS.get(p["envVar"])
    return ("env", env, None) if env else (None, None, None)


def iso_seconds(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def reply(obj, status=200):
    return JSONResponse(obj, status_code=status, headers=HEADERS)


def user_of(request):
    user = request.headers.get("x-gofannon-user")
    if not user:
        return None, reply({"detail": "Not authenticated"}, 401)
    return user, None


@app.get("/api/users/me/api-keys")
async def get_keys(request: Request):
    user, refused = user_of(request)
    if refused:
        return refused
    stored = await fetch(user)
    out = {}
    for p in PROVIDERS:
        if p.get("userKeyField"):
            sealed = stored[p["id"]][0]
            key = open_value(user, p["id"], sealed)[0] if sealed is not None else None
            out[p["userKeyField"]] = mask(key) if key is not None else None
    return reply(out)


@app.get("/api/users/me/api-keys/{provider}/effective")
async def get_effective(provider: str, request: Request):
    user, refused = user_of(request)
    if refused:
        return refused
    p = BY_ID.get(provider)
    if p is None:
        return reply({"detail": "Unknown provider: %s" % provider}, 400)
    source, key, error = effective(user, p, await fetch(user))
    out = {"provider": p["id"], "hasKey": key is not None, "has_key": key is not None, "source": source}
    if error:
        out["error"] = error
    return reply(out)


@app.get("/api/providers")
async def get_providers(request: Request):
    user, refused = user_of(request)
    if refused:
        return refused
    stored = await fetch(user)
    out = []
    for p in PROVIDERS:
        source, key, error = effective(user, p, stored)
        user_key = None
        if p.get("userKeyField"):
            sealed, updated, expires, used, rejected, expired = stored[p["id"]]
            here = sealed is not None
            user_key = {"configured": here,
                        "masked": mask(key) if source == "user" and key is not None else None,
                        "updatedAt": updated, "expiresAt": expires if here else None,
                        "expiresSoon": bool(here and expires and 0 < iso_seconds(expires) - time.time() <= SOON_S),
                        "expired": not here and expired is not None,
                        "expiredAt": expired if not here else None, "lastUsedAt": used if here else None,
                        "rejected": here and rejected is not None, "rejectedAt": rejected if here else None}
            if error:
                user_key["error"] = error
        out.append({"id": p["id"], "name": p["name"], "description": p["description"], "envVar": p["envVar"],
                    "userKeys": bool(p.get("userKeyField")), "userKeyField": p.get("userKeyField"),
                    "userKey": user_key,
                    "envKey": ENV_KEYS.get(p["envVar"]) is not None, "available": key is not None,
                    "source": source, "verifyBilled": p.get("verify") == "chat",
                    "systemKey": None, "reason": None})
    return reply({"providers": out})
