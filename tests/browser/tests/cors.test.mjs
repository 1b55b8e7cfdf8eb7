// A page on another origin calls the API with the browser's credentials
// (fetch with credentials: 'include'): it works from an origin listed in
// GOFANNON_ALLOWED_ORIGINS and fails as a CORS error from any other.
// Needs `tests/stack.py run --cross-origin`, which serves a page from both
// origins and lists the first; the identity is the test login's cookie
// (gofannon_test_user), which the browser sends across ports of 127.0.0.1.

import { assert, fakeKey, maskOf, uniqueUser } from '../lib/harness.mjs';

const API_KEYS = '/api/users/me/api-keys';

/** A context with no test header (a header of its own would change what
 * CORS asks for), logged in by cookie; a page open on `origin`. */
async function pageOn(t, origin) {
  const user = uniqueUser('cors');
  const context = await t.newContext({ user, extraHTTPHeaders: {} });
  await context.addCookies([{ name: 'gofannon_test_user', value: user, url: t.env.url }]);
  const page = await t.newPage(context);
  const corsErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /CORS policy/.test(msg.text())) corsErrors.push(msg.text());
  });
  await page.goto(`${origin}/`);
  assert.equal(await page.title(), 'another origin');
  return { context, page, user, corsErrors };
}

/** fetch() in the page; {status, body} or {error} when the browser refused. */
function call(page, api, path, { method = 'GET', body, credentials = 'include' } = {}) {
  return page.evaluate(async ({ url, method, body, credentials }) => {
    try {
      const response = await fetch(url, {
        method,
        credentials,
        headers: body === undefined
          ? { Accept: 'application/json' }
          : { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    } catch (err) {
      return { error: `${err.name}: ${err.message}` };
    }
  }, { url: `${api}${path}`, method, body, credentials });
}

/** The user's masks, asked with the cookie from the test itself. */
async function masksOf(context, api) {
  const response = await context.request.get(`${api}${API_KEYS}`, { timeout: 10000 });
  assert.equal(response.status(), 200);
  return response.json();
}

export default [
  {
    name: 'a page on an allowed origin reads and writes the API with credentials',
    needs: 'cors',
    async fn(t) {
      const api = t.env.url;
      const { context, page, user } = await pageOn(t, t.env.corsAllowed);
      assert.notEqual(new URL(api).origin, t.env.corsAllowed, 'the page is on another origin');

      const me = await call(page, api, '/api/users/me');
      assert.deepEqual(me, { status: 200, body: { id: user } });

      const key = fakeKey('sk-cors-');
      const put = await call(page, api, API_KEYS, { method: 'PUT', body: { provider: 'openai', apiKey: key } });
      assert.equal(put.status, 200, JSON.stringify(put));
      assert.equal(put.body.openaiApiKey, maskOf(key));
      assert.equal((await masksOf(context, api)).openaiApiKey, maskOf(key));

      const eff = await call(page, api, `${API_KEYS}/openai/effective`);
      assert.equal(eff.status, 200);
      assert.equal(eff.body.hasKey, true);
      assert.equal(eff.body.source, 'user');

      // Without credentials the API says 401, and the page may read why.
      const anonymous = await call(page, api, API_KEYS, { credentials: 'omit' });
      assert.deepEqual(anonymous, { status: 401, body: { detail: 'Not authenticated' } });

      const removed = await call(page, api, `${API_KEYS}/openai`, { method: 'DELETE' });
      assert.equal(removed.status, 200, JSON.stringify(removed));
      assert.equal(removed.body.openaiApiKey, null);
      assert.equal((await masksOf(context, api)).openaiApiKey, null);
    },
  },
  {
    name: 'a page on any other origin gets a CORS error and changes nothing',
    needs: 'cors',
    async fn(t) {
      const api = t.env.url;
      const { context, page, corsErrors } = await pageOn(t, t.env.corsDenied);

      const me = await call(page, api, '/api/users/me');
      assert.match(me.error || '', /^TypeError/, `a read is withheld from the page: ${JSON.stringify(me)}`);

      const key = fakeKey('sk-cors-denied-');
      const put = await call(page, api, API_KEYS, { method: 'PUT', body: { provider: 'openai', apiKey: key } });
      assert.match(put.error || '', /^TypeError/, `the write fails: ${JSON.stringify(put)}`);
      const removed = await call(page, api, `${API_KEYS}/openai`, { method: 'DELETE' });
      assert.match(removed.error || '', /^TypeError/, JSON.stringify(removed));

      assert.equal((await masksOf(context, api)).openaiApiKey, null, 'no key was stored');
      assert.ok(corsErrors.length >= 3, `the browser blamed CORS each time: ${corsErrors.join('\n')}`);
    },
  },
];
