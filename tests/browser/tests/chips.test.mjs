// The status chip of each row: Configured / Using system key / Not configured.

import {
  assert, apiProviders, apiPutKey, fakeKey, maskOf, pickProviders, rowOf, chipOf, maskTextOf,
  editButtonOf, removeButtonOf, waitForList, waitForText, parseRgb,
} from '../lib/harness.mjs';

function expectedChip(p) {
  if (p.userKeys !== false && p.userKey && p.userKey.error) return 'Key unreadable';
  if (p.userKeys !== false && p.userKey && p.userKey.configured) return 'Configured';
  if (p.source === 'env') return 'Using system key';
  return 'Not configured';
}

async function chipColour(page, id) {
  return parseRgb(await chipOf(page, id).evaluate((el) => getComputedStyle(el).backgroundColor));
}

export default [
  {
    name: 'status chips: "Not configured" (gray), "Using system key", "Configured" (green), as the API says',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const { none, system } = await pickProviders(context);
      const plain = none[0].id;
      const withSystem = system[0].id;

      // A new user: every chip matches the API; no masks.
      for (const p of await apiProviders(context)) {
        await waitForText(chipOf(page, p.id), expectedChip(p), { exact: true });
      }
      await waitForText(chipOf(page, plain), 'Not configured', { exact: true });
      await waitForText(chipOf(page, withSystem), 'Using system key', { exact: true });
      await waitForText(maskTextOf(page, plain), 'No API key configured', { exact: true });
      await waitForText(maskTextOf(page, withSystem), 'No API key configured', { exact: true });
      await waitForText(editButtonOf(page, plain), 'Add key');
      assert.equal(await removeButtonOf(page, plain).isHidden(), true, 'nothing to remove');
      await waitForText(rowOf(page, withSystem).locator('.provider-note'), 'system-wide key');

      // The system keys the stack started with decide the chips of a new
      // user; a variable set to the empty string counts as unset.
      for (const p of await apiProviders(context)) {
        if (!p.userKeys || !(p.envVar in t.env.systemKeys)) continue;
        const set = t.env.systemKeys[p.envVar] !== '';
        await waitForText(chipOf(page, p.id), set ? 'Using system key' : 'Not configured', { exact: true });
      }

      const [r, g, b] = await chipColour(page, plain);
      assert.ok(Math.max(r, g, b) - Math.min(r, g, b) < 30, `"Not configured" is gray: rgb(${r},${g},${b})`);

      // The user's own keys: "Configured", also where a system key exists
      // (the user's key takes precedence).
      const k1 = fakeKey();
      const k2 = fakeKey('AIza-user-');
      await apiPutKey(context, plain, k1);
      await apiPutKey(context, withSystem, k2);
      await page.reload();
      await waitForList(page);
      for (const p of await apiProviders(context)) {
        await waitForText(chipOf(page, p.id), expectedChip(p), { exact: true });
      }
      await waitForText(chipOf(page, plain), 'Configured', { exact: true });
      await waitForText(chipOf(page, withSystem), 'Configured', { exact: true });
      await waitForText(maskTextOf(page, plain), maskOf(k1), { exact: true });
      await waitForText(maskTextOf(page, withSystem), maskOf(k2), { exact: true });
      assert.equal(await maskTextOf(page, plain).locator('code').count(), 1, 'mask in monospace');
      const font = await maskTextOf(page, plain).locator('code')
        .evaluate((el) => getComputedStyle(el).fontFamily);
      assert.match(font, /mono/i);
      await waitForText(editButtonOf(page, plain), 'Update');
      assert.equal(await removeButtonOf(page, plain).isVisible(), true);
      await waitForText(rowOf(page, withSystem).locator('.provider-note'), 'takes precedence');

      const [r2, g2, b2] = await chipColour(page, plain);
      assert.ok(g2 > r2 + 20 && g2 > b2, `"Configured" is green: rgb(${r2},${g2},${b2})`);
    },
  },
];
