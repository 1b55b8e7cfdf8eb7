// Browser tests of the profile page, run against the real stack:
//
//   python3 tests/stack.py run -- node tests/browser/run.mjs [NAME-FILTER...]
//
// Every test gets its own Chromium and browser context and its own users, so
// none depends on another's state. Tests run one after the other, each
// bounded in time. Output: one "ok N - name" / "not ok N - name" line per
// test (TAP-like), then "N passed, N failed"; the exit code is 1 when any
// test failed. Tests marked `needs: 'mock'` call the providers and need the
// mock provider (`tests/stack.py run --mock-provider`); without it they are
// reported as "ok N - name # SKIP" and counted as skipped; likewise tests
// marked `needs: 'cors'` without `tests/stack.py run --cross-origin`. A test
// that finds it cannot run here throws Skip (lib/harness.mjs) and is
// reported as skipped with its reason.

import { readEnv } from './lib/env.mjs';
import { launchBrowser, TestWorld, Skip } from './lib/harness.mjs';

import page from './tests/page.test.mjs';
import chips from './tests/chips.test.mjs';
import editing from './tests/editing.test.mjs';
import removing from './tests/remove.test.mjs';
import errors from './tests/errors.test.mjs';
import users from './tests/users.test.mjs';
import keyboard from './tests/keyboard.test.mjs';
import secrecy from './tests/secrecy.test.mjs';
import accessibility from './tests/a11y.test.mjs';
import layout from './tests/layout.test.mjs';
import verify from './tests/verify.test.mjs';
import usage from './tests/usage.test.mjs';
import cors from './tests/cors.test.mjs';
import keylife from './tests/keylife.test.mjs';
import activity from './tests/activity.test.mjs';

const TEST_TIMEOUT_MS = 90000;

const allTests = [...page, ...chips, ...editing, ...removing, ...errors, ...users,
  ...keyboard, ...secrecy, ...accessibility, ...layout, ...verify, ...usage, ...cors, ...keylife,
  ...activity];

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runOne(env, test) {
  let browser;
  let world;
  try {
    browser = await launchBrowser();
    world = new TestWorld(env, browser, test.name);
    // Every provider answers "ok" again, whatever the last test asked for.
    if (world.mock) await world.mock.reset();
    await withTimeout(test.fn(world), test.timeout || TEST_TIMEOUT_MS, 'test');
    if (world.pageErrors.length) {
      throw new Error(`uncaught errors in the page:\n  ${world.pageErrors.join('\n  ')}`);
    }
  } finally {
    if (world) await withTimeout(world.close(), 10000, 'closing contexts').catch(() => {});
    if (browser) await withTimeout(browser.close(), 10000, 'closing chromium').catch(() => {});
  }
}

async function main() {
  let env;
  try {
    env = readEnv();
  } catch (err) {
    console.error(err.message);
    console.log('0 passed, 1 failed');
    process.exit(2);
  }

  const filters = process.argv.slice(2);
  const tests = filters.length
    ? allTests.filter((t) => filters.some((f) => t.name.includes(f)))
    : allTests;

  console.log(`# browser tests against ${env.url}; screenshots in ${env.artifacts}`);
  console.log(`1..${tests.length}`);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const [index, test] of tests.entries()) {
    const n = index + 1;
    if (test.needs === 'mock' && !env.mockControl) {
      skipped += 1;
      console.log(`ok ${n} - ${test.name} # SKIP needs tests/stack.py run --mock-provider`);
      continue;
    }
    if (test.needs === 'cors' && !env.corsAllowed) {
      skipped += 1;
      console.log(`ok ${n} - ${test.name} # SKIP needs tests/stack.py run --cross-origin`);
      continue;
    }
    try {
      await runOne(env, test);
      passed += 1;
      console.log(`ok ${n} - ${test.name}`);
    } catch (err) {
      if (err instanceof Skip) {
        skipped += 1;
        console.log(`ok ${n} - ${test.name} # SKIP ${err.message}`);
        continue;
      }
      failed += 1;
      console.log(`not ok ${n} - ${test.name}`);
      const text = (err && (err.stack || err.message)) || String(err);
      for (const line of text.split('\n')) console.log(`#   ${line}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  console.log('0 passed, 1 failed');
  process.exit(2);
});
