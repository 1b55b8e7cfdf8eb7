// The error states: Redis down (503 from the service), API unreachable, and
// a write whose answer is an error though the change was made (docs/api.md:
// a 503 on a write means the outcome is unknown).

import {
  assert, apiHealth, apiProviders, apiPutKey, fakeKey, maskOf, pickProviders, chipOf,
  maskTextOf, editButtonOf, removeButtonOf, alertOf, inputOf, saveButtonOf, messageOf,
  editorErrorOf, waitForList, waitForText, waitUntil, assertNoAxeViolations,
} from '../lib/harness.mjs';

const UNAVAILABLE = JSON.stringify({ detail: 'Key store unavailable' });

/**
 * Let every `method` request to `pattern` reach the service and be carried
 * out, then answer the page 503 instead of what the service said: a write
 * applied while its answer was lost, as when Redis stalls past the timeout
 * and carries out the command later. `outcomes` collects the real statuses.
 */
async function answer503AfterApplying(page, pattern, method) {
  const outcomes = [];
  await page.route(pattern, async (route) => {
    if (route.request().method() !== method) return route.continue();
    const real = await route.fetch();
    outcomes.push(real.status());
    return route.fulfill({ status: 503, contentType: 'application/json', body: UNAVAILABLE });
  });
  return outcomes;
}

const storedMask = async (context, id) => {
  const provider = (await apiProviders(context)).find((p) => p.id === id);
  return provider.userKey ? provider.userKey.masked : null;
};

/** Stop Redis for the duration of `fn`, restarting it whatever happens. */
async function withRedisStopped(t, fn) {
  let stopped = true; // also when stopping fails half-way
  try {
    await t.redis('stop');
    await fn({
      async restart() {
        await t.redis('start');
        stopped = false;
      },
    });
  } finally {
    if (stopped) await t.redis('start').catch(() => {});
  }
}

async function waitForHealthy(context) {
  await waitUntil(async () => (await apiHealth(context)).status === 200,
    { timeout: 15000, interval: 200, message: 'service healthy again' });
}

export default [
  {
    name: 'Redis stopped: the page shows an error state with Retry, and Retry works once Redis is back',
    timeout: 120000,
    async fn(t) {
      const context = await t.newContext({ axe: true });
      const page = await t.newPage(context);
      await withRedisStopped(t, async ({ restart }) => {
        await page.goto('/profile/api-keys');
        const panel = page.locator('#load-error');
        await panel.waitFor({ state: 'visible' });
        await waitForText(panel.locator('h3'), 'Could not load your API keys', { exact: true });
        await waitForText(page.locator('#load-error-detail'), 'Key store unavailable', { exact: true });
        assert.equal(await panel.getAttribute('role'), 'alert');
        assert.equal(await page.locator('#provider-list').isHidden(), true);
        assert.equal(await page.locator('#loading').isHidden(), true);
        const retry = page.getByRole('button', { name: 'Retry' });
        assert.equal(await retry.isVisible(), true);

        await assertNoAxeViolations(page, 'error state (light)');
        await t.screenshot(page, 'profile-error');
        await page.emulateMedia({ colorScheme: 'dark' });
        await assertNoAxeViolations(page, 'error state (dark)');
        await t.screenshot(page, 'profile-error-dark');
        await page.emulateMedia({ colorScheme: 'light' });

        // Retry while Redis is still down: still the error state.
        await retry.click();
        await panel.waitFor({ state: 'visible' });
        await waitForText(page.locator('#load-error-detail'), 'Key store unavailable', { exact: true });

        await restart();
        await waitForHealthy(context);
        await page.getByRole('button', { name: 'Retry' }).click();
        await waitForList(page);
        assert.equal(await panel.isHidden(), true);
        await waitUntil(() => page.evaluate(() => document.activeElement.id === 'api-keys-heading'),
          { message: 'focus moves to the list heading' });
      });
    },
  },

  {
    name: 'a save while Redis is down shows the server detail, keeps the typed key, and works on retry',
    timeout: 120000,
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const key = fakeKey();
      await editButtonOf(page, target.id).click();
      await inputOf(page, target.id).fill(key);
      await withRedisStopped(t, async ({ restart }) => {
        await saveButtonOf(page, target.id).click();
        await waitForText(editorErrorOf(page, target.id), 'Key store unavailable', { exact: true });
        assert.equal(await inputOf(page, target.id).inputValue(), key, 'typed key kept for a retry');
        assert.equal(await inputOf(page, target.id).getAttribute('aria-invalid'), null,
          'the key itself is not blamed for a server failure');
        await waitForText(chipOf(page, target.id), 'Not configured', { exact: true });
        await t.screenshot(page, 'profile-save-error');
        await restart();
      });
      await waitForHealthy(context);
      await saveButtonOf(page, target.id).click();
      await waitForText(messageOf(page, target.id), `${target.name} API key saved successfully.`, { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(key), { exact: true });
    },
  },

  {
    name: 'a save answered 503 that was stored after all: the row shows the stored key',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const key = fakeKey();
      const outcomes = await answer503AfterApplying(page, '**/api/users/me/api-keys', 'PUT');
      await editButtonOf(page, target.id).click();
      await inputOf(page, target.id).fill(key);
      await saveButtonOf(page, target.id).click();
      await waitForText(editorErrorOf(page, target.id), 'Key store unavailable', { exact: true });
      assert.deepEqual(outcomes, [200], 'the PUT reached the service and was stored');
      assert.equal(await storedMask(context, target.id), maskOf(key));
      // The page re-read the row: it shows what is stored, not what it assumed.
      await waitForText(chipOf(page, target.id), 'Configured', { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(key), { exact: true });
      assert.equal(await inputOf(page, target.id).inputValue(), key, 'typed key kept for a retry');
    },
  },

  {
    name: 'a removal answered 503 that was carried out after all: the row shows no key',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const key = fakeKey();
      await apiPutKey(context, target.id, key);
      await page.reload();
      await waitForText(maskTextOf(page, target.id), maskOf(key), { exact: true });
      const outcomes = await answer503AfterApplying(page, `**/api/users/me/api-keys/${target.id}`, 'DELETE');
      await removeButtonOf(page, target.id).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor({ state: 'visible' });
      await dialog.getByRole('button', { name: 'Remove key' }).click();
      await waitForText(alertOf(page, target.id), 'Key store unavailable');
      assert.deepEqual(outcomes, [200], 'the DELETE reached the service and was carried out');
      assert.equal(await storedMask(context, target.id), null);
      await waitForText(chipOf(page, target.id), 'Not configured', { exact: true });
      await waitForText(maskTextOf(page, target.id), 'No API key configured', { exact: true });
    },
  },

  {
    name: 'an unreachable API shows the error state; Retry recovers',
    async fn(t) {
      const context = await t.newContext();
      const page = await t.newPage(context);
      await page.route('**/api/providers', (route) => route.abort('connectionrefused'));
      await page.goto('/profile/api-keys');
      await page.locator('#load-error').waitFor({ state: 'visible' });
      await waitForText(page.locator('#load-error-detail'), 'Could not reach the server');
      await page.unroute('**/api/providers');
      await page.getByRole('button', { name: 'Retry' }).click();
      await waitForList(page);
    },
  },
];
