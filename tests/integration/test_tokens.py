"""Bearer ID tokens (issue 8, item 2): the service verifies OIDC/Firebase
tokens itself when nginx sets no identity.

The stack runs the shipped site in token mode (scripts/nginx-conf
--token-identity: nginx sets no identity and passes Authorization through).
Every token here is signed by keys this module generates: RSA and P-256 in a
JWKS, and an RSA key behind a self-signed certificate in the {kid: PEM} JSON
Google publishes for Firebase. Every token is registered with
stack.remember_keys, so the leak search proves none reaches a log.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from load import children  # noqa: E402
from stack import Stack  # noqa: E402

ISSUER = "https://securetoken.google.com/gofannon-test"
AUDIENCE = "gofannon-test"
ME = "/api/users/me"
API_KEYS = "/api/users/me/api-keys"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # the forger's
EC_KEY = ec.generate_private_key(ec.SECP256R1())
FIREBASE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(int_bytes(pub.n)),
            "e": b64url(int_bytes(pub.e))}


def ec_jwk(key, kid):
    pub = key.public_key().public_numbers()
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64url(pub.x.to_bytes(32, "big")),
            "y": b64url(pub.y.to_bytes(32, "big"))}


def jwks(*keys):
    return json.dumps({"keys": list(keys)})


def self_signed_pem(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


GOOD_KEYS = jwks(rsa_jwk(RSA_KEY, "rsa-1"), ec_jwk(EC_KEY, "ec-1"))
FIREBASE_KEYS = json.dumps({"fb-1": self_signed_pem(FIREBASE_KEY)})

STACK_OPTIONS = {"identity": "token", "jwt": {"issuer": ISSUER, "audience": AUDIENCE, "keys": GOOD_KEYS}}


def new_user():
    return "uid-" + uuid.uuid4().hex[:12]


def claims(user, **over):
    now = int(time.time())
    c = {"iss": ISSUER, "aud": AUDIENCE, "sub": user, "iat": now - 10, "exp": now + 3600,
         "auth_time": now - 10, "user_id": user}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(signing_input, key, alg):
    if alg == "RS256":
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "HS256":
        return hmac.new(key, signing_input, hashlib.sha256).digest()
    return b""


def token(stack, payload, key=RSA_KEY, alg="RS256", kid="rsa-1", header=None, raw_header=None,
          raw_payload=None):
    """A compact JWS; raw_header/raw_payload (bytes) are used as they are."""
    hdr = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        hdr["kid"] = kid
    hdr.update(header or {})
    h = b64url(raw_header if raw_header is not None else json.dumps(hdr).encode())
    p = b64url(raw_payload if raw_payload is not None else json.dumps(payload).encode())
    signing_input = ("%s.%s" % (h, p)).encode()
    t = "%s.%s.%s" % (h, p, b64url(sign(signing_input, key, alg)))
    stack.remember_keys(t)
    return t


def call(stack, tok, method="GET", path=ME, body=None, headers=None):
    hdrs = dict(headers or {})
    if tok is not None:
        hdrs["Authorization"] = "Bearer " + tok
    return stack.request(method, path, body=body, headers=hdrs)


def refused(stack, resp, reason, challenge='Bearer error="invalid_token"'):
    assert resp.status == 401, resp
    assert resp.json == {"detail": "Not authenticated"}, resp
    assert resp.header("WWW-Authenticate") == challenge, resp.headers
    wait_for_log(stack, "event=token_refused reason=%s" % reason)


def wait_for_log(stack, text, timeout=3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in stack.service_log_text():
            return
        time.sleep(0.05)
    raise AssertionError("no %r in the service log" % text)


def accepted(resp, user):
    assert resp.status == 200, resp
    assert resp.json == {"id": user}, resp


# --- the good tokens ---------------------------------------------------------

def test_rs256_from_a_jwks_names_the_user_and_reaches_their_keys(stack):
    user = new_user()
    tok = token(stack, claims(user))
    accepted(call(stack, tok), user)
    key = "sk-token-" + uuid.uuid4().hex
    stack.remember_keys(key)
    resp = call(stack, tok, "PUT", API_KEYS, {"provider": "openai", "apiKey": key})
    assert resp.status == 200 and resp.json["openaiApiKey"] == "sk-..." + key[-4:], resp
    resp = call(stack, tok, "GET", API_KEYS)
    assert resp.status == 200 and resp.json["openaiApiKey"] == "sk-..." + key[-4:], resp
    other = token(stack, claims(new_user()))
    resp = call(stack, other, "GET", API_KEYS)
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp


def test_es256_from_a_jwks_is_accepted(stack):
    user = new_user()
    accepted(call(stack, token(stack, claims(user), key=EC_KEY, alg="ES256", kid="ec-1")), user)


def test_aud_may_be_an_array_holding_the_audience(stack):
    user = new_user()
    accepted(call(stack, token(stack, claims(user, aud=["other-app", AUDIENCE]))), user)
    refused(stack, call(stack, token(stack, claims(user, aud=["other-app"]))), "wrong_audience")


# --- what is refused -----------------------------------------------------------

def test_no_token_and_bearer_null_are_401_with_the_invalid_token_challenge(stack):
    refused(stack, call(stack, None), "missing", challenge='Bearer error="invalid_token"')
    refused(stack, call(stack, "null"), "missing", challenge='Bearer error="invalid_token"')
    refused(stack, stack.request("GET", ME, headers={"Authorization": "Basic dmljdGltOng="}), "missing",
            challenge='Bearer error="invalid_token"')
    # Health needs no identity, token or not.
    assert stack.request("GET", "/api/health").status == 200


def test_expired_token_is_refused(stack):
    now = int(time.time())
    refused(stack, call(stack, token(stack, claims(new_user(), iat=now - 7200, exp=now - 3600))), "expired")


def test_not_yet_valid_and_issued_in_the_future_are_refused(stack):
    now = int(time.time())
    refused(stack, call(stack, token(stack, claims(new_user(), nbf=now + 600))), "not_yet_valid")
    refused(stack, call(stack, token(stack, claims(new_user(), iat=now + 600, exp=now + 4200))),
            "issued_in_future")


def test_clock_skew_within_60_s_is_accepted_and_beyond_is_refused(stack):
    now = int(time.time())
    user = new_user()
    # The service's clock ahead of the issuer's: the token expired 30 s ago.
    accepted(call(stack, token(stack, claims(user, iat=now - 3600, exp=now - 30))), user)
    refused(stack, call(stack, token(stack, claims(user, iat=now - 3600, exp=now - 90))), "expired")
    # The service's clock behind: issued, and valid from, 30 s in the future.
    accepted(call(stack, token(stack, claims(user, iat=now + 30, nbf=now + 30))), user)
    refused(stack, call(stack, token(stack, claims(user, iat=now + 90))), "issued_in_future")
    refused(stack, call(stack, token(stack, claims(user, nbf=now + 90))), "not_yet_valid")


def test_wrong_audience_and_wrong_issuer_are_refused(stack):
    refused(stack, call(stack, token(stack, claims(new_user(), aud="another-project"))), "wrong_audience")
    refused(stack, call(stack, token(stack, claims(new_user(), iss="https://securetoken.google.com/evil"))),
            "wrong_issuer")


def test_forged_signature_with_the_same_kid_is_refused(stack):
    user = new_user()
    refused(stack, call(stack, token(stack, claims(user), key=OTHER_RSA_KEY)), "bad_signature")
    # A good token whose payload is swapped for another user's keeps its signature: refused.
    good = token(stack, claims(user)).split(".")
    swapped = "%s.%s.%s" % (good[0], b64url(json.dumps(claims("victim")).encode()), good[2])
    stack.remember_keys(swapped)
    refused(stack, call(stack, swapped), "bad_signature")


def test_alg_none_and_hs256_with_the_public_key_are_refused(stack):
    user = new_user()
    refused(stack, call(stack, token(stack, claims(user), alg="none")), "alg_not_allowed")
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    refused(stack, call(stack, token(stack, claims(user), key=pem, alg="HS256")), "alg_not_allowed")
    # An RS256 header on a P-256 key's kid: the key decides the algorithm.
    refused(stack, call(stack, token(stack, claims(user), key=RSA_KEY, alg="RS256", kid="ec-1")),
            "alg_does_not_match_key")


def test_unknown_kid_and_missing_kid_are_refused(stack):
    refused(stack, call(stack, token(stack, claims(new_user()), kid="rsa-unknown")), "unknown_kid")
    refused(stack, call(stack, token(stack, claims(new_user()), kid=None)), "kid_missing")


def sized_token(stack, user, size):
    """A good token of exactly size bytes: padding in the payload and the
    header tuned to fit (an unpadded base64url part is never 4k+1 long)."""
    sig_len = 342  # RS256 with a 2048-bit key
    for hpad in ("", "a", "aa", "aaa"):
        hdr = {"alg": "RS256", "typ": "JWT", "kid": "rsa-1", "pad": hpad}
        h = b64url(json.dumps(hdr).encode())
        for n in range(5000, 6500):
            c = claims(user, padding="x" * n)
            if len(h) + len(b64url(json.dumps(c).encode())) + 2 + sig_len == size:
                t = token(stack, c, header={"pad": hpad})
                assert len(t) == size
                return t
    raise AssertionError("no token of %d bytes" % size)


def test_malformed_tokens_are_refused(stack):
    user = new_user()
    good = token(stack, claims(user))
    h, p, s = good.split(".")
    # Through nginx (the site allows 16 KiB header lines): 8191 bytes is served, 8 KiB is not.
    accepted(call(stack, sized_token(stack, user, 8191)), user)
    refused(stack, call(stack, sized_token(stack, user, 8192)), "too_long")
    refused(stack, call(stack, token(stack, claims(user, padding="x" * 9000))), "too_long")
    for bad in (h + "." + p + "=." + s, h + "." + p + "." + s + "*", h + ".!" + p + "." + s):
        stack.remember_keys(bad)
        refused(stack, call(stack, bad), "bad_base64url")
    refused(stack, call(stack, h + "." + p), "not_three_parts")
    refused(stack, call(stack, token(stack, None, raw_header=b'["RS256"]')), "header_not_object")
    refused(stack, call(stack, token(stack, None, raw_header=b'{"alg":"RS256","kid":"rsa-1"')),
            "header_not_object")


def test_duplicate_claims_and_exp_not_a_number_are_refused(stack):
    now = int(time.time())
    victim, attacker = new_user(), new_user()
    doubled = ('{"iss":"%s","aud":"%s","sub":"%s","iat":%d,"exp":%d,"sub":"%s"}'
               % (ISSUER, AUDIENCE, attacker, now, now + 600, victim)).encode()
    refused(stack, call(stack, token(stack, None, raw_payload=doubled)), "duplicate_member")
    escaped = doubled.replace(b',"sub":"%s"}' % victim.encode(), b',"\\u0073ub":"%s"}' % victim.encode())
    refused(stack, call(stack, token(stack, None, raw_payload=escaped)), "duplicate_member")
    dup_alg = b'{"alg":"RS256","kid":"rsa-1","alg":"none"}'
    refused(stack, call(stack, token(stack, claims(attacker), raw_header=dup_alg)), "duplicate_member")
    refused(stack, call(stack, token(stack, claims(attacker, exp=str(now + 600)))), "exp_not_a_number")
    refused(stack, call(stack, token(stack, claims(attacker, exp=None))), "exp_missing")


def test_a_user_claim_that_is_no_valid_identity_is_400(stack):
    resp = call(stack, token(stack, claims("x" * 300)))
    assert resp.status == 400 and "256" in resp.json["detail"], resp
    refused(stack, call(stack, token(stack, claims(None))), "user_claim_missing")


# --- where the identity comes from -------------------------------------------

def test_nginx_identity_beats_the_token(stack):
    """A site where nginx does set REMOTE_USER (X-Test-User in the tests) and
    tokens are configured: the token never overrides nginx's identity."""
    other = Stack(build_dir=stack.build_dir, jwt=STACK_OPTIONS["jwt"]).start()
    try:
        token_user, nginx_user = new_user(), new_user()
        tok = token(other, claims(token_user))
        resp = other.request("GET", ME, user=nginx_user, headers={"Authorization": "Bearer " + tok})
        assert resp.status == 200 and resp.json == {"id": nginx_user}, resp
        # Without nginx's identity the same site takes the token.
        accepted(call(other, tok), token_user)
        # nginx's identity with a broken token is still nginx's user: the token is not looked at.
        resp = other.request("GET", ME, user=nginx_user, headers={"Authorization": "Bearer x.y.z"})
        assert resp.status == 200 and resp.json == {"id": nginx_user}, resp
    finally:
        other.stop()
    assert other.leaked_keys() == []


