// A key's life on its row (issue 13): when it was last used, the expiry
// chosen when saving it and the warning in its last 7 days, the row of a key
// that expired, the flag of a key the provider rejected, and the meter of
// the system-wide key's monthly allowance with the message once it is spent.
//
// The service's answers drive everything: the mock provider answers the
// chat and verify calls, and the one thing a browser test cannot wait for,
// a key reaching its expiry, is brought about by writing the key's
// `<field>:expiresAt` (src/keystore.h) into the past in the stack's Redis.
// A test that finds the service without the fields it tests skips, saying
// which; the allowance test needs the stack started with
// `--service-env GEMINI_SYSTEM_KEY_MONTHLY_TOKENS=100000` (scripts/check).

import {
  assert, Skip, apiChat, apiProviders, apiPutKey, assertNoAxeViolations, chipOf,
  editButtonOf, expiresOf, fakeKey, flagOf, inputOf, lastUsedOf, messageOf, alertOf, pickProviders,
  recordRequests, rowOf, saveButtonOf, saveKeyOnPage, verifyButtonOf, waitForList, waitForText, waitUntil,
} from '../lib/harness.mjs';

const DAY_MS = 24 * 60 * 60 * 1000;
const PREFIX = 'gofannon'; // the stack leaves GOFANNON_REDIS_PREFIX at its default

/** The provider's entry of GET /api/providers. */
async function providerOf(context, id) {
  return (await apiProviders(context)).find((p) => p.id === id);
}

/** Skip unless the service reports `field` in a stored key's userKey. */
function needUserKeyField(entry, field, branch) {
  if (!entry.userKey || !(field in entry.userKey)) {
    throw new Skip(`the service does not report userKey.${field} yet (issue 13, branch ${branch})`);
  }
}

/** The <time> of a cell: its instant, tooltip and visually hidden text. */
async function timeIn(locator) {
  return locator.evaluate((dd) => {
    const time = dd.querySelector('time');
    const hidden = dd.querySelector('.visually-hidden');
    return time && {
      text: time.textContent,
      at: new Date(time.dateTime).getTime(),
      title: time.title,
      hidden: hidden ? hidden.textContent : null,
    };
  });
}

/** "22:51": the UTC hour and minute the exact time must show. */
const utcClock = (ms) => new Date(ms).toISOString().slice(11, 16);

const OPEN = { locale: 'en-US', timezoneId: 'America/New_York' };

