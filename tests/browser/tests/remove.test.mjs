// Remove, behind a confirmation dialog.

import {
  assert, apiProviders, apiPutKey, fakeKey, maskOf, pickProviders, recordRequests, rowOf,
  chipOf, maskTextOf, editButtonOf, removeButtonOf, messageOf, waitForText, waitUntil,
} from '../lib/harness.mjs';

const deletes = (requests) => requests.filter((r) => r.method === 'DELETE');
const isFocused = (locator) => locator.evaluate((el) => document.activeElement === el);

export default [
  {
    name: 'remove asks for confirmation: Cancel, Escape or a click outside keep the key; confirming removes it',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none, system } = await pickProviders(context);
      const plain = none[0];
      const withSystem = system[0];
      const k1 = fakeKey();
      const k2 = fakeKey('AIza-user-');
      await apiPutKey(context, plain.id, k1);
      await apiPutKey(context, withSystem.id, k2);
      await page.reload();
      await waitForText(maskTextOf(page, plain.id), maskOf(k1), { exact: true });
      const requests = recordRequests(page);
      const dialog = page.getByRole('dialog');

      // Cancel keeps the key.
      await removeButtonOf(page, plain.id).click();
      await dialog.waitFor({ state: 'visible' });
      await waitForText(dialog.locator('h2'), `Remove your ${plain.name} API key?`, { exact: true });
      await waitForText(dialog, 'unavailable to you');
      assert.equal(await isFocused(dialog.getByRole('button', { name: 'Cancel' })), true,
        'focus starts on Cancel, the safe choice');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await isFocused(removeButtonOf(page, plain.id)), true, 'focus back on Remove');
      await waitForText(maskTextOf(page, plain.id), maskOf(k1), { exact: true });

      // Escape keeps the key too.
      await removeButtonOf(page, plain.id).click();
      await dialog.waitFor({ state: 'visible' });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      // So does a click beside the dialog.
      await removeButtonOf(page, plain.id).click();
      await dialog.waitFor({ state: 'visible' });
      await page.mouse.click(5, 5);
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(deletes(requests).length, 0, 'nothing deleted');
      await waitForText(chipOf(page, plain.id), 'Configured', { exact: true });

      // Confirm removes it.
      await removeButtonOf(page, plain.id).click();
      await dialog.waitFor({ state: 'visible' });
      await t.screenshot(page, 'profile-remove-dialog', { fullPage: false });
      await dialog.getByRole('button', { name: 'Remove key' }).click();
      await waitForText(messageOf(page, plain.id), `${plain.name} API key removed successfully.`, { exact: true });
      await waitForText(chipOf(page, plain.id), 'Not configured', { exact: true });
      await waitForText(maskTextOf(page, plain.id), 'No API key configured', { exact: true });
      await waitForText(editButtonOf(page, plain.id), 'Add key');
      assert.equal(await removeButtonOf(page, plain.id).isHidden(), true);
      await waitUntil(() => isFocused(editButtonOf(page, plain.id)), { message: 'focus on Add key' });
      assert.equal(deletes(requests).length, 1);

      // Removing where a system key exists falls back to it.
      await removeButtonOf(page, withSystem.id).click();
      await waitForText(dialog, 'The system-wide key will be used instead.');
      await dialog.getByRole('button', { name: 'Remove key' }).click();
      await waitForText(messageOf(page, withSystem.id), `${withSystem.name} API key removed successfully.`, { exact: true });
      await waitForText(chipOf(page, withSystem.id), 'Using system key', { exact: true });

      const after = await apiProviders(context);
      assert.equal(after.find((p) => p.id === plain.id).userKey.configured, false);
      assert.equal(after.find((p) => p.id === withSystem.id).source, 'env');
      // Other rows untouched.
      assert.equal(await rowOf(page, none[1].id).locator('.row-message').isHidden(), true);
    },
  },
];