# --- the keys file -------------------------------------------------------------

def poll(fn, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_firebase_certificate_json_and_a_replaced_file_are_picked_up_without_sighup(stack):
    user = new_user()
    fb = token(stack, claims(user), key=FIREBASE_KEY, kid="fb-1")
    rsa_tok = token(stack, claims(user))
    master, pids = stack.service.pid, sorted(children(stack.service.pid))
    refused(stack, call(stack, fb), "unknown_kid")
    try:
        stack.write_jwt_keys(FIREBASE_KEYS)

        # Each worker looks at the file at most once a second, when it
        # serves a request: call until every worker has logged the reload
        # (a run of successes may all land on one worker).
        def every_worker_reloaded():
            call(stack, fb)
            return stack.service_log_text().count("event=token_keys_reloaded keys=1") >= len(pids)

        assert poll(every_worker_reloaded, 10), "new keys never read by every worker"
        accepted(call(stack, fb), user)
        refused(stack, call(stack, rsa_tok), "unknown_kid")
    finally:
        stack.write_jwt_keys(GOOD_KEYS)
        assert poll(lambda: all(call(stack, rsa_tok).status == 200 for _ in range(6)))
    # No SIGHUP and no restart: the same master and workers.
    assert stack.service.pid == master and sorted(children(master)) == pids


def test_a_broken_keys_file_keeps_the_last_good_keys_and_logs_reload_failed(stack):
    user = new_user()
    tok = token(stack, claims(user))
    before = stack.service_log_text().count("what=GOFANNON_JWT_KEYS_FILE")
    try:
        stack.write_jwt_keys('{"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "!!", "e": "AQAB"}]}')
        # Every answer while the broken file is in place still comes from the last good keys.
        assert poll(lambda: [call(stack, tok).status for _ in range(4)] == [200] * 4 and
                    stack.service_log_text().count("what=GOFANNON_JWT_KEYS_FILE") > before)
        log = stack.service_log_text()
        assert "event=reload_failed" in log and "'n' is missing or not base64url" in log, log[-2000:]
        accepted(call(stack, tok), user)
    finally:
        stack.write_jwt_keys(GOOD_KEYS)
    accepted(call(stack, tok), user)


def test_sighup_reloads_the_keys_file(stack):
    user = new_user()
    ec_tok = token(stack, claims(user), key=EC_KEY, alg="ES256", kid="ec-2")
    try:
        stack.write_jwt_keys(jwks(rsa_jwk(RSA_KEY, "rsa-1"), ec_jwk(EC_KEY, "ec-2")))
        stack.service.send_signal(signal.SIGHUP)
        assert poll(lambda: call(stack, ec_tok).status == 200), "SIGHUP did not load the new keys"
        wait_for_log(stack, "event=reloaded")
    finally:
        stack.write_jwt_keys(GOOD_KEYS)
    # The master may have read the file just before it was put back: its new
    # workers then see the change at their next look, within a second or two.
    ec1_tok = token(stack, claims(user), key=EC_KEY, alg="ES256", kid="ec-1")
    assert poll(lambda: all(call(stack, ec1_tok).status == 200 for _ in range(6))), "good keys never back"


def test_start_is_refused_for_a_bad_keys_file_or_a_partial_token_configuration(stack):
    sock = os.path.join(stack.state, "probe.sock")
    bad = os.path.join(stack.state, "bad-keys.json")
    with open(bad, "w") as f:
        f.write('{"kid-1": "not a certificate"}')

    def start(env):
        proc = subprocess.run([stack.binary, "--listen", sock], env=stack.service_environment(env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
        return proc.returncode, proc.stderr

    code, err = start({"GOFANNON_JWT_KEYS_FILE": bad})
    assert code == 1 and "GOFANNON_JWT_KEYS_FILE" in err and "kid-1" in err, err
    code, err = start({"GOFANNON_JWT_KEYS_FILE": os.path.join(stack.state, "missing.json")})
    assert code == 1 and "GOFANNON_JWT_KEYS_FILE" in err and "missing.json" in err, err
    code, err = start({"GOFANNON_JWT_AUDIENCE": None})
    assert code == 1 and "GOFANNON_JWT_AUDIENCE is not set" in err, err
    code, err = start({"GOFANNON_JWT_ISSUER": None, "GOFANNON_JWT_AUDIENCE": None})
    assert code == 1 and "GOFANNON_JWT_ISSUER is not set" in err, err


# --- Gofannon's front end, Firebase mode --------------------------------------

def test_gofannon_front_end_replay_in_firebase_mode(stack):
    """Exactly what Gofannon's UI sends: the Firebase ID token as a bearer
    token, JSON Accept/Content-Type, api_key in the body, un-prefixed paths."""
    user = new_user()
    tok = token(stack, claims(user), key=EC_KEY, alg="ES256", kid="ec-1")
    key = "sk-gofannon-" + uuid.uuid4().hex
    stack.remember_keys(key)
    headers = {"Authorization": "Bearer " + tok, "Accept": "application/json",
               "Content-Type": "application/json"}

    def send(method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        return stack.request(method, path, raw_body=data, headers=headers)

    resp = send("GET", "/users/me/api-keys")
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
    resp = send("PUT", "/users/me/api-keys", {"provider": "openai", "api_key": key})
    assert resp.status == 200 and resp.json["openaiApiKey"] == "sk-..." + key[-4:], resp
    resp = send("GET", "/users/me/api-keys/openai/effective")
    assert resp.status == 200 and resp.json == {"provider": "openai", "hasKey": True, "has_key": True, "source": "user"}, resp
    resp = send("DELETE", "/users/me/api-keys/openai")
    assert resp.status == 200 and resp.json["openaiApiKey"] is None, resp
    resp = send("GET", "/users/me/api-keys/openai/effective")
    assert resp.status == 200 and resp.json["hasKey"] is False, resp
    # The same calls with Gofannon's session-mode "Bearer null" and no nginx identity: 401.
    headers["Authorization"] = "Bearer null"
    refused(stack, send("GET", "/users/me/api-keys"), "missing", challenge='Bearer error="invalid_token"')


def test_no_token_reaches_any_log(stack):
    """The leak search at the end covers every token (remember_keys); this
    checks the service's log now, while the stack runs."""
    with open(os.path.join(stack.state, "keys-used.txt")) as f:
        tokens = [t.strip() for t in f if t.count(".") == 2]
    assert len(tokens) > 20
    logs = ""
    for path in stack.log_files():
        with open(path, errors="replace") as f:
            logs += f.read()
    for t in tokens:
        sig = t.split(".")[2]
        assert t not in logs and (not sig or sig not in logs)

