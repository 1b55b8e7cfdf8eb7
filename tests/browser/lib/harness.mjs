// Shared helpers of the browser tests: a fresh Chromium and browser context
// per test, a unique user per context, the profile page, waiting, the API
// seen from the test's user, redis control, axe-core and screenshots.

import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { browserDir } from './env.mjs';

export { assert };

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

const ACTION_TIMEOUT_MS = 10000;

/**
 * Thrown by a test that cannot run here (e.g. the service lacks a feature
 * it tests, or the stack was started without an option it needs): the
 * runner reports "ok N - name # SKIP reason" and counts it as skipped,
 * never as passed.
 */
export class Skip extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Skip';
  }
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.GOFANNON_TEST_CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 30000,
  });
}

export const randomHex = (bytes = 6) => randomBytes(bytes).toString('hex');

/** A user name no other test uses. */
export const uniqueUser = (prefix = 'user') => `${prefix}-${randomHex(5)}`;

/**
 * A key that looks real and is unique to this run. It is written to
 * STATE/keys-used.txt, where tests/stack.py looks for it in every log the
 * stack produced once the tests are over.
 */
export function fakeKey(prefix = 'sk-test-') {
  const key = `${prefix}${randomHex(16)}`;
  const state = process.env.GOFANNON_TEST_STATE;
  if (state) fs.appendFileSync(path.join(state, 'keys-used.txt'), `${key}\n`);
  return key;
}

/** The server's mask (docs/api.md, Masking). */
export function maskOf(key) {
  return key.length < 12 ? '****' : `${key.slice(0, 3)}...${key.slice(-4)}`;
}

/**
 * The per-test world: `t.env`, `t.browser`, and helpers that create
 * contexts and pages acting as a given user. Everything is closed by the
 * runner when the test ends, whatever happens.
 */
export class TestWorld {
  constructor(env, browser, name) {
    this.env = env;
    this.browser = browser;
    this.name = name;
    this.pageErrors = [];
    this.contexts = [];
    // The mock provider, with `tests/stack.py run --mock-provider`.
    this.mock = env.mockControl ? new MockProvider(env.mockControl) : null;
  }

  /**
   * A browser context whose requests carry X-Test-User: `user`. With
   * `axe: true` the site's Content-Security-Policy is bypassed so that
   * axe-core can be injected; every other test runs under the real policy.
   */
  async newContext({ user = uniqueUser(), colorScheme = 'light', viewport, axe = false, ...rest } = {}) {
    const context = await this.browser.newContext({
      baseURL: this.env.url,
      extraHTTPHeaders: { 'X-Test-User': user },
      colorScheme,
      reducedMotion: 'reduce',
      viewport: viewport || { width: 1100, height: 900 },
      bypassCSP: axe,
      ...rest,
    });
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(15000);
    context.user = user;
    this.contexts.push(context);
    return context;
  }

