// ESLint 9 flat config: typescript-eslint, react-hooks and TanStack Query rules over src/ and e2e/.
// Formatting is Prettier's job (prettier.config.js), so no stylistic rule is turned on here.
import js from '@eslint/js';
import pluginQuery from '@tanstack/eslint-plugin-query';
import reactHooks from 'eslint-plugin-react-hooks';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'test-results/', 'playwright-report/', 'coverage/', 'src/services/api.gen.ts']),
  js.configs.recommended,
  tseslint.configs.recommended,
  reactHooks.configs.flat.recommended,
  pluginQuery.configs['flat/recommended'],
  {
    languageOptions: {
      ecmaVersion: 2022,
      globals: { ...globals.browser },
    },
  },
  {
    rules: {
      // A leading underscore names what is there only for its position or to be left out of a rest.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true, varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['e2e/**', '*.config.{js,ts}', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Playwright's fixtures are not React: their `use` is the fixture callback, and a fixture that
    // needs no other fixture must still destructure its first argument (`async ({}, use) => …`).
    files: ['e2e/**'],
    rules: {
      'no-empty-pattern': 'off',
      'react-hooks/rules-of-hooks': 'off',
    },
  },
);
