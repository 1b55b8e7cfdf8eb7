// No full key ever comes back: not in a response, not in the page.

import {
  assert, fakeKey, maskOf, pickProviders, recordResponses, chipOf, maskTextOf, editButtonOf,
  removeButtonOf, inputOf, saveButtonOf, messageOf, editorErrorOf, waitForText, waitUntil,
} from '../lib/harness.mjs';

/** Everything the page could still show or hold. */
function pageContents(page) {
  return page.evaluate(() => ({
    text: document.body.innerText,
    html: document.documentElement.outerHTML,
    inputs: [...document.querySelectorAll('input, textarea')].map((el) => el.value),
    storage: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    title: document.title,
    url: location.href,
  }));
}

function assertNoKey(contents, keys, when) {
  for (const key of keys) {
    // The mask shares 7 characters with the key; anything longer is a leak.
    const core = key.slice(3, -4);
    for (const [where, value] of Object.entries(contents)) {
      const values = Array.isArray(value) ? value : [value];
      for (const v of values) {
        assert.ok(!v.includes(core), `${when}: a typed key appears in ${where}`);
      }
    }
  }
}

export default [
  {
    name: 'no response body, DOM text or input value ever holds a full key the test typed',
    async fn(t) {
      const { context, page } = await t.openProfile();
      const responses = recordResponses(page);
      const { none, system } = await pickProviders(context);
      const a = none[0];
      const b = system[0];
      const typed = [];

      const save = async (provider, key) => {
        typed.push(key);
        await editButtonOf(page, provider.id).click();
        await inputOf(page, provider.id).fill(key);
        await saveButtonOf(page, provider.id).click();
        await waitForText(messageOf(page, provider.id), `${provider.name} API key saved successfully.`, { exact: true });
        await waitForText(maskTextOf(page, provider.id), maskOf(key), { exact: true });
        assertNoKey(await pageContents(page), typed, `after saving ${provider.id}`);
      };

      await save(a, fakeKey());
      await save(a, fakeKey('sk-proj-')); // update
      await save(b, fakeKey('AIza-'));

      // A refused key: the server's answer must not echo it; once the editor
      // is cancelled the page holds it no more.
      const refused = `${fakeKey('sk-')} tail`;
      typed.push(refused.split(' ')[0]);
      await editButtonOf(page, a.id).click();
      await inputOf(page, a.id).fill(refused);
      await saveButtonOf(page, a.id).click();
      await editorErrorOf(page, a.id).waitFor({ state: 'visible' });
      await waitUntil(async () => ((await editorErrorOf(page, a.id).textContent()) || '').length > 0,
        { message: 'the refusal is shown' });
      await inputOf(page, a.id).press('Escape');
      await inputOf(page, a.id).waitFor({ state: 'detached' });
      assertNoKey(await pageContents(page), typed, 'after a refused key');

      // Remove, reload: still nothing.
      await removeButtonOf(page, b.id).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Remove key' }).click();
      await waitForText(chipOf(page, b.id), 'Using system key', { exact: true });
      await page.reload();
      await waitForText(maskTextOf(page, a.id), '...');
      assertNoKey(await pageContents(page), typed, 'after reload');

      await responses.settle();
      assert.ok(responses.bodies.some((r) => r.url.includes('/api/users/me/api-keys')),
        'the PUT responses were seen');
      for (const r of responses.bodies) {
        for (const key of typed) {
          assert.ok(!r.text.includes(key.slice(3, -4)), `response of ${r.url} (${r.status}) holds a typed key`);
        }
      }
    },
  },
];
