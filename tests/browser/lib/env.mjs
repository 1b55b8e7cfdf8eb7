// What the stack (tests/stack.py) hands the browser tests, read once.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

export const browserDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(browserDir, '..', '..');

export function readEnv() {
  const url = process.env.GOFANNON_TEST_URL;
  const state = process.env.GOFANNON_TEST_STATE;
  if (!url || !state) {
    throw new Error('GOFANNON_TEST_URL and GOFANNON_TEST_STATE are not set; run the suite as\n' +
      '  python3 tests/stack.py run -- node tests/browser/run.mjs');
  }
  let systemKeys;
  try {
    systemKeys = JSON.parse(process.env.GOFANNON_TEST_SYSTEM_KEYS || '{}');
  } catch {
    throw new Error('GOFANNON_TEST_SYSTEM_KEYS is not a JSON object');
  }
  const artifacts = process.env.GOFANNON_TEST_ARTIFACTS ||
    path.join(repoRoot, 'build', 'browser-artifacts');
  fs.mkdirSync(artifacts, { recursive: true });
  return {
    url: url.replace(/\/+$/, ''),
    state,
    systemKeys,
    artifacts,
    // The stack script: the real one unless a stand-in is named (development).
    stackScript: process.env.GOFANNON_TEST_STACK || path.join(repoRoot, 'tests', 'stack.py'),
    // With `tests/stack.py run --mock-provider`: the mock provider the
    // service calls, its control URL, and the service's GOFANNON_LLM_TIMEOUT.
    mockUrl: process.env.GOFANNON_TEST_MOCK_URL || null,
    mockControl: process.env.GOFANNON_TEST_MOCK_CONTROL || null,
    llmTimeout: Number(process.env.GOFANNON_TEST_LLM_TIMEOUT || 0) || null,
    // With `tests/stack.py run --cross-origin`: two more origins serving a
    // small page, the first listed in GOFANNON_ALLOWED_ORIGINS.
    corsAllowed: process.env.GOFANNON_TEST_CORS_ALLOWED || null,
    corsDenied: process.env.GOFANNON_TEST_CORS_DENIED || null,
  };
}
