// Verify: the row's button asks the provider (here tests/mock_provider.py,
// through the service) whether the key in effect works; the editor's
// "Verify before saving" asks about the typed key without storing it.
// Needs `tests/stack.py run --mock-provider`.

import {
  assert, apiProviders, apiPutKey, apiChat, fakeKey, maskOf, pickProviders, recordResponses, sha256,
  rowOf, chipOf, maskTextOf, editButtonOf, inputOf, saveButtonOf, messageOf, alertOf, editorErrorOf,
  editorStatusOf, verifyButtonOf, verifyCandidateButtonOf, waitForList, waitForText, waitUntil,
  assertNoAxeViolations,
} from '../lib/harness.mjs';

const VERIFY_PATH = (id) => `/api/users/me/api-keys/${id}/verify`;

/** A new user's page with the user's own key for `provider` stored. */
async function withUserKey(t, pick = (roles) => roles.none[0], options = {}) {
  const { context, page } = await t.openProfile(options);
  const roles = await pickProviders(context);
  const provider = pick(roles);
  const key = fakeKey();
  await apiPutKey(context, provider.id, key);
  await page.reload();
  await waitForList(page);
  await waitForText(chipOf(page, provider.id), 'Configured', { exact: true });
  return { context, page, provider, key, roles };
}

/** What the service says about the key in effect, asked directly. */
async function verifyDetail(context, id) {
  const response = await context.request.post(VERIFY_PATH(id), { data: {}, timeout: 15000 });
  assert.equal(response.status(), 200);
  return (await response.json()).detail;
}

const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

const isFocused = (locator) => locator.evaluate((el) => document.activeElement === el);

async function assertFocusVisible(page, what) {
  const ring = await page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return { focusVisible: el.matches(':focus-visible'), outline: style.outlineStyle,
      width: parseFloat(style.outlineWidth), text: el.textContent };
  });
  assert.ok(ring.focusVisible && ring.outline !== 'none' && ring.width >= 2,
    `focus ring on ${what}: ${JSON.stringify(ring)}`);
}

/** The row's action buttons that are shown, with whether each is disabled. */
function rowButtons(page, id) {
  return rowOf(page, id).locator('.provider-actions button').evaluateAll((buttons) =>
    buttons.filter((b) => !b.hidden).map((b) => ({ text: b.textContent, disabled: b.disabled })));
}

/** Everything the page could still show or hold (as in secrecy.test.mjs). */
function pageContents(page) {
  return page.evaluate(() => ({
    text: document.body.innerText,
    html: document.documentElement.outerHTML,
    inputs: [...document.querySelectorAll('input, textarea')].map((el) => el.value),
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  }));
}

function assertNoKey(contents, keys, when) {
  for (const key of keys) {
    const core = key.slice(3, -4); // the mask shares 7 characters with the key
    for (const [where, value] of Object.entries(contents)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        assert.ok(!v.includes(core), `${when}: a full key appears in ${where}`);
      }
    }
  }
}

