// The page as a whole: where it lives, what it loads, where its rows come from.

import {
  assert, apiProviders, apiPutKey, fakeKey, pickProviders, recordRequests, rowOf, chipOf,
  maskTextOf, editButtonOf, removeButtonOf, uniqueUser, waitForList, waitForText,
  assertNoAxeViolations,
} from '../lib/harness.mjs';

const DAY_MS = 24 * 60 * 60 * 1000;

/** What the DOM shows for each row, in order. */
function domRows(page) {
  return page.$$eval('#provider-list li.provider', (lis) => lis.map((li) => ({
    id: li.dataset.provider,
    name: li.querySelector('.provider-name').textContent,
    description: li.querySelector('.provider-description').hidden
      ? '' : li.querySelector('.provider-description').textContent,
    chip: li.querySelector('.chip').textContent,
    editable: !li.querySelector('.provider-actions').hidden,
  })));
}

export default [
  {
    name: '/ leads to /profile/api-keys, which shows the user and exactly the rows of /api/providers',
    async fn(t) {
      const user = uniqueUser('rows');
      const context = await t.newContext({ user });
      const page = await t.newPage(context);
      const requests = recordRequests(page);
      const failures = [];
      page.on('response', (r) => {
        if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
      });

      await page.goto('/');
      await waitForList(page);
      assert.equal(new URL(page.url()).pathname, '/profile/api-keys');
      await waitForText(page.locator('#whoami'), `Signed in as ${user}`, { exact: true });
      assert.equal(await page.locator('h1').textContent(), 'Profile');
      await waitForText(page.locator('.intro'), 'Configure your own API keys for LLM providers. ' +
        'Keys you set here take precedence over system-wide environment variables.');
      assert.equal(await page.locator('#loading').isHidden(), true, 'loading state gone');

      const providers = await apiProviders(context);
      const rows = await domRows(page);
      assert.deepEqual(rows.map((r) => r.id), providers.map((p) => p.id), 'same rows, same order');
      for (const [i, p] of providers.entries()) {
        assert.equal(rows[i].name, p.name, `name of ${p.id}`);
        assert.equal(rows[i].description, p.description || '', `description of ${p.id}`);
        assert.equal(rows[i].editable, p.userKeys !== false, `controls of ${p.id}`);
      }

      // Every request went to this host, and nothing was missing.
      const origin = new URL(t.env.url).origin;
      for (const r of requests) {
        if (r.url.startsWith('data:')) continue;
        assert.equal(new URL(r.url).origin, origin, `request to another host: ${r.url}`);
      }
      assert.deepEqual(failures, [], 'no failed request');
      assert.ok(requests.some((r) => r.url.endsWith('/profile/app.js')), 'app.js loaded');
      assert.ok(requests.some((r) => r.url.endsWith('/profile/style.css')), 'style.css loaded');

      // Any other path under /profile/ shows the same page.
      await page.goto('/profile/somewhere/else');
      await waitForList(page);
      assert.deepEqual((await domRows(page)).map((r) => r.id), providers.map((p) => p.id));
    },
  },

  {
    name: 'a loading state shows until the providers arrive',
    async fn(t) {
      const context = await t.newContext();
      const page = await t.newPage(context);
      let release;
      const gate = new Promise((resolve) => { release = resolve; });
      await page.route('**/api/providers', async (route) => {
        await gate;
        await route.continue();
      });
      await page.goto('/profile/api-keys');
      const loading = page.locator('#loading');
      await loading.waitFor({ state: 'visible' });
      await waitForText(loading, 'Loading providers');
      assert.equal(await loading.getAttribute('role'), 'status');
      assert.equal(await page.locator('#provider-list').isHidden(), true);
      release();
      await waitForList(page);
      await loading.waitFor({ state: 'hidden' });
    },
  },

  {
    name: 'rows follow the registry: an added provider, an env-only provider, an unreadable stored key',
    async fn(t) {
      const context = await t.newContext({ axe: true });
      const page = await t.newPage(context);
      const { editable } = await pickProviders(context);
      const broken = editable[0];
      // The page must draw whatever the API describes; the extra entries are
      // what a registry file (or a key the master key cannot open) produces.
      await page.route('**/api/providers', async (route) => {
        const response = await route.fetch();
        const json = await response.json();
        json.providers = json.providers.map((p) => (p.id !== broken.id ? p : {
          ...p,
          userKey: { configured: true, masked: null, updatedAt: '2026-01-02T03:04:05Z',
            error: 'Stored key cannot be decrypted' },
          available: false,
          source: 'user',
        }));
        json.providers.push({
          id: 'acme', name: 'Acme AI', description: 'A provider added to the registry file.',
          envVar: 'ACME_API_KEY', userKeys: true, userKeyField: 'acmeApiKey',
          userKey: { configured: false, masked: null, updatedAt: null },
          envKey: false, available: false, source: null,
        });
        json.providers.push({
          id: 'bedrock', name: 'AWS Bedrock', description: 'Models through AWS credentials.',
          envVar: 'AWS_ACCESS_KEY_ID', userKeys: false, userKeyField: null, userKey: null,
          envKey: true, available: true, source: 'env',
        });
        await route.fulfill({ response, json });
      });
      await page.goto('/profile/api-keys');
      await waitForList(page);

      await waitForText(chipOf(page, 'acme'), 'Not configured', { exact: true });
      await waitForText(editButtonOf(page, 'acme'), 'Add key Acme AI API key', { exact: true });
      assert.equal(await removeButtonOf(page, 'acme').isHidden(), true);
      assert.equal(await rowOf(page, 'acme').locator('.provider-description').textContent(),
        'A provider added to the registry file.');

      await waitForText(chipOf(page, 'bedrock'), 'Using system key', { exact: true });
      assert.equal(await rowOf(page, 'bedrock').locator('button:visible').count(), 0,
        'env-only provider: no controls');
      await waitForText(rowOf(page, 'bedrock').locator('.provider-note'), 'administrator');

      await waitForText(chipOf(page, broken.id), 'Key unreadable', { exact: true });
      await waitForText(rowOf(page, broken.id), 'Stored key cannot be decrypted');
      await waitForText(rowOf(page, broken.id).locator('.provider-note'),
        'The system-wide key is not used in its place');
      await waitForText(editButtonOf(page, broken.id), 'Update');
      assert.equal(await removeButtonOf(page, broken.id).isVisible(), true);
      await assertNoAxeViolations(page, 'registry variants');
      await t.screenshot(page, 'profile-registry-variants');
    },
  },

  {
    name: 'last update time is shown, with a rotation hint once a key is older than 90 days',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const id = none[0].id;
      await apiPutKey(context, id, fakeKey());
      const stored = (await apiProviders(context)).find((p) => p.id === id);
      assert.ok(stored.userKey.updatedAt, 'the API gives an update time');

      await page.reload();
      await waitForList(page);
      const time = rowOf(page, id).locator('dd.updated time');
      assert.equal(new Date(await time.getAttribute('datetime')).getTime(),
        new Date(stored.userKey.updatedAt).getTime(), 'time element carries the API time');
      await waitForText(rowOf(page, id).locator('dd.updated'), '(today)');
      assert.equal(await rowOf(page, id).locator('.rotate-hint').isHidden(), true, 'no hint for a new key');

      // The same key seen 120 days later.
      const later = await t.newPage(context);
      await later.clock.setFixedTime(new Date(new Date(stored.userKey.updatedAt).getTime() + 120 * DAY_MS));
      await later.goto('/profile/api-keys');
      await waitForList(later);
      const hint = rowOf(later, id).locator('.rotate-hint');
      await hint.waitFor({ state: 'visible' });
      await waitForText(hint, 'This key is 120 days old. Consider rotating it');
      // Rows without a key of the user's own get no hint.
      assert.equal(await later.locator('.rotate-hint:visible').count(), 1);
      await waitForText(maskTextOf(later, id), '...');
    },
  },
];
