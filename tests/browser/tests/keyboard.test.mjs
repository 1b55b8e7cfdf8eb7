// Everything with the keyboard alone, focus always visible.

import {
  assert, fakeKey, maskOf, pickProviders, chipOf, maskTextOf, editButtonOf, removeButtonOf,
  inputOf, messageOf, waitForText, waitUntil,
} from '../lib/harness.mjs';

const isFocused = (locator) => locator.evaluate((el) => document.activeElement === el);

/** The focused element shows a focus ring of at least 2px. */
async function assertFocusVisible(page, what) {
  const ring = await page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
      tag: el.tagName,
      focusVisible: el.matches(':focus-visible'),
      outline: style.outlineStyle,
      width: parseFloat(style.outlineWidth),
    };
  });
  assert.ok(ring.focusVisible && ring.outline !== 'none' && ring.width >= 2,
    `focus ring on ${what} (${ring.tag}): ${JSON.stringify(ring)}`);
}

/** Press Tab (or Shift+Tab) until `locator` has focus, checking each stop's ring. */
async function tabTo(page, locator, what, { back = false, max = 60 } = {}) {
  for (let i = 0; i < max; i += 1) {
    if (await isFocused(locator)) {
      await assertFocusVisible(page, what);
      return;
    }
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const onBody = await page.evaluate(() => document.activeElement === document.body);
    if (!onBody) await assertFocusVisible(page, `a stop on the way to ${what}`);
  }
  throw new Error(`could not reach ${what} with the Tab key`);
}

export default [
  {
    name: 'keyboard only: add, update, cancel and remove a key, with a visible focus ring',
    timeout: 120000,
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none } = await pickProviders(context);
      const target = none[0];
      const add = editButtonOf(page, target.id);

      // Add: Tab to "Add key", Enter opens the editor, typing, Enter saves.
      await tabTo(page, add, 'Add key');
      await page.keyboard.press('Enter');
      await waitUntil(() => isFocused(inputOf(page, target.id)), { message: 'input focused' });
      await assertFocusVisible(page, 'the key input');
      const first = fakeKey();
      await page.keyboard.type(first);
      await page.keyboard.press('Enter');
      await waitForText(messageOf(page, target.id), `${target.name} API key saved successfully.`, { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(first), { exact: true });
      await waitUntil(() => isFocused(add), { message: 'focus back on the row button' });
      await assertFocusVisible(page, 'Update');

      // Update: Space on "Update", type, Tab to the toggle and through to Save.
      await page.keyboard.press('Space');
      await waitUntil(() => isFocused(inputOf(page, target.id)), { message: 'input focused' });
      const second = fakeKey('sk-proj-');
      await page.keyboard.type(second);
      await page.keyboard.press('Tab'); // show/hide
      await assertFocusVisible(page, 'the show/hide toggle');
      await page.keyboard.press('Enter');
      assert.equal(await inputOf(page, target.id).getAttribute('type'), 'text', 'toggle by keyboard');
      await page.keyboard.press('Tab'); // the expiry choice
      await assertFocusVisible(page, 'the expiry choice');
      await page.keyboard.press('Tab'); // Save
      await assertFocusVisible(page, 'Save');
      await page.keyboard.press('Enter');
      await waitForText(messageOf(page, target.id), `${target.name} API key saved successfully.`, { exact: true });
      await waitForText(maskTextOf(page, target.id), maskOf(second), { exact: true });
      await waitUntil(() => isFocused(add), { message: 'focus back on Update' });

      // Escape cancels.
      await page.keyboard.press('Enter');
      await waitUntil(() => isFocused(inputOf(page, target.id)), { message: 'input focused' });
      await page.keyboard.type('sk-abandoned-edit-000');
      await page.keyboard.press('Escape');
      await inputOf(page, target.id).waitFor({ state: 'detached' });
      await waitUntil(() => isFocused(add), { message: 'focus back after Escape' });
      await waitForText(maskTextOf(page, target.id), maskOf(second), { exact: true });

      // Remove: Tab to Remove, Enter, Escape keeps; again, Tab to "Remove key", Enter.
      const remove = removeButtonOf(page, target.id);
      await tabTo(page, remove, 'Remove');
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog');
      await dialog.waitFor({ state: 'visible' });
      await waitUntil(() => isFocused(dialog.getByRole('button', { name: 'Cancel' })), { message: 'Cancel focused' });
      await assertFocusVisible(page, 'dialog Cancel');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await waitUntil(() => isFocused(remove), { message: 'focus back on Remove' });
      await waitForText(chipOf(page, target.id), 'Configured', { exact: true });

      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'visible' });
      await page.keyboard.press('Tab');
      assert.equal(await isFocused(dialog.getByRole('button', { name: 'Remove key' })), true,
        'Tab moves to "Remove key"');
      await assertFocusVisible(page, 'dialog Remove key');
      await page.keyboard.press('Enter');
      await waitForText(messageOf(page, target.id), `${target.name} API key removed successfully.`, { exact: true });
      await waitForText(chipOf(page, target.id), 'Not configured', { exact: true });
      await waitUntil(() => isFocused(add), { message: 'focus on Add key after removal' });
      await waitForText(add, 'Add key');
    },
  },
];
