// Accessibility: axe-core in the main states, light and dark; names, roles
// and live regions a screen reader relies on.

import {
  assert, apiPutKey, fakeKey, pickProviders, rowOf, editButtonOf, removeButtonOf, inputOf,
  saveButtonOf, saveKeyOnPage, messageOf, editorErrorOf, waitForText, waitUntil, assertNoAxeViolations,
} from '../lib/harness.mjs';

export default [
  {
    name: 'axe-core finds no violation in the list, editor and dialog states, light and dark',
    timeout: 120000,
    async fn(t) {
      for (const scheme of ['light', 'dark']) {
        const { context, page } = await t.openProfile({ colorScheme: scheme, axe: true });
        const { none } = await pickProviders(context);
        const [a, b] = none;
        await apiPutKey(context, b.id, fakeKey());
        await page.reload();
        await waitForText(rowOf(page, b.id).locator('.chip'), 'Configured');

        // The list, with every chip kind on it and a success message.
        await saveKeyOnPage(page, a.id);
        await assertNoAxeViolations(page, `list (${scheme})`);
        await t.screenshot(page, `profile-${scheme}`);

        // The editor open, then with a server error.
        await editButtonOf(page, b.id).click();
        await inputOf(page, b.id).fill('sk-has space-in-it-000');
        await assertNoAxeViolations(page, `editor open (${scheme})`);
        await saveButtonOf(page, b.id).click();
        await editorErrorOf(page, b.id).waitFor({ state: 'visible' });
        await waitUntil(async () => ((await editorErrorOf(page, b.id).textContent()) || '').length > 0,
          { message: 'the refusal is shown' });
        await assertNoAxeViolations(page, `editor with an error (${scheme})`);
        await t.screenshot(page, `profile-editing-${scheme}`);
        await inputOf(page, b.id).press('Escape');

        // The remove dialog open.
        await removeButtonOf(page, b.id).click();
        await page.getByRole('dialog').waitFor({ state: 'visible' });
        await assertNoAxeViolations(page, `remove dialog (${scheme})`);
        await page.keyboard.press('Escape');
        await page.getByRole('dialog').waitFor({ state: 'hidden' });
        await context.close();
      }
    },
  },

  {
    name: 'controls have names, messages sit in live regions, the dialog is labelled',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const p = none[0];
      // Row buttons say which provider they act on.
      const add = page.getByRole('button', { name: `Add key ${p.name} API key`, exact: true });
      assert.equal(await add.count(), 1, 'Add key button named for its provider');
      await add.click();
      const label = await inputOf(page, p.id).evaluate((el) => el.labels.length === 1 &&
        el.labels[0].checkVisibility() && el.labels[0].textContent);
      assert.equal(label, `${p.name} API key`, 'the input has a visible label');
      assert.equal(await page.getByLabel(`${p.name} API key`, { exact: true }).count(), 1);
      assert.equal(await page.getByRole('button', { name: 'Save' }).count(), 1);
      assert.equal(await page.getByRole('button', { name: 'Cancel' }).count(), 1);

      // Live regions exist before anything is said in them.
      assert.equal(await messageOf(page, p.id).getAttribute('role'), 'status');
      assert.equal(await editorErrorOf(page, p.id).getAttribute('role'), 'alert');
      assert.equal(await page.locator('#loading').getAttribute('role'), 'status');
      assert.equal(await page.locator('#load-error').getAttribute('role'), 'alert');

      await inputOf(page, p.id).fill(fakeKey());
      await page.keyboard.press('Enter');
      await waitForText(messageOf(page, p.id), `${p.name} API key saved successfully.`, { exact: true });
      assert.equal(await page.getByRole('status').filter({ hasText: 'saved successfully' }).count(), 1,
        'success is announced in a status region');

      await removeButtonOf(page, p.id).click();
      const dialog = page.getByRole('dialog', { name: `Remove your ${p.name} API key?` });
      await dialog.waitFor({ state: 'visible' });
      const described = await dialog.evaluate((d) => document.getElementById(d.getAttribute('aria-describedby')).textContent);
      assert.ok(described.includes(p.name), 'the dialog is described');
      // The page behind a modal dialog is inert.
      assert.equal(await page.evaluate(() => document.getElementById('remove-dialog').matches(':modal')), true);
      await page.keyboard.press('Escape');
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      assert.ok((await page.title()).includes('API Keys'));
    },
  },
];