  /**
   * A new page in `context` that records uncaught errors of the page and
   * anything the site's Content-Security-Policy blocked.
   */
  async newPage(context) {
    const page = await context.newPage();
    page.on('pageerror', (err) => this.pageErrors.push(`${page.url()}: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
        this.pageErrors.push(`${page.url()}: ${msg.text()}`);
      }
    });
    return page;
  }

  /**
   * Open the profile page as `user` and wait until its rows are shown.
   * Returns {context, page, user}.
   */
  async openProfile(options = {}) {
    const { waitForList = true, beforeGoto, ...contextOptions } = options;
    const context = await this.newContext(contextOptions);
    const page = await this.newPage(context);
    if (beforeGoto) await beforeGoto(page, context);
    await page.goto('/profile/api-keys');
    if (waitForList) await waitForList_(page);
    return { context, page, user: context.user };
  }

  /** Save a screenshot in the artifacts directory; returns its path. */
  async screenshot(page, name, options = {}) {
    const file = path.join(this.env.artifacts, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, animations: 'disabled', ...options });
    return file;
  }

  /**
   * One Redis command as the admin user (python3 tests/stack.py redis-cli
   * STATE ARG...); resolves with the decoded reply.
   */
  redisCli(...args) {
    return new Promise((resolve, reject) => {
      execFile('python3', [this.env.stackScript, 'redis-cli', this.env.state, ...args.map(String)],
        { timeout: 30000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`redis-cli ${args[0]} failed: ${err.message}\n${stderr}`));
          else resolve(JSON.parse(stdout));
        });
    });
  }

  /** Stop or start the stack's Redis (python3 tests/stack.py redis-stop|redis-start STATE). */
  redis(action) {
    return new Promise((resolve, reject) => {
      execFile('python3', [this.env.stackScript, `redis-${action}`, this.env.state],
        { timeout: 30000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`redis-${action} failed: ${err.message}\n${stderr}`));
          else resolve();
        });
    });
  }

  async close() {
    for (const context of this.contexts) await context.close().catch(() => {});
  }
}

async function waitForList_(page) {
  await page.locator('#provider-list li.provider').first().waitFor({ state: 'visible' });
}
export { waitForList_ as waitForList };

/* ---- locating things on the page ---------------------------------------- */

export const rowOf = (page, id) => page.locator(`#provider-list li.provider[data-provider="${id}"]`);
export const chipOf = (page, id) => rowOf(page, id).locator('.chip');
export const maskTextOf = (page, id) => rowOf(page, id).locator('dd.mask');
export const editButtonOf = (page, id) => rowOf(page, id).locator('button.edit-button');
export const removeButtonOf = (page, id) => rowOf(page, id).locator('button.remove-button');
export const inputOf = (page, id) => rowOf(page, id).locator('input.key-input');
export const saveButtonOf = (page, id) => rowOf(page, id).locator('button.save-button');
export const messageOf = (page, id) => rowOf(page, id).locator('.row-message');
export const editorErrorOf = (page, id) => rowOf(page, id).locator('.editor-error');
export const verifyButtonOf = (page, id) => rowOf(page, id).locator('button.verify-button');
export const alertOf = (page, id) => rowOf(page, id).locator('.row-alert');
export const usageOf = (page, id) => rowOf(page, id).locator('dd.usage');
export const editorStatusOf = (page, id) => rowOf(page, id).locator('.editor-status');
export const lastUsedOf = (page, id) => rowOf(page, id).locator('dd.last-used');
export const expiresOf = (page, id) => rowOf(page, id).locator('dd.expires');
export const flagOf = (page, id, kind) => rowOf(page, id).locator(`.${kind}-flag`);
export const verifyCandidateButtonOf = (page, id) => rowOf(page, id).locator('button.verify-candidate-button');

/* ---- waiting -------------------------------------------------------------- */

/** Poll `fn` (sync or async) until it returns a truthy value; returns it. */
export async function waitUntil(fn, { timeout = 8000, interval = 50, message } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${message || 'condition not met'} within ${timeout} ms` +
        (last instanceof Error ? ` (last error: ${last.message})` : ''));
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Wait until the locator's text (trimmed) equals or contains `expected`. */
export async function waitForText(locator, expected, { exact = false, timeout = 8000 } = {}) {
  let seen = '';
  try {
    await waitUntil(async () => {
      seen = ((await locator.textContent({ timeout: 1000 })) || '').replace(/\s+/g, ' ').trim();
      return exact ? seen === expected : seen.includes(expected);
    }, { timeout });
  } catch {
    throw new Error(`expected text ${exact ? '' : 'containing '}${JSON.stringify(expected)}, ` +
      `saw ${JSON.stringify(seen)}`);
  }
}

/** Saves `key` as the row's key through the page (Edit, type, Save) and waits for the success message. */
export async function saveKeyOnPage(page, id, key = fakeKey()) {
  await editButtonOf(page, id).click();
  await inputOf(page, id).fill(key);
  await saveButtonOf(page, id).click();
  await waitForText(messageOf(page, id), 'saved successfully');
}

/* ---- the API as the test's user sees it ---------------------------------- */

export async function apiCall(context, method, urlPath, data) {
  const response = await context.request.fetch(urlPath, {
    method,
    data,
    headers: data === undefined ? {} : { 'Content-Type': 'application/json' },
    timeout: 10000,
  });
  let body;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status(), body, headers: response.headers() };
}

export async function apiProviders(context) {
  const { status, body } = await apiCall(context, 'GET', '/api/providers');
  assert.equal(status, 200, `GET /api/providers answered ${status}`);
  return body.providers;
}

/** PUT a key; `extra` adds fields to the body (expiresInDays, expiresAt). */
export async function apiPutKey(context, provider, apiKey, extra = {}) {
  const { status, body } = await apiCall(context, 'PUT', '/api/users/me/api-keys',
    { provider, apiKey, ...extra });
  assert.equal(status, 200, `PUT ${provider} answered ${status}: ${JSON.stringify(body)}`);
  return body;
}

export const apiHealth = (context) => apiCall(context, 'GET', '/api/health');

/**
 * Providers of the default registry that fit a role, chosen from what the
 * API says (so the tests hold for any registry and any set of system keys):
 * `none`: takes user keys and has no system key; `system`: takes user keys
 * and the system key applies.
 */
export async function pickProviders(context) {
  const providers = await apiProviders(context);
  const editable = providers.filter((p) => p.userKeys);
  const none = editable.filter((p) => !p.envKey);
  const system = editable.filter((p) => p.envKey);
  assert.ok(none.length >= 2, 'need two providers that take user keys and have no system key');
  assert.ok(system.length >= 1, 'need a provider with a system key (GEMINI_API_KEY)');
  return { providers, editable, none, system };
}

/** POST /api/llm/chat as the context's user; returns {status, body}. */
export async function apiChat(context, provider, text = 'Hello') {
  return apiCall(context, 'POST', '/api/llm/chat',
    { provider, model: 'mock-model', messages: [{ role: 'user', content: text }] });
}

export async function apiUsage(context) {
  const { status, body } = await apiCall(context, 'GET', '/api/users/me/usage');
  assert.equal(status, 200, `GET /api/users/me/usage answered ${status}`);
  return body;
}

/* ---- the mock provider ---------------------------------------------------- */

export const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/**
 * tests/mock_provider.py, steered through the control URL tests/stack.py
 * serves with --mock-provider (see MockControl there). Modes are per
 * provider id: "ok", "401", "500", "hang", ...; calls never carry a key,
 * only its SHA-256 (`keySha256`).
 */
export class MockProvider {
  constructor(controlUrl) {
    this.controlUrl = controlUrl.replace(/\/+$/, '');
  }

  async control(method, urlPath, body) {
    const response = await fetch(this.controlUrl + urlPath, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const data = await response.json();
    assert.equal(response.status, 200, `mock ${urlPath}: ${JSON.stringify(data)}`);
    return data;
  }

  reset() {
    return this.control('POST', '/reset', {});
  }

  setMode(mode, provider = '*') {
    return this.control('POST', '/mode', { mode, provider });
  }

  /** The tokens every reply reports from now on. */
  setUsage(inputTokens, outputTokens) {
    return this.control('POST', '/usage', { inputTokens, outputTokens });
  }

  async calls(provider) {
    const { calls } = await this.control('GET', '/calls');
    return provider ? calls.filter((c) => c.provider === provider) : calls;
  }
}

/* ---- recording traffic ---------------------------------------------------- */

/** Record the requests a page makes: {method, url, postData}. */
export function recordRequests(page) {
  const requests = [];
  page.on('request', (r) => requests.push({ method: r.method(), url: r.url(), postData: r.postData() }));
  return requests;
}

/**
 * Record every response body the page receives. `settle()` waits until the
 * bodies read so far are in; `bodies` holds {url, status, text}.
 */
export function recordResponses(page) {
  const bodies = [];
  const pending = new Set();
  page.on('response', (response) => {
    const p = response.text()
      .then((text) => bodies.push({ url: response.url(), status: response.status(), text }))
      .catch(() => bodies.push({ url: response.url(), status: response.status(), text: '' }))
      .finally(() => pending.delete(p));
    pending.add(p);
  });
  return {
    bodies,
    async settle() {
      await waitUntil(() => pending.size === 0, { timeout: 5000, message: 'response bodies' });
    },
  };
}

/* ---- accessibility ---------------------------------------------------------- */

const AXE_PATH = path.join(browserDir, 'node_modules', 'axe-core', 'axe.min.js');

/** Run axe-core on the page; throws listing the violations if any. */
export async function assertNoAxeViolations(page, label) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
  if (violations.length) {
    const lines = violations.map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`);
    throw new Error(`axe-core found ${violations.length} violation(s) in ${label}:\n${lines.join('\n')}`);
  }
}

/* ---- colours ---------------------------------------------------------------- */

/** "rgb(1, 2, 3)" -> [1, 2, 3] */
export function parseRgb(text) {
  const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(text);
  assert.ok(m, `not a colour: ${text}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function luminance([r, g, b]) {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}
