// The Activity section (issue 13): the user's key activity from GET
// /api/users/me/api-keys/activity, newest first, 20 at a time, "Show older"
// following the answer's cursor, fetched again after every save, removal
// and check made on the page.

import {
  assert, Skip, apiCall, apiPutKey, assertNoAxeViolations, fakeKey, maskOf, pickProviders,
  removeButtonOf, verifyButtonOf, messageOf, waitForList, waitForText, waitUntil,
} from '../lib/harness.mjs';

const ACTIVITY = '/api/users/me/api-keys/activity';

/** Stream ids ("<ms>-<seq>") in the order they were added. */
function compareIds(x, y) {
  const [xm, xs] = x.split('-').map(BigInt);
  const [ym, ys] = y.split('-').map(BigInt);
  return xm === ym ? (xs < ys ? -1 : xs > ys ? 1 : 0) : (xm < ym ? -1 : 1);
}

const items = (page) => page.locator('#activity-list > li');

async function shown(page) {
  return items(page).evaluateAll((lis) => lis.map((li) => ({
    id: li.dataset.id,
    what: li.querySelector('.activity-what').textContent,
    meta: li.querySelector('.activity-meta').textContent,
  })));
}

export default [
  {
    name: 'Activity: newest 20 with provider, source and client; "Show older" follows the cursor; refreshed after actions',
    timeout: 120000,
    async fn(t) {
      const { context, page } = await t.openProfile({ locale: 'en-US', axe: true });
      const { none } = await pickProviders(context);
      const [a, b] = none;
      const keys = [];
      const put = async (id) => {
        const key = fakeKey();
        keys.push(key);
        await apiPutKey(context, id, key);
      };
      await put(a.id); // the oldest entry: added
      await put(b.id); // added
      for (let i = 0; i < 23; i++) await put(a.id); // replaced, 23 times

      const first = await apiCall(context, 'GET', `${ACTIVITY}?limit=20`);
      if (first.status === 404 || first.status === 405) {
        throw new Skip(`the service has no ${ACTIVITY} yet (HTTP ${first.status}; issue 13, branch activity)`);
      }
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.entries.length, 20);
      assert.equal(first.body.cursor, first.body.entries[19].id, 'cursor: the id of the last entry');
      const older = await apiCall(context, 'GET', `${ACTIVITY}?limit=20&cursor=${encodeURIComponent(first.body.cursor)}`);
      assert.equal(older.status, 200);
      assert.equal(older.body.entries.length, 5);
      assert.equal(older.body.cursor, null, 'nothing older');
      const all = [...first.body.entries, ...older.body.entries];
      const ids = all.map((e) => e.id);
      assert.deepEqual([...ids].sort(compareIds).reverse(), ids, 'newest first');
      assert.deepEqual(all.map((e) => `${e.action} ${e.provider}`),
        [...Array(23).fill(`replaced ${a.id}`), `added ${b.id}`, `added ${a.id}`]);
      const text = JSON.stringify(all);
      for (const key of keys) {
        assert.ok(!text.includes(key) && !text.includes(maskOf(key)), 'no key material in the trail');
      }
      const client = all[0].client;
      assert.equal(client, '127.0.0.1', 'the client address nginx saw');

      // The page: the newest 20.
      await page.reload();
      await waitForList(page);
      await waitUntil(async () => (await items(page).count()) === 20, { message: '20 entries shown' });
      let rows = await shown(page);
      assert.deepEqual(rows.map((r) => r.id), ids.slice(0, 20), 'the API\'s entries, in its order');
      assert.equal(rows[0].what, `${a.name}: Key replaced`);
      assert.match(rows[0].meta, /^just now \(.* UTC\) · Your key · from 127\.0\.0\.1$/);
      const showOlder = page.getByRole('button', { name: 'Show older', exact: true });
      assert.equal(await showOlder.isVisible(), true, 'more to show');
      await assertNoAxeViolations(page, 'Activity, first page');

      // The next page, appended; nothing older after it.
      await showOlder.click();
      await waitUntil(async () => (await items(page).count()) === 25, { message: '25 entries shown' });
      rows = await shown(page);
      assert.deepEqual(rows.map((r) => r.id), ids);
      assert.equal(rows[23].what, `${b.name}: Key added`);
      assert.equal(rows[24].what, `${a.name}: Key added`);
      await waitForText(page.locator('#activity-status'), '5 older entries shown; nothing older.', { exact: true });
      assert.equal(await page.locator('#activity-status').getAttribute('role'), 'status');
      assert.equal(await page.locator('#activity-older').isHidden(), true, 'no more to show');
      assert.equal(await items(page).nth(20).evaluate((li) => document.activeElement === li), true,
        'focus on the first entry added, the button being gone');
      await assertNoAxeViolations(page, 'Activity, all pages');
      await t.screenshot(page, 'issue13-activity');

      // On a phone the entries wrap; nothing scrolls sideways.
      await page.setViewportSize({ width: 360, height: 780 });
      const widths = await page.evaluate(() => [document.documentElement.scrollWidth,
        document.documentElement.clientWidth]);
      assert.ok(widths[0] <= widths[1], `no sideways scrolling at 360px (${widths.join(' > ')})`);
      await t.screenshot(page, 'issue13-activity-phone');
      await page.setViewportSize({ width: 1100, height: 900 });

      // A removal on the page: the list starts again from the newest.
      await removeButtonOf(page, b.id).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Remove key' }).click();
      await waitForText(messageOf(page, b.id), 'removed successfully');
      await waitForText(items(page).first().locator('.activity-what'), `${b.name}: Key removed`, { exact: true });
      await waitUntil(async () => (await items(page).count()) === 20, { message: 'first page again' });
      assert.equal(await showOlder.isVisible(), true);

      // A check, when the mock provider answers.
      if (t.mock) {
        await verifyButtonOf(page, a.id).click();
        await waitForText(messageOf(page, a.id), 'accepted the key');
        await waitForText(items(page).first().locator('.activity-what'), `${a.name}: Key checked: accepted`,
          { exact: true });
      }
    },
  },

  {
    name: 'Activity: a new user sees "No activity yet"; a failed load says why and offers to load it again',
    async fn(t) {
      const { page } = await t.openProfile({ locale: 'en-US', axe: true });
      const probe = await apiCall(page.context(), 'GET', ACTIVITY);
      if (probe.status === 404 || probe.status === 405) {
        throw new Skip(`the service has no ${ACTIVITY} yet (HTTP ${probe.status}; issue 13, branch activity)`);
      }
      await waitForText(page.locator('#activity-empty'), 'No activity yet.', { exact: true });
      assert.equal(await page.locator('#activity-list').isHidden(), true);
      assert.equal(await page.locator('#activity-older').isHidden(), true);

      // Redis down: the section says so; Retry brings the list back.
      await t.redis('stop');
      try {
        await page.reload();
        await waitForText(page.locator('#activity-error'), 'Could not load your activity');
        assert.equal(await page.locator('#activity-error').getAttribute('role'), 'alert');
        await assertNoAxeViolations(page, 'Activity that could not be loaded');
      } finally {
        await t.redis('start');
      }
      await page.getByRole('button', { name: 'Load activity again', exact: true }).click();
      await waitForText(page.locator('#activity-empty'), 'No activity yet.', { exact: true });
      assert.equal(await page.locator('#activity-heading').evaluate((h) => document.activeElement === h), true,
        'focus on the section once it loaded');
    },
  },
];
