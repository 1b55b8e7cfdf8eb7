"""The service's own log lines (issue 9, item 5): a value from a request,
here the user id nginx passes, is escaped, so it can neither break its line
nor make the line read differently (bidirectional controls, C1 controls,
line separators, ill-formed UTF-8), and a value cut short is marked."""

import re
import time
import uuid

STACK_OPTIONS = {"service_env": {"GOFANNON_LOG_LEVEL": "debug"}}


def logged_users(stack, marker):
    """The user="..." values of the request lines for ids containing marker."""
    time.sleep(0.2)  # the request line is written after the reply
    return [m.group(1) for m in re.finditer(r'event=request [^\n]*user="((?:[^"\\]|\\.)*)"',
                                             stack.service_log_text()) if marker in m.group(1)]


def send_as(stack, raw_user):
    """One request with the X-Test-User header holding exactly these bytes."""
    return stack.request("GET", "/api/users/me", headers={"X-Test-User": raw_user.decode("latin-1")})


def test_a_user_id_is_logged_escaped_at_debug(stack):
    tag = uuid.uuid4().hex[:8]
    sent = {
        # accepted as identities: bidirectional controls and separators are valid UTF-8
        "rtl-%s-\u202Egnp.exe" % tag: "rtl-%s-\\u{202E}gnp.exe" % tag,
        "iso-%s-\u2066x\u2069\u200E\u061C" % tag: "iso-%s-\\u{2066}x\\u{2069}\\u{200E}\\u{061C}" % tag,
        "sep-%s-a\u2028b\u2029c" % tag: "sep-%s-a\\u{2028}b\\u{2029}c" % tag,
        "utf-%s-Jos\u00e9" % tag: "utf-%s-Jos\u00e9" % tag,
        # refused (400), and logged all the same
        "c1-%s-\u0085next" % tag: "c1-%s-\\u{0085}next" % tag,
    }
    statuses = {}
    for user in sent:
        statuses[user] = send_as(stack, user.encode("utf-8")).status
    raw = {b"bad-" + tag.encode() + b"-\xff\xfe": "bad-%s-\\xff\\xfe" % tag,
           b"quote-" + tag.encode() + b'-"x\\': 'quote-%s-\\"x\\\\' % tag}
    for user in raw:
        statuses[user] = send_as(stack, user).status
    assert statuses["utf-%s-Jos\u00e9" % tag] == 200 and statuses["rtl-%s-\u202Egnp.exe" % tag] == 200, statuses
    assert statuses["c1-%s-\u0085next" % tag] == 400, statuses
    logged = logged_users(stack, tag)
    for want in list(sent.values()) + list(raw.values()):
        assert want in logged, "%r not among %r" % (want, logged)
    log = stack.service_log_text()
    for bad in ("\u202E", "\u2066", "\u2028", "\u2029", "\u0085", "\ufffd"):
        assert bad not in log, "%r reached the log as it is" % bad
    assert all(line.startswith("ts=") for line in log.splitlines() if line), "a line was broken"


def test_256_and_257_byte_ids_log_differently(stack):
    tag = uuid.uuid4().hex[:8]
    ids = [("long-%s-" % tag).ljust(n, "x") for n in (256, 257)]
    assert [send_as(stack, i.encode()).status for i in ids] == [200, 400]
    logged = logged_users(stack, "long-%s-" % tag)
    assert ids[0] in logged and ids[1] in logged, [len(x) for x in logged]
