// ESLint's configuration for the page (nginx/html/*.js, in the browser) and
// the browser tests (tests/browser, in node). scripts/lint runs it from the
// top of the repository:
//   tests/browser/node_modules/.bin/eslint -c tests/browser/eslint.config.mjs nginx/html tests/browser
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['tests/browser/node_modules/**'] },
  js.configs.recommended,
  {
    files: ['nginx/html/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: globals.browser },
  },
  {
    files: ['tests/browser/**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // page.evaluate() callbacks run in the page: document, window.
      globals: { ...globals.node, ...globals.browser },
    },
  },
  {
    rules: {
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      eqeqeq: ['error', 'always'],
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
];
