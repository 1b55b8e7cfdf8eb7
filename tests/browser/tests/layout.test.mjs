// Layout from phone to desktop; light and dark following the system setting.

import {
  assert, fakeKey, pickProviders, rowOf, editButtonOf, inputOf, saveButtonOf, messageOf,
  waitForText, parseRgb, luminance, apiPutKey,
} from '../lib/harness.mjs';

/** Nothing wider than the viewport; every visible control inside it. */
async function assertFits(page, what) {
  const report = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const outside = [];
    for (const el of document.querySelectorAll('button, input, .chip, .mask-value, h1, h2, h3')) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 && box.height === 0) continue;
      if (box.left < -1 || box.right > width + 1) outside.push(`${el.tagName}.${el.className} ${box.left}-${box.right}`);
    }
    return { scroll: document.documentElement.scrollWidth, width, outside };
  });
  assert.ok(report.scroll <= report.width, `${what}: page scrolls sideways (${report.scroll} > ${report.width})`);
  assert.deepEqual(report.outside, [], `${what}: elements outside the viewport`);
}

const bodyBackground = async (page) =>
  parseRgb(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
const bodyColour = async (page) =>
  parseRgb(await page.evaluate(() => getComputedStyle(document.body).color));

export default [
  {
    name: 'phone width: no sideways scrolling, rows stack, the editor fits',
    async fn(t) {
      const { context, page } = await t.openProfile({
        viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
      });
      const { none } = await pickProviders(context);
      await apiPutKey(context, none[1].id, fakeKey());
      await page.reload();
      await waitForText(rowOf(page, none[1].id).locator('.chip'), 'Configured');
      await assertFits(page, 'list');
      // Actions go under the text on a phone.
      const [main, actions] = await Promise.all([
        rowOf(page, none[0].id).locator('.provider-main').boundingBox(),
        rowOf(page, none[0].id).locator('.provider-actions').boundingBox(),
      ]);
      assert.ok(actions.y >= main.y + main.height - 1, 'actions below the text');
      const tapHeight = (await editButtonOf(page, none[0].id).boundingBox()).height;
      assert.ok(tapHeight >= 36, `buttons are tappable (${tapHeight}px)`);
      await t.screenshot(page, 'profile-phone');

      await editButtonOf(page, none[0].id).click();
      await inputOf(page, none[0].id).fill(fakeKey());
      await assertFits(page, 'editor open');
      await t.screenshot(page, 'profile-phone-editing');
      await saveButtonOf(page, none[0].id).click();
      await waitForText(messageOf(page, none[0].id), 'saved successfully');
      await assertFits(page, 'after saving');

      // And a desktop width: actions beside the text.
      await page.setViewportSize({ width: 1280, height: 900 });
      const [main2, actions2] = await Promise.all([
        rowOf(page, none[0].id).locator('.provider-main').boundingBox(),
        rowOf(page, none[0].id).locator('.provider-actions').boundingBox(),
      ]);
      assert.ok(actions2.x >= main2.x + main2.width - 1, 'actions beside the text on a desktop');
      await assertFits(page, 'desktop');
    },
  },

  {
    name: 'light and dark colour schemes follow the system setting',
    async fn(t) {
      const { page } = await t.openProfile({ colorScheme: 'light' });
      const lightBg = luminance(await bodyBackground(page));
      const lightText = luminance(await bodyColour(page));
      assert.ok(lightBg > 0.8 && lightText < 0.1, `light: bg ${lightBg}, text ${lightText}`);
      const lightCard = await page.locator('li.provider').first()
        .evaluate((el) => getComputedStyle(el).backgroundColor);

      await page.emulateMedia({ colorScheme: 'dark' });
      const darkBg = luminance(await bodyBackground(page));
      const darkText = luminance(await bodyColour(page));
      assert.ok(darkBg < 0.05 && darkText > 0.7, `dark: bg ${darkBg}, text ${darkText}`);
      const darkCard = await page.locator('li.provider').first()
        .evaluate((el) => getComputedStyle(el).backgroundColor);
      assert.notEqual(darkCard, lightCard, 'cards change too');
      await t.screenshot(page, 'profile-dark-list');

      const dark = await t.openProfile({ colorScheme: 'dark', viewport: { width: 360, height: 780 } });
      assert.ok(luminance(await bodyBackground(dark.page)) < 0.05, 'dark from the first paint');
      await t.screenshot(dark.page, 'profile-phone-dark');
    },
  },
];