export default [
  {
    name: 'last used: "Never" for a new key, "just now" after a chat, "3 hours ago" with the exact UTC time',
    needs: 'mock',
    async fn(t) {
      const { context, page } = await t.openProfile({ ...OPEN, axe: true });
      const { none } = await pickProviders(context);
      const p = none[0];
      await apiPutKey(context, p.id, fakeKey());
      needUserKeyField(await providerOf(context, p.id), 'lastUsedAt', 'activity');

      await page.reload();
      await waitForList(page);
      await waitForText(lastUsedOf(page, p.id), 'Never', { exact: true });
      assert.equal(await rowOf(page, p.id).locator('.key-detail-last-used dt').textContent(), 'Last used');

      const chat = await apiChat(context, p.id);
      assert.equal(chat.status, 200, `chat with the user key: ${JSON.stringify(chat.body)}`);
      const usedAt = new Date((await providerOf(context, p.id)).userKey.lastUsedAt).getTime();
      assert.ok(Math.abs(usedAt - Date.now()) < 120000, 'lastUsedAt is the time of the chat');

      await page.reload();
      await waitForList(page);
      await waitForText(lastUsedOf(page, p.id), 'just now');
      let time = await timeIn(lastUsedOf(page, p.id));
      assert.equal(time.at, usedAt, 'the <time> carries the instant');
      assert.match(time.title, new RegExp(`${utcClock(usedAt)} UTC$`), 'the tooltip is the exact UTC time');
      assert.match(time.hidden, new RegExp(`\\(.*${utcClock(usedAt)} UTC\\)`), 'so is the hidden text');

      // Three hours and ten minutes later by the reader's clock.
      const later = await t.newPage(context);
      await later.clock.setFixedTime(new Date(usedAt + 3 * 3600 * 1000 + 10 * 60 * 1000));
      await later.goto('/profile/api-keys');
      await waitForList(later);
      await waitForText(lastUsedOf(later, p.id), '3 hours ago');
      time = await timeIn(lastUsedOf(later, p.id));
      assert.equal(time.text, '3 hours ago');
      assert.match(time.title, new RegExp(`${utcClock(usedAt)} UTC$`));
      await assertNoAxeViolations(later, 'row with "last used"');
      await t.screenshot(later, 'issue13-last-used');
    },
  },

  {
    name: 'expiry: the editor offers never, 30, 90 and 365 days; the choice goes out as expiresInDays and comes back on the row',
    async fn(t) {
      const { context, page } = await t.openProfile({ ...OPEN, axe: true });
      const requests = recordRequests(page);
      const { none } = await pickProviders(context);
      const p = none[0];

      await editButtonOf(page, p.id).click();
      const select = page.getByLabel('Key expires', { exact: true });
      assert.equal(await select.count(), 1, 'the expiry choice is labelled');
      const options = await select.locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
      assert.deepEqual(options, [['', 'Never'], ['30', 'In 30 days'], ['90', 'In 90 days'], ['365', 'In 365 days']]);
      assert.equal(await select.inputValue(), '', 'never by default');
      await assertNoAxeViolations(page, 'editor with the expiry choice');

      await select.selectOption('30');
      await inputOf(page, p.id).fill(fakeKey());
      await saveButtonOf(page, p.id).click();
      await waitForText(messageOf(page, p.id), `${p.name} API key saved successfully. It expires on `);
      const put = requests.filter((r) => r.method === 'PUT').pop();
      assert.equal(JSON.parse(put.postData).expiresInDays, 30, 'sent as expiresInDays');

      let entry = await providerOf(context, p.id);
      needUserKeyField(entry, 'expiresAt', 'activity');
      const expiresAt = new Date(entry.userKey.expiresAt).getTime();
      assert.ok(Math.abs(expiresAt - (Date.now() + 30 * DAY_MS)) < 120000,
        `expiresAt ${entry.userKey.expiresAt} is 30 days ahead`);
      assert.equal(entry.userKey.expiresSoon, false);
      await waitForText(expiresOf(page, p.id), 'in 30 days (');
      assert.equal((await timeIn(expiresOf(page, p.id))).at, expiresAt);
      assert.equal(await flagOf(page, p.id, 'expiring').isHidden(), true, 'no warning 30 days ahead');
      await t.screenshot(page, 'issue13-expiry-30-days');

      // A year: told by its date.
      await editButtonOf(page, p.id).click();
      await page.getByLabel('Key expires', { exact: true }).selectOption('365');
      await inputOf(page, p.id).fill(fakeKey());
      await saveButtonOf(page, p.id).click();
      await waitForText(messageOf(page, p.id), 'It expires on ');
      entry = await providerOf(context, p.id);
      assert.ok(Math.abs(new Date(entry.userKey.expiresAt).getTime() - (Date.now() + 365 * DAY_MS)) < 120000);
      await waitForText(expiresOf(page, p.id), 'on ');
      assert.match((await expiresOf(page, p.id).textContent()).trim(), /^on [A-Z][a-z]{2} \d{1,2}, \d{4}/);

      // Never: nothing is sent, the expiry is gone.
      await editButtonOf(page, p.id).click();
      assert.equal(await page.getByLabel('Key expires', { exact: true }).inputValue(), '');
      await inputOf(page, p.id).fill(fakeKey());
      await saveButtonOf(page, p.id).click();
      await waitForText(messageOf(page, p.id), `${p.name} API key saved successfully.`, { exact: true });
      const last = JSON.parse(requests.filter((r) => r.method === 'PUT').pop().postData);
      assert.equal('expiresInDays' in last, false, 'never: no expiresInDays');
      entry = await providerOf(context, p.id);
      assert.equal(entry.userKey.expiresAt, null);
      await waitForText(expiresOf(page, p.id), 'Never', { exact: true });
    },
  },

  {
    name: 'a key within 7 days of its expiry is flagged on its row; one further off is not',
    async fn(t) {
      const { context, page } = await t.openProfile({ ...OPEN, axe: true });
      const { none, system } = await pickProviders(context);
      const [soon, later] = none;
      const gemini = system[0];
      await apiPutKey(context, soon.id, fakeKey(), { expiresInDays: 5 });
      await apiPutKey(context, later.id, fakeKey(), { expiresInDays: 8 });
      await apiPutKey(context, gemini.id, fakeKey(), { expiresInDays: 7 });
      const providers = await apiProviders(context);
      const entry = (id) => providers.find((x) => x.id === id);
      needUserKeyField(entry(soon.id), 'expiresSoon', 'activity');
      assert.equal(entry(soon.id).userKey.expiresSoon, true, '5 days: soon');
      assert.equal(entry(gemini.id).userKey.expiresSoon, true, '7 days: soon');
      assert.equal(entry(later.id).userKey.expiresSoon, false, '8 days: not yet');

      await page.reload();
      await waitForList(page);
      const flag = flagOf(page, soon.id, 'expiring');
      await waitForText(flag, 'This key expires in 5 days, on ');
      await waitForText(flag, `Save a new key before then; after that no ${soon.name} key is available to you.`);
      await waitForText(flagOf(page, gemini.id, 'expiring'), 'after that the system-wide key is used.');
      assert.equal(await expiresOf(page, soon.id).evaluate((dd) => dd.classList.contains('expires-soon')), true);
      await waitForText(expiresOf(page, later.id), 'in 8 days (');
      assert.equal(await flagOf(page, later.id, 'expiring').isHidden(), true);
      assert.equal(await expiresOf(page, later.id).evaluate((dd) => dd.classList.contains('expires-soon')), false);
      await assertNoAxeViolations(page, 'rows with an expiry warning');
      await t.screenshot(page, 'issue13-expires-soon');

      // A new key without an expiry clears the warning.
      await editButtonOf(page, soon.id).click();
      await inputOf(page, soon.id).fill(fakeKey());
      await saveButtonOf(page, soon.id).click();
      await waitForText(messageOf(page, soon.id), 'saved successfully');
      await waitForText(expiresOf(page, soon.id), 'Never', { exact: true });
      assert.equal(await flagOf(page, soon.id, 'expiring').isHidden(), true);
    },
  },

  {
    name: 'an expired key: deleted on read, its row says so (with the fallback) until a new key is saved',
    async fn(t) {
      const { context, page, user } = await t.openProfile({ ...OPEN, axe: true });
      const { none, system } = await pickProviders(context);
      const p = none[0];
      const gemini = system[0];
      await apiPutKey(context, p.id, fakeKey(), { expiresInDays: 30 });
      await apiPutKey(context, gemini.id, fakeKey(), { expiresInDays: 30 });
      needUserKeyField(await providerOf(context, p.id), 'expired', 'activity');

      // Its time has come: the stored expiry moves an hour into the past.
      const past = new Date(Date.now() - 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      const hash = `${PREFIX}:users:{${user}}:apiKeys`;
      for (const x of [p, gemini]) {
        assert.equal(await t.redisCli('HEXISTS', hash, `${x.userKeyField}:expiresAt`), 1, 'the expiry is stored');
        await t.redisCli('HSET', hash, `${x.userKeyField}:expiresAt`, past);
      }

      await page.reload();
      await waitForList(page);
      const flag = flagOf(page, p.id, 'expired');
      await waitForText(flag, 'This key expired on ');
      await waitForText(flag, `Add a new key; until then no ${p.name} key is available to you.`);
      await waitForText(flagOf(page, gemini.id, 'expired'), 'Add a new key; until then the system-wide key is used.');
      await waitForText(chipOf(page, p.id), 'Not configured', { exact: true });
      await waitForText(chipOf(page, gemini.id), 'Using system key', { exact: true });
      const entry = await providerOf(context, p.id);
      assert.equal(entry.userKey.configured, false, 'the key was deleted');
      assert.equal(entry.userKey.expired, true);
      assert.equal(await t.redisCli('HEXISTS', hash, p.userKeyField), 0, 'no sealed value left');
      const expiredAt = new Date(entry.userKey.expiredAt).getTime();
      assert.ok(Math.abs(expiredAt - Date.now()) < 120000, 'expiredAt: when it was found expired');
      await assertNoAxeViolations(page, 'rows of expired keys');
      await t.screenshot(page, 'issue13-expired');

      // Still said after another load: the user is told, not moved silently.
      await page.reload();
      await waitForList(page);
      await waitForText(flagOf(page, p.id, 'expired'), 'This key expired on ');

      // A new key ends it.
      await saveKeyOnPage(page, p.id);
      await waitUntil(async () => flagOf(page, p.id, 'expired').isHidden(), { message: 'flag gone' });
      assert.equal((await providerOf(context, p.id)).userKey.expired, false);
    },
  },

  {
    name: 'a key the provider rejected is flagged on its row until it is replaced',
    needs: 'mock',
    async fn(t) {
      const { context, page } = await t.openProfile({ ...OPEN, axe: true });
      const { none } = await pickProviders(context);
      const p = none[0];
      await apiPutKey(context, p.id, fakeKey());
      needUserKeyField(await providerOf(context, p.id), 'rejected', 'activity');
      await page.reload();
      await waitForList(page);
      assert.equal(await flagOf(page, p.id, 'rejected').isHidden(), true, 'no flag on a fresh key');

      await t.mock.setMode('401', p.id);
      await verifyButtonOf(page, p.id).click();
      await waitForText(alertOf(page, p.id), `${p.name} rejected the key: `);
      const flag = flagOf(page, p.id, 'rejected');
      await waitForText(flag, `${p.name} rejected this key on `);
      await waitForText(flag, `replace it with a current key from ${p.name} (Update).`);
      const entry = await providerOf(context, p.id);
      assert.equal(entry.userKey.rejected, true);
      const at = new Date(entry.userKey.rejectedAt).getTime();
      assert.ok(Math.abs(at - Date.now()) < 120000, 'rejectedAt: the time of the refusal');
      await waitForText(flag, `${utcClock(at)} UTC`);
      await assertNoAxeViolations(page, 'row of a rejected key');
      await t.screenshot(page, 'issue13-rejected');

      // The flag stays over a reload, and goes with a new key.
      await page.reload();
      await waitForList(page);
      await waitForText(flagOf(page, p.id, 'rejected'), 'rejected this key on ');
      await t.mock.setMode('ok', p.id);
      await saveKeyOnPage(page, p.id);
      await waitUntil(async () => flagOf(page, p.id, 'rejected').isHidden(), { message: 'flag gone' });
      assert.equal((await providerOf(context, p.id)).userKey.rejected, false);
    },
  },

  {
    name: 'allowance: the meter counts system-key tokens; spent, the row says so, chat is 429, a key of the user\'s goes on',
    needs: 'mock',
    timeout: 120000,
    async fn(t) {
      const { context, page } = await t.openProfile({ ...OPEN, axe: true });
      const providers = await apiProviders(context);
      if (!providers.some((x) => 'systemKey' in x)) {
        throw new Skip('the service does not report systemKey yet (issue 13, branch allowance)');
      }
      const p = providers.find((x) => x.systemKey && x.envKey && x.userKeys);
      if (!p) {
        throw new Skip('no provider has an allowance: start the stack with ' +
          '--service-env GEMINI_SYSTEM_KEY_MONTHLY_TOKENS=100000');
      }
      const total = p.systemKey.allowance;
      assert.deepEqual([p.systemKey.used, p.systemKey.remaining, p.reason], [0, total, null]);
      const resets = new Date(p.systemKey.resetsAt);
      const now = new Date();
      assert.equal(resets.getTime(), Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
        'resetsAt: the first instant of next month (UTC)');
      const resetDay = resets.toLocaleDateString('en-US', { month: 'long', day: 'numeric', timeZone: 'UTC' });
      const count = (n) => n.toLocaleString('en-US');

      const meter = rowOf(page, p.id).locator('meter');
      const text = rowOf(page, p.id).locator('.allowance-text');
      await waitForText(text, `0 of ${count(total)} tokens used this month, resets ${resetDay}`, { exact: true });
      assert.equal(await meter.evaluate((m) => [m.min, m.max, m.value].join()), `0,${total},0`);
      assert.equal(await rowOf(page, p.id).locator('.key-detail-allowance dt').textContent(), 'Allowance');
      assert.equal(await page.getByRole('meter', {
        name: `Allowance of the system-wide ${p.name} key used this month`, exact: true,
      }).count(), 1, 'the meter is named');
      assert.equal(await meter.evaluate((m) => document.getElementById(m.getAttribute('aria-describedby')).textContent),
        await text.textContent(), 'and described by its text');

      // Half of it in one call with the system key.
      const half = Math.floor(total / 2);
      await t.mock.setUsage(Math.floor(half / 2), half - Math.floor(half / 2));
      let chat = await apiChat(context, p.id);
      assert.equal(chat.status, 200, JSON.stringify(chat.body));
      await page.reload();
      await waitForList(page);
      await waitForText(text, `${count(half)} of ${count(total)} tokens used this month`);
      assert.equal(await meter.evaluate((m) => m.value), half);
      await waitForText(chipOf(page, p.id), 'Using system key', { exact: true });
      await assertNoAxeViolations(page, 'row with the allowance meter');
      await t.screenshot(page, 'issue13-allowance-meter');

      // The rest, exactly: the allowance is reached.
      await t.mock.setUsage(total - half, 0);
      chat = await apiChat(context, p.id);
      assert.equal(chat.status, 200, 'the call that reaches the allowance is served');
      chat = await apiChat(context, p.id);
      assert.equal(chat.status, 429, 'the next one is refused');
      assert.equal(chat.body.detail, `Monthly allowance for the system-wide ${p.name} key is used up. ` +
        'Add your own key to continue.');
      const retryAfter = Number(chat.headers['retry-after']);
      assert.ok(Math.abs(retryAfter - (resets.getTime() - Date.now()) / 1000) < 120,
        `Retry-After ${chat.headers['retry-after']}: seconds until next month`);

      await page.reload();
      await waitForList(page);
      await waitForText(chipOf(page, p.id), 'Allowance used up', { exact: true });
      await waitForText(flagOf(page, p.id, 'allowance'),
        'Monthly allowance of the system-wide key is used up. Add your own key to continue.');
      await waitForText(text, `${count(total)} of ${count(total)} tokens used this month`);
      const spent = (await apiProviders(context)).find((x) => x.id === p.id);
      assert.deepEqual([spent.available, spent.reason, spent.systemKey.remaining], [false, 'allowance', 0]);
      await assertNoAxeViolations(page, 'row with the allowance spent');
      await t.screenshot(page, 'issue13-allowance-spent');
      const dark = await t.openProfile({ ...OPEN, user: context.user, colorScheme: 'dark', axe: true });
      await waitForText(flagOf(dark.page, p.id, 'allowance'), 'Monthly allowance');
      await assertNoAxeViolations(dark.page, 'row with the allowance spent (dark)');
      await t.screenshot(dark.page, 'issue13-allowance-spent-dark');
      await dark.page.setViewportSize({ width: 360, height: 780 });
      const widths = await dark.page.evaluate(() => [document.documentElement.scrollWidth,
        document.documentElement.clientWidth]);
      assert.ok(widths[0] <= widths[1], `no sideways scrolling at 360px (${widths.join(' > ')})`);
      await t.screenshot(dark.page, 'issue13-allowance-spent-phone-dark');

      // The user's own key is never limited.
      await saveKeyOnPage(page, p.id);
      await waitForText(chipOf(page, p.id), 'Configured', { exact: true });
      assert.equal(await flagOf(page, p.id, 'allowance').isHidden(), true, 'no message with a key of one\'s own');
      chat = await apiChat(context, p.id);
      assert.equal(chat.status, 200, 'a user key is not limited');
    },
  },
];