export default [
  {
    name: 'verify a user key the provider accepts: progress while checking, then "{Name} accepted the key."',
    needs: 'mock',
    async fn(t) {
      const { page, provider: p, key } = await withUserKey(t);
      const verify = page.getByRole('button', { name: `Verify ${p.name} API key`, exact: true });
      assert.equal(await verify.count(), 1, 'a Verify button named for its provider');

      // Hold the answer back to look at the row while it checks.
      let release;
      const gate = new Promise((resolve) => { release = resolve; });
      await page.route('**/verify', async (route) => {
        await gate;
        await route.continue();
      });
      await verify.click();
      await waitForText(messageOf(page, p.id), `Checking your ${p.name} key with ${p.name}…`, { exact: true });
      assert.equal(await rowOf(page, p.id).getAttribute('aria-busy'), 'true');
      const busy = await rowButtons(page, p.id);
      assert.ok(busy.length >= 3 && busy.every((b) => b.disabled), `controls disabled: ${JSON.stringify(busy)}`);
      await waitForText(verifyButtonOf(page, p.id), 'Checking…');
      release();

      await waitForText(messageOf(page, p.id), `${p.name} accepted the key.`, { exact: true });
      assert.equal(await messageOf(page, p.id).getAttribute('role'), 'status', 'announced politely');
      assert.equal(await messageOf(page, p.id).getAttribute('data-kind'), 'success');
      assert.equal(await alertOf(page, p.id).isHidden(), true);
      assert.equal(await rowOf(page, p.id).getAttribute('aria-busy'), 'false');
      assert.ok((await rowButtons(page, p.id)).every((b) => !b.disabled), 'controls enabled again');
      await waitForText(verifyButtonOf(page, p.id), `Verify ${p.name} API key`, { exact: true });

      // One call to the provider, with the user's key.
      const calls = await t.mock.calls();
      assert.equal(calls.length, 1, JSON.stringify(calls));
      assert.equal(calls[0].provider, p.id);
      assert.equal(calls[0].keySha256, sha256(key), 'the user key was sent');
    },
  },

  {
    name: 'verify a key the provider rejects (401): "{Name} rejected the key: <detail>", the stored key is kept',
    needs: 'mock',
    async fn(t) {
      const { context, page, provider: p, key } = await withUserKey(t);
      await t.mock.setMode('401', p.id);
      const detail = await verifyDetail(context, p.id);

      await verifyButtonOf(page, p.id).click();
      const expected = `${p.name} rejected the key: ${sentence(detail)} ` +
        `Update it with a current key from ${p.name}.`;
      await waitForText(alertOf(page, p.id), expected, { exact: true });
      assert.ok(detail.includes('401'), `the detail says why: ${detail}`);
      assert.equal(await alertOf(page, p.id).getAttribute('role'), 'alert', 'announced at once');
      assert.equal(await messageOf(page, p.id).isHidden(), true, 'no progress left behind');

      // Nothing happened to the key.
      await waitForText(chipOf(page, p.id), 'Configured', { exact: true });
      await waitForText(maskTextOf(page, p.id), maskOf(key), { exact: true });
      const stored = (await apiProviders(context)).find((x) => x.id === p.id);
      assert.equal(stored.userKey.masked, maskOf(key), 'still stored');
      await page.reload();
      await waitForText(chipOf(page, p.id), 'Configured', { exact: true });
      const calls = await t.mock.calls();
      assert.ok(calls.length >= 2 && calls.every((c) => c.keySha256 === sha256(key)),
        'only ever the user key, never retried with another');
    },
  },

  {
    name: 'could not check: a provider error (500) and a hang past GOFANNON_LLM_TIMEOUT say so, with the detail',
    needs: 'mock',
    timeout: 60000,
    async fn(t) {
      const { context, page, provider: p, key } = await withUserKey(t);

      await t.mock.setMode('500', p.id);
      const detail = await verifyDetail(context, p.id);
      await verifyButtonOf(page, p.id).click();
      await waitForText(messageOf(page, p.id), `Could not check the key: ${sentence(detail)}`, { exact: true });
      assert.ok(detail.includes('500'), `the detail says why: ${detail}`);
      assert.equal(await messageOf(page, p.id).getAttribute('data-kind'), 'warning');
      assert.equal(await messageOf(page, p.id).getAttribute('role'), 'status');
      // The mock quotes the key in its error; the service redacts it.
      assertNoKey(await pageContents(page), [key], 'after a provider error');

      // A provider that does not answer: the row stays busy until the
      // service gives up after GOFANNON_LLM_TIMEOUT seconds.
      const limit = t.env.llmTimeout;
      assert.ok(limit, 'GOFANNON_TEST_LLM_TIMEOUT is set');
      await t.mock.setMode('hang', p.id);
      const started = Date.now();
      await verifyButtonOf(page, p.id).click();
      await new Promise((resolve) => setTimeout(resolve, 700));
      assert.equal(await rowOf(page, p.id).getAttribute('aria-busy'), 'true', 'still checking');
      await waitForText(messageOf(page, p.id), 'Checking your');
      await waitForText(messageOf(page, p.id),
        `Could not check the key: ${p.name} did not answer within ${limit} seconds.`,
        { exact: true, timeout: limit * 1000 + 10000 });
      const took = Date.now() - started;
      assert.ok(took >= limit * 1000 - 300, `the page waited for the service (${took} ms)`);
      assert.equal(await rowOf(page, p.id).getAttribute('aria-busy'), 'false');
      await waitForText(chipOf(page, p.id), 'Configured', { exact: true });
    },
  },

  {
    name: 'a verify over GOFANNON_LLM_PER_USER shows the 429 detail on the row',
    needs: 'mock',
    timeout: 60000,
    async fn(t) {
      const { context, page, provider: p } = await withUserKey(t);
      // GOFANNON_LLM_PER_USER's default (tests/stack.py run leaves it): this
      // many hanging verifies of the same user hold every lease.
      const perUser = 4;
      await t.mock.setMode('hang', p.id);
      const held = [];
      for (let i = 0; i < perUser; i += 1) {
        held.push(context.request.post(VERIFY_PATH(p.id), { data: {}, timeout: 30000 }));
      }
      await waitUntil(async () => (await t.mock.calls(p.id)).length >= perUser,
        { message: `${perUser} verifies at the provider` });
      await verifyButtonOf(page, p.id).click();
      // An error of the service, not a provider's answer: the row's alert.
      await waitForText(alertOf(page, p.id),
        'Could not check the key: Too many LLM calls in progress for this user.', { exact: true });
      assert.equal(await rowOf(page, p.id).getAttribute('aria-busy'), 'false');
      // The held verifies end at GOFANNON_LLM_TIMEOUT; then the row verifies again.
      for (const response of await Promise.all(held)) assert.equal(response.status(), 200);
      await t.mock.setMode('ok', p.id);
      await verifyButtonOf(page, p.id).click();
      await waitForText(messageOf(page, p.id), 'accepted the key');
    },
  },

  {
    name: 'Verify is offered where a key is in effect: the system key for Gemini; Perplexity says its check is billed',
    needs: 'mock',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none, system } = await pickProviders(context);
      const gemini = system.find((p) => p.id === 'gemini') || system[0];
      const systemKey = t.env.systemKeys[gemini.envVar];
      assert.ok(systemKey, `the stack sets ${gemini.envVar}`);

      // No key in effect: no Verify.
      for (const p of none) {
        assert.equal(await verifyButtonOf(page, p.id).isHidden(), true, `no Verify for ${p.id}`);
      }

      await waitForText(chipOf(page, gemini.id), 'Using system key', { exact: true });
      const verify = page.getByRole('button', { name: `Verify system-wide ${gemini.name} API key`, exact: true });
      await verify.click();
      await waitForText(messageOf(page, gemini.id), `${gemini.name} accepted the key.`, { exact: true });
      let calls = await t.mock.calls(gemini.id);
      assert.equal(calls.length, 1);
      assert.equal(calls[0].keySha256, sha256(systemKey), 'the system-wide key was sent');

      // A system key the provider refuses: the advice fits a key the user does not manage.
      await t.mock.setMode('401', gemini.id);
      await verify.click();
      await waitForText(alertOf(page, gemini.id), `${gemini.name} rejected the key: `);
      await waitForText(alertOf(page, gemini.id), 'Ask your administrator to replace the system-wide key, or add your own.');
      await waitForText(chipOf(page, gemini.id), 'Using system key', { exact: true });

      // Perplexity's check costs a token: said next to the button and on it.
      const pplx = (await apiProviders(context)).find((p) => p.id === 'perplexity');
      assert.ok(pplx, 'the default registry has Perplexity');
      const pplxKey = fakeKey('pplx-');
      await apiPutKey(context, pplx.id, pplxKey);
      await page.reload();
      await waitForList(page);
      const hint = rowOf(page, pplx.id).locator('.verify-hint');
      await hint.waitFor({ state: 'visible' });
      await waitForText(hint, 'billed to the key');
      const button = verifyButtonOf(page, pplx.id);
      assert.match(await button.getAttribute('title'), /billed/);
      const description = await button.evaluate((b) => document.getElementById(b.getAttribute('aria-describedby')).textContent);
      assert.match(description, /1-token request, which is billed/);
      for (const p of none.filter((x) => x.id !== pplx.id)) {
        assert.equal(await rowOf(page, p.id).locator('.verify-hint').isHidden(), true, `no billing note for ${p.id}`);
      }
      await button.click();
      await waitForText(messageOf(page, pplx.id), `${pplx.name} accepted the key.`, { exact: true });
      calls = await t.mock.calls(pplx.id);
      assert.equal(calls.length, 1);
      assert.equal(calls[0].method, 'POST', 'a completion');
      assert.equal(calls[0].body.max_tokens, 1, 'of one token');
      assert.equal(calls[0].keySha256, sha256(pplxKey));
    },
  },

  {
    name: 'keyboard only: Tab to Verify, Enter and Space check the key, the result is announced, focus stays',
    needs: 'mock',
    async fn(t) {
      const { page, provider: p } = await withUserKey(t);
      const verify = verifyButtonOf(page, p.id);
      let reached = false;
      for (let i = 0; i < 60 && !reached; i += 1) {
        await page.keyboard.press('Tab');
        reached = await isFocused(verify);
      }
      assert.ok(reached, 'Verify is reached with the Tab key');
      await assertFocusVisible(page, 'Verify');

      await page.keyboard.press('Enter');
      await waitForText(messageOf(page, p.id), `${p.name} accepted the key.`, { exact: true });
      await waitUntil(() => isFocused(verify), { message: 'focus back on Verify' });
      await assertFocusVisible(page, 'Verify after checking');
      assert.equal(await page.getByRole('status').filter({ hasText: `${p.name} accepted the key.` }).count(), 1,
        'the result is in a status region');

      await t.mock.setMode('401', p.id);
      await page.keyboard.press('Space');
      await waitForText(alertOf(page, p.id), `${p.name} rejected the key: `);
      await waitUntil(() => isFocused(verify), { message: 'focus stays on Verify' });
      assert.equal(await page.getByRole('alert').filter({ hasText: `${p.name} rejected the key` }).count(), 1);
      assert.equal(await messageOf(page, p.id).isHidden(), true, 'the earlier result is gone');
    },
  },

  {
    name: 'verify before saving: the typed key is checked and not stored; a rejected one is marked and kept',
    needs: 'mock',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const p = none[1];
      await editButtonOf(page, p.id).click();
      const candidateButton = verifyCandidateButtonOf(page, p.id);
      assert.equal(await candidateButton.isDisabled(), true, 'disabled while the input is empty');

      const candidate = fakeKey();
      await inputOf(page, p.id).fill(candidate);
      await page.getByRole('button', { name: 'Verify before saving', exact: true }).click();
      await waitForText(editorStatusOf(page, p.id), `${p.name} accepted the key. Save it to use it.`, { exact: true });
      assert.equal(await editorStatusOf(page, p.id).getAttribute('role'), 'status');
      assert.equal(await inputOf(page, p.id).inputValue(), candidate, 'the typed key stays for Save');
      let calls = await t.mock.calls(p.id);
      assert.equal(calls.length, 1);
      assert.equal(calls[0].keySha256, sha256(candidate), 'the typed key was checked');
      await waitForText(chipOf(page, p.id), 'Not configured', { exact: true });
      const listed = (await apiProviders(context)).find((x) => x.id === p.id);
      assert.equal(listed.userKey.configured, false, 'nothing stored');

      // Another key, refused: shown as an error on the input; typing clears it.
      await t.mock.setMode('401', p.id);
      const refused = fakeKey('sk-bad-');
      await inputOf(page, p.id).fill(refused);
      assert.equal(await editorStatusOf(page, p.id).isHidden(), true, 'a result for the old value is cleared');
      await candidateButton.click();
      await waitForText(editorErrorOf(page, p.id), `${p.name} rejected the key: `);
      assert.equal(await inputOf(page, p.id).getAttribute('aria-invalid'), 'true');
      assert.equal(await inputOf(page, p.id).inputValue(), refused);
      calls = await t.mock.calls(p.id);
      assert.equal(calls.at(-1).keySha256, sha256(refused));

      // The page still saves what the person decides to save.
      await t.mock.setMode('ok', p.id);
      await inputOf(page, p.id).fill(candidate);
      await saveButtonOf(page, p.id).click();
      await waitForText(messageOf(page, p.id), `${p.name} API key saved successfully.`, { exact: true });
      await waitForText(maskTextOf(page, p.id), maskOf(candidate), { exact: true });
    },
  },

  {
    name: 'no response body, DOM text or input value holds a full key through every verify',
    needs: 'mock',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const responses = recordResponses(page);
      const { none, system } = await pickProviders(context);
      const [a, b] = none;
      const gemini = system[0];
      const keys = [fakeKey(), fakeKey('sk-cand-'), t.env.systemKeys[gemini.envVar]];
      await apiPutKey(context, a.id, keys[0]);
      await page.reload();
      await waitForText(chipOf(page, a.id), 'Configured', { exact: true });

      const check = async (id, mode, region, text) => {
        await t.mock.setMode(mode, id);
        await verifyButtonOf(page, id).click();
        await waitForText(region(page, id), text);
        assertNoKey(await pageContents(page), keys, `verify ${id} (${mode})`);
      };
      await check(a.id, 'ok', messageOf, 'accepted the key');
      await check(a.id, '401', alertOf, 'rejected the key');
      await check(a.id, '500', messageOf, 'Could not check the key');
      await check(gemini.id, 'ok', messageOf, 'accepted the key');
      await check(gemini.id, '500', messageOf, 'Could not check the key');

      // A candidate: typed, checked, then cancelled.
      await editButtonOf(page, b.id).click();
      await inputOf(page, b.id).fill(keys[1]);
      await t.mock.setMode('500', b.id);
      await verifyCandidateButtonOf(page, b.id).click();
      await waitForText(editorStatusOf(page, b.id), 'Could not check the key');
      await inputOf(page, b.id).press('Escape');
      await inputOf(page, b.id).waitFor({ state: 'detached' });
      assertNoKey(await pageContents(page), keys, 'after a candidate');

      await responses.settle();
      const verifies = responses.bodies.filter((r) => r.url.includes('/verify'));
      assert.equal(verifies.length, 6, 'every verify answer was seen');
      for (const r of responses.bodies) {
        for (const key of keys) {
          assert.ok(!r.text.includes(key.slice(3, -4)), `response of ${r.url} (${r.status}) holds a key`);
        }
      }
    },
  },

  {
    name: 'axe-core finds no violation with verify results shown, light and dark (profile-verify.png)',
    needs: 'mock',
    timeout: 120000,
    async fn(t) {
      for (const scheme of ['light', 'dark']) {
        const { context, page } = await t.openProfile({ colorScheme: scheme, axe: true });
        const { none, system } = await pickProviders(context);
        const [a, b, c] = none;
        const gemini = system[0];
        await apiPutKey(context, a.id, fakeKey());
        await apiPutKey(context, b.id, fakeKey());
        await apiChat(context, a.id);
        await page.reload();
        await waitForText(chipOf(page, b.id), 'Configured', { exact: true });

        await t.mock.setMode('401', b.id);
        await t.mock.setMode('500', gemini.id);
        await verifyButtonOf(page, a.id).click();
        await waitForText(messageOf(page, a.id), 'accepted the key');
        await verifyButtonOf(page, b.id).click();
        await waitForText(alertOf(page, b.id), 'rejected the key');
        await verifyButtonOf(page, gemini.id).click();
        await waitForText(messageOf(page, gemini.id), 'Could not check the key');
        // An editor with a candidate's result, too.
        await editButtonOf(page, c.id).click();
        await inputOf(page, c.id).fill(fakeKey());
        await verifyCandidateButtonOf(page, c.id).click();
        await waitForText(editorStatusOf(page, c.id), 'accepted the key');

        await assertNoAxeViolations(page, `verify results (${scheme})`);
        await t.screenshot(page, scheme === 'light' ? 'profile-verify' : 'profile-verify-dark');
        await context.close();
      }
    },
  },
];
