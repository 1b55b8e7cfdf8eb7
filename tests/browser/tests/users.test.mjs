// Two users side by side never see each other's keys.

import {
  assert, apiProviders, fakeKey, maskOf, pickProviders, uniqueUser, chipOf, maskTextOf,
  editButtonOf, inputOf, messageOf, waitForList, waitForText,
} from '../lib/harness.mjs';

async function addKey(page, provider, key) {
  await editButtonOf(page, provider.id).click();
  await inputOf(page, provider.id).fill(key);
  await inputOf(page, provider.id).press('Enter');
  await waitForText(messageOf(page, provider.id), `${provider.name} API key saved successfully.`, { exact: true });
}

export default [
  {
    name: 'two users never see each other\'s keys',
    async fn(t) {
      const alice = await t.openProfile({ user: uniqueUser('alice') });
      const bob = await t.openProfile({ user: uniqueUser('bob') });
      await waitForText(alice.page.locator('#whoami'), alice.user);
      await waitForText(bob.page.locator('#whoami'), bob.user);
      const { none } = await pickProviders(alice.context);
      const target = none[0];

      const aliceKey = fakeKey('sk-alice-');
      await addKey(alice.page, target, aliceKey);

      await bob.page.reload();
      await waitForList(bob.page);
      await waitForText(chipOf(bob.page, target.id), 'Not configured', { exact: true });
      await waitForText(maskTextOf(bob.page, target.id), 'No API key configured', { exact: true });
      const bobText = await bob.page.evaluate(() => document.documentElement.outerHTML);
      assert.ok(!bobText.includes(maskOf(aliceKey)), 'bob\'s page never shows alice\'s mask');
      assert.ok(!bobText.includes(alice.user), 'nor her name');

      const bobKey = fakeKey('sk-bob-');
      await addKey(bob.page, target, bobKey);

      await alice.page.reload();
      await waitForList(alice.page);
      await waitForText(maskTextOf(alice.page, target.id), maskOf(aliceKey), { exact: true });
      await waitForText(maskTextOf(bob.page, target.id), maskOf(bobKey), { exact: true });
      const aliceText = await alice.page.evaluate(() => document.documentElement.outerHTML);
      assert.ok(!aliceText.includes(maskOf(bobKey)), 'alice\'s page never shows bob\'s mask');

      // The API agrees, each user seeing only their own.
      const a = (await apiProviders(alice.context)).find((p) => p.id === target.id);
      const b = (await apiProviders(bob.context)).find((p) => p.id === target.id);
      assert.equal(a.userKey.masked, maskOf(aliceKey));
      assert.equal(b.userKey.masked, maskOf(bobKey));
    },
  },
];
