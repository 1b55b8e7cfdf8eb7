// This month's usage per provider (GET /api/users/me/usage) in each row:
// counted by the service from chat calls the mock provider answers.
// Needs `tests/stack.py run --mock-provider`.

import {
  assert, apiPutKey, apiUsage, fakeKey, pickProviders, recordRequests, rowOf, chipOf, messageOf,
  usageOf, verifyButtonOf, waitForList, waitForText,
} from '../lib/harness.mjs';

/** A chat call made the way any API client would, as the page's user. */
async function chat(page, user, provider) {
  const response = await page.request.post('/api/llm/chat', {
    headers: { 'X-Test-User': user, 'Content-Type': 'application/json' },
    data: { provider, model: 'mock-model', messages: [{ role: 'user', content: 'Hello' }] },
    timeout: 15000,
  });
  assert.equal(response.status(), 200, `chat with ${provider}: ${await response.text()}`);
}

export default [
  {
    name: 'usage this month: fetched with the list, counted from chat calls, refreshed after an action',
    needs: 'mock',
    async fn(t) {
      const { context, page, user } = await t.openProfile({
        locale: 'en-US',
        beforeGoto: (p) => { p.requests = recordRequests(p); },
      });
      const usageCalls = () => page.requests.filter((r) => r.url.endsWith('/api/users/me/usage')).length;
      const { none, system } = await pickProviders(context);
      const [a, b] = none;
      const gemini = system[0];

      // A new user: nothing yet where a key is in effect, no line where none is.
      await waitForText(usageOf(page, gemini.id), 'No requests yet', { exact: true });
      assert.equal(await usageOf(page, a.id).isHidden(), true, 'no usage line without a key');
      assert.equal(await rowOf(page, gemini.id).locator('.key-detail-usage dt').textContent(), 'This month');
      assert.equal(usageCalls(), 1, 'fetched once with the list');

      await apiPutKey(context, a.id, fakeKey());
      await t.mock.setUsage(1700, 600);
      await chat(page, user, a.id);
      await chat(page, user, a.id);
      await chat(page, user, gemini.id); // with the system key: counted for the user too
      const counted = (await apiUsage(context)).providers;
      const { requests, inputTokens, outputTokens, bySource } = counted[a.id];
      assert.deepEqual({ requests, inputTokens, outputTokens }, { requests: 2, inputTokens: 3400, outputTokens: 1200 });
      if (bySource) { // issue 13: the same calls, all with the user's key
        assert.deepEqual(bySource.user, { requests: 2, inputTokens: 3400, outputTokens: 1200 });
        assert.deepEqual(bySource.system, { requests: 0, inputTokens: 0, outputTokens: 0 });
      }

      await page.reload();
      await waitForList(page);
      await waitForText(usageOf(page, a.id), '2 requests, 3,400 tokens in, 1,200 out', { exact: true });
      await waitForText(usageOf(page, gemini.id), '1 request, 1,700 tokens in, 600 out', { exact: true });
      assert.equal(await usageOf(page, b.id).isHidden(), true);

      // One more call elsewhere; the next action on the page shows it.
      await chat(page, user, a.id);
      await verifyButtonOf(page, a.id).click();
      await waitForText(messageOf(page, a.id), 'accepted the key');
      await waitForText(usageOf(page, a.id), '3 requests, 5,100 tokens in, 1,800 out', { exact: true });
      await waitForText(usageOf(page, gemini.id), '1 request, 1,700 tokens in, 600 out', { exact: true });
      await waitForText(chipOf(page, a.id), 'Configured', { exact: true });
    },
  },

  {
    name: 'usage is left out when its call fails; the rows and Verify still work',
    needs: 'mock',
    async fn(t) {
      let failUsage = true;
      const { context, page } = await t.openProfile({
        beforeGoto: (p) => p.route('**/api/users/me/usage', (route) => (failUsage
          ? route.fulfill({ status: 503, json: { detail: 'Key store unavailable' } })
          : route.continue())),
      });
      const { system } = await pickProviders(context);
      const gemini = system[0];
      await waitForText(chipOf(page, gemini.id), 'Using system key', { exact: true });
      assert.equal(await page.locator('.key-detail-usage:visible').count(), 0, 'no usage lines');
      assert.equal(await page.locator('#load-error').isHidden(), true, 'not an error of the page');

      await verifyButtonOf(page, gemini.id).click();
      await waitForText(messageOf(page, gemini.id), `${gemini.name} accepted the key.`, { exact: true });
      assert.equal(await page.locator('.key-detail-usage:visible').count(), 0, 'still none');

      // Once the call works again, the next action brings the numbers.
      failUsage = false;
      await verifyButtonOf(page, gemini.id).click();
      await waitForText(usageOf(page, gemini.id), 'No requests yet', { exact: true });
    },
  },
];
