// gofannon-session.js: who the host application's session belongs to, for
// nginx's auth_request, with nginx's JavaScript module (njs 0.7.9 and later:
// Debian's libnginx-mod-http-js). Used by gofannon-app.conf; no daemon.
//
// identify() is the js_content of the location auth_request asks. It never
// refuses a request itself; it only says who the session is:
//
//   - OPTIONS (a CORS preflight, which browsers send without credentials),
//     or no Cookie header at all: 200 and no user, without asking the
//     application. The service then answers 401, or verifies the request's
//     bearer token when GOFANNON_JWT_* is set.
//   - Otherwise it asks the application's who-am-I endpoint through the
//     internal location /_gofannon_session/me (a proxy_pass that nginx
//     caches per Cookie header for a few seconds):
//       200 {"uid": "<user id>", ...}   200, X-Gofannon-User: <user id>
//       401 or 403                      200 and no user (no live session)
//       anything else                   502: nginx answers 503, never a guess
//
// The member holding the user id is $gofannon_session_field (default
// "uid"). The user id comes from the application's answer only, never from
// anything the client sent, and one that is not a non-empty string of at
// most 256 bytes without control characters is refused (502).

const USER_HEADER = 'X-Gofannon-User';
const USER_MAX = 256;

// The user id in the application's JSON answer, or null.
function userFrom(text, field) {
    let me;

    try {
        me = JSON.parse(text);
    } catch (e) {
        return null;
    }
    if (me === null || typeof me !== 'object' || Array.isArray(me)) {
        return null;
    }
    const user = me[field];
    if (typeof user !== 'string' || user.length === 0 || /[\u0000-\u001f\u007f-\u009f]/.test(user)) {
        return null;
    }
    if (Buffer.byteLength(user) > USER_MAX) {
        return null;
    }
    return user;
}

async function identify(r) {
    // In this subrequest r.method is GET; $request_method is the client's.
    if (r.variables.request_method === 'OPTIONS' || !r.headersIn.Cookie) {
        r.return(200);
        return;
    }
    let reply;
    try {
        reply = await r.subrequest('/_gofannon_session/me');
    } catch (e) {
        r.error('gofannon-session: asking the application failed: ' + e);
        r.return(502);
        return;
    }
    if (reply.status === 401 || reply.status === 403) {
        r.return(200);
        return;
    }
    if (reply.status !== 200) {
        r.error('gofannon-session: the application answered ' + reply.status);
        r.return(502);
        return;
    }
    const field = r.variables.gofannon_session_field || 'uid';
    const user = userFrom(reply.responseText, field);
    if (user === null) {
        r.error('gofannon-session: the application\'s answer has no usable "' + field + '"');
        r.return(502);
        return;
    }
    r.headersOut[USER_HEADER] = user;
    r.return(200);
}

export default { identify };
