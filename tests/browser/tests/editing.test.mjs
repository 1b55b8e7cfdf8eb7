// Add and Update through the inline editor.

import {
  assert, apiProviders, apiPutKey, fakeKey, maskOf, pickProviders, recordRequests, rowOf,
  chipOf, maskTextOf, editButtonOf, inputOf, saveButtonOf, messageOf, editorErrorOf,
  waitForText, waitUntil,
} from '../lib/harness.mjs';

const puts = (requests) => requests.filter((r) => r.method === 'PUT');

export default [
  {
    name: 'add a key: success message, the row updates in place, other rows and their editors stay',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const other = none[1];

      // Marks that a re-render or a reload would lose.
      await page.evaluate(() => {
        window.__sameDocument = true;
        for (const li of document.querySelectorAll('#provider-list li')) li.__mark = li.dataset.provider;
      });
      await editButtonOf(page, other.id).click();
      await inputOf(page, other.id).fill('draft-in-another-row');

      await editButtonOf(page, target.id).click();
      const input = inputOf(page, target.id);
      await input.waitFor({ state: 'visible' });
      assert.equal(await input.getAttribute('type'), 'password');
      assert.equal(await input.getAttribute('placeholder'), `Enter your ${target.name} API key`);
      assert.equal(await input.evaluate((el) => document.activeElement === el), true, 'input focused');
      assert.equal(await editButtonOf(page, target.id).getAttribute('aria-expanded'), 'true');

      const key = fakeKey();
      await input.fill(key);
      await saveButtonOf(page, target.id).click();
      await waitForText(messageOf(page, target.id), `${target.name} API key saved successfully.`, { exact: true });
      await waitForText(chipOf(page, target.id), 'Configured', { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(key), { exact: true });
      await waitForText(editButtonOf(page, target.id), 'Update');
      assert.equal(await inputOf(page, target.id).count(), 0, 'editor closed');
      assert.equal(await editButtonOf(page, target.id).getAttribute('aria-expanded'), 'false');
      assert.equal(await editButtonOf(page, target.id).evaluate((el) => document.activeElement === el),
        true, 'focus back on the row button');

      const kept = await page.evaluate(() => ({
        same: window.__sameDocument === true,
        marks: [...document.querySelectorAll('#provider-list li')].map((li) => li.__mark === li.dataset.provider),
      }));
      assert.equal(kept.same, true, 'no page reload');
      assert.ok(kept.marks.every(Boolean), 'no row was re-created');
      assert.equal(await inputOf(page, other.id).inputValue(), 'draft-in-another-row',
        'the other row keeps its open editor and its text');

      const stored = (await apiProviders(context)).find((p) => p.id === target.id);
      assert.equal(stored.userKey.masked, maskOf(key));
    },
  },

  {
    name: 'when the list cannot be fetched after a save, the row takes its mask from the PUT answer, by userKeyField',
    async fn(t) {
      const context = await t.newContext();
      const page = await t.newPage(context);
      const { none } = await pickProviders(context);
      const target = none[0];
      // The page must read the member the API names, not derive it from the
      // id: here both the listing and the PUT answer call it renamedField.
      let listings = 0;
      await page.route('**/api/providers', async (route) => {
        listings += 1;
        if (listings > 1) {
          await route.abort('connectionrefused');
          return;
        }
        const response = await route.fetch();
        const json = await response.json();
        json.providers = json.providers.map((p) => (p.id !== target.id ? p
          : { ...p, userKeyField: 'renamedField' }));
        await route.fulfill({ response, json });
      });
      await page.route('**/api/users/me/api-keys', async (route) => {
        const response = await route.fetch();
        const json = await response.json();
        if (route.request().method() === 'PUT') {
          json.renamedField = json[target.userKeyField];
          delete json[target.userKeyField];
        }
        await route.fulfill({ response, json });
      });
      await page.goto('/profile/api-keys');
      await waitForText(chipOf(page, target.id), 'Not configured', { exact: true });

      const key = fakeKey();
      await editButtonOf(page, target.id).click();
      await inputOf(page, target.id).fill(key);
      await saveButtonOf(page, target.id).click();
      await waitForText(chipOf(page, target.id), 'Configured', { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(key), { exact: true });
      assert.ok(listings >= 2, 'the page asked for the list again and was refused');
    },
  },

  {
    name: 'update a key: the editor replaces it and the row shows the new mask',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const first = fakeKey();
      await apiPutKey(context, target.id, first);
      await page.reload();
      await waitForText(maskTextOf(page, target.id), maskOf(first), { exact: true });

      await editButtonOf(page, target.id).click();
      assert.equal(await inputOf(page, target.id).inputValue(), '', 'the editor never shows the old key');
      const second = fakeKey('sk-proj-');
      await inputOf(page, target.id).fill(`  ${second}  `); // surrounding blanks are trimmed
      await inputOf(page, target.id).press('Enter');
      await waitForText(messageOf(page, target.id), `${target.name} API key saved successfully.`, { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(second), { exact: true });
      await waitForText(chipOf(page, target.id), 'Configured', { exact: true });
      const stored = (await apiProviders(context)).find((p) => p.id === target.id);
      assert.equal(stored.userKey.masked, maskOf(second));
    },
  },

  {
    name: 'server validation errors are shown with the typed value kept (inner space, pasted mask)',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const details = [];
      page.on('response', async (r) => {
        if (r.request().method() === 'PUT') details.push({ status: r.status(), body: await r.json().catch(() => null) });
      });
      await editButtonOf(page, target.id).click();
      const input = inputOf(page, target.id);
      const error = editorErrorOf(page, target.id);

      for (const bad of ['sk-abc defghijklmnop', 'sk-...abcd']) {
        details.length = 0;
        await input.fill(bad);
        await saveButtonOf(page, target.id).click();
        await waitUntil(() => details.length === 1, { message: 'PUT answered' });
        const [{ status, body }] = details;
        assert.ok(status === 422 || status === 400, `server refused ${JSON.stringify(bad)} (got ${status})`);
        assert.equal(typeof body.detail, 'string');
        await waitForText(error, body.detail, { exact: true });
        assert.equal(await error.getAttribute('role'), 'alert');
        assert.equal(await input.inputValue(), bad, 'typed value kept');
        assert.equal(await input.getAttribute('aria-invalid'), 'true');
        assert.ok((await input.getAttribute('aria-describedby')).includes(await error.getAttribute('id')),
          'the error describes the input');
        await waitUntil(() => input.evaluate((el) => document.activeElement === el), { message: 'focus back in input' });
        assert.equal(await input.isEnabled(), true);
        assert.equal(await saveButtonOf(page, target.id).isEnabled(), true);
        await waitForText(chipOf(page, target.id), 'Not configured', { exact: true });
        assert.equal(await messageOf(page, target.id).isHidden(), true, 'no success message');
      }
      // Typing again clears the error.
      await input.press('End');
      await input.press('Backspace');
      assert.equal(await input.getAttribute('aria-invalid'), null);
      assert.equal(await error.isHidden(), true);
    },
  },

  {
    name: 'Save is disabled while the trimmed input is empty; Enter then sends nothing',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const id = none[0].id;
      const requests = recordRequests(page);
      await editButtonOf(page, id).click();
      const input = inputOf(page, id);
      const save = saveButtonOf(page, id);
      assert.equal(await save.isDisabled(), true, 'empty');
      await input.fill('    ');
      assert.equal(await save.isDisabled(), true, 'only spaces');
      await input.press('Enter');
      await input.fill('\t  ');
      assert.equal(await save.isDisabled(), true, 'only blanks');
      await input.press('Enter');
      await page.waitForTimeout(300);
      assert.equal(puts(requests).length, 0, 'no PUT for blanks');
      assert.equal(await input.isVisible(), true, 'editor still open');
      await input.fill('x');
      assert.equal(await save.isEnabled(), true, 'something typed');
      await input.fill('');
      assert.equal(await save.isDisabled(), true, 'emptied again');
    },
  },

  {
    name: 'the show/hide toggle reveals and hides the key and names what it does',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const id = none[0].id;
      await editButtonOf(page, id).click();
      const input = inputOf(page, id);
      await input.fill('sk-secret-to-peek-at');
      const toggle = rowOf(page, id).getByRole('button', { name: 'Show key', exact: true });
      assert.equal(await toggle.count(), 1, 'toggle named "Show key"');
      assert.equal(await input.getAttribute('type'), 'password');
      await toggle.click();
      assert.equal(await input.getAttribute('type'), 'text');
      const hide = rowOf(page, id).getByRole('button', { name: 'Hide key', exact: true });
      assert.equal(await hide.count(), 1, 'now named "Hide key"');
      await hide.focus();
      await page.keyboard.press('Space');
      assert.equal(await input.getAttribute('type'), 'password');
      assert.equal(await input.inputValue(), 'sk-secret-to-peek-at', 'value untouched');
    },
  },

  {
    name: 'Escape (and Cancel) close the editor without saving and return focus',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const id = none[0].id;
      const requests = recordRequests(page);

      await editButtonOf(page, id).click();
      await inputOf(page, id).fill('sk-never-saved-1234567');
      await inputOf(page, id).press('Escape');
      await inputOf(page, id).waitFor({ state: 'detached' });
      assert.equal(await editButtonOf(page, id).evaluate((el) => document.activeElement === el), true);

      await editButtonOf(page, id).click();
      assert.equal(await inputOf(page, id).inputValue(), '', 'a reopened editor is empty');
      await inputOf(page, id).fill('sk-never-saved-7654321');
      await rowOf(page, id).getByRole('button', { name: 'Cancel', exact: true }).click();
      await inputOf(page, id).waitFor({ state: 'detached' });
      assert.equal(await editButtonOf(page, id).evaluate((el) => document.activeElement === el), true);

      assert.equal(puts(requests).length, 0, 'nothing was sent');
      await waitForText(chipOf(page, id), 'Not configured', { exact: true });
      await waitForText(maskTextOf(page, id), 'No API key configured', { exact: true });
    },
  },

  {
    name: 'while saving, the row shows progress and its controls are disabled',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      let release;
      const gate = new Promise((resolve) => { release = resolve; });
      await page.route('**/api/users/me/api-keys', async (route) => {
        if (route.request().method() === 'PUT') await gate;
        await route.continue();
      });
      await editButtonOf(page, target.id).click();
      await inputOf(page, target.id).fill(fakeKey());
      await saveButtonOf(page, target.id).click();

      const row = rowOf(page, target.id);
      await waitUntil(async () => (await row.getAttribute('aria-busy')) === 'true', { message: 'row busy' });
      await waitForText(saveButtonOf(page, target.id), 'Saving…');
      await waitForText(messageOf(page, target.id), `Saving ${target.name} API key…`);
      assert.equal(await inputOf(page, target.id).isDisabled(), true, 'input disabled');
      assert.equal(await saveButtonOf(page, target.id).isDisabled(), true, 'save disabled');
      assert.equal(await row.getByRole('button', { name: 'Cancel' }).isDisabled(), true, 'cancel disabled');
      assert.equal(await editButtonOf(page, target.id).isDisabled(), true, 'row button disabled');
      await page.keyboard.press('Escape');
      assert.equal(await inputOf(page, target.id).count(), 1, 'Escape does not cancel a save in flight');

      release();
      await waitForText(messageOf(page, target.id), `${target.name} API key saved successfully.`, { exact: true });
      assert.equal(await row.getAttribute('aria-busy'), 'false');
      assert.equal(await editButtonOf(page, target.id).isEnabled(), true);
    },
  },
];
