import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The layers of docs/ARCHITECTURE.md, bottom first: each folder may import only the folders below it.
const LAYERS = {
  verify: [],
  lookup: ['verify'],
  testbed: ['verify'],
  xmpp: ['verify', 'lookup'],
  app: ['verify', 'lookup', 'xmpp'],
  cli: ['verify', 'lookup', 'xmpp'],
  demo: ['verify', 'lookup', 'xmpp', 'app', 'testbed'],
  main: ['verify', 'lookup', 'xmpp', 'app', 'demo'],
  web: ['verify', 'lookup', 'xmpp', 'app', 'demo'],
  preload: ['app', 'main'],
};
const FOLDERS = Object.keys(LAYERS);

const layerZones = Object.entries(LAYERS).map(([folder, below]) => ({
  target: `./src/${folder}`,
  from: FOLDERS.filter((other) => other !== folder && !below.includes(other)).map((other) => `./src/${other}`),
  message: `src/${folder} may import only ${below.length ? below.map((name) => `src/${name}`).join(', ') : 'itself'} (docs/ARCHITECTURE.md, "Layers").`,
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'test-results/', 'bench-results/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    plugins: { 'import-x': importX },
    languageOptions: { globals: { ...globals.node } },
    settings: { 'import-x/extensions': ['.ts', '.js', '.svelte'] },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // Node's built-ins, then packages, then our own modules from the farthest to the nearest.
      'import-x/order': ['error', {
        groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index'],
        'newlines-between': 'never',
        alphabetize: { order: 'asc', caseInsensitive: true },
      }],
      'import-x/no-duplicates': 'error',
      'import-x/first': 'error',
    },
  },
  {
    // Promise misuse is how unhandled rejections start: check it with type information.
    files: ['src/**/*.ts', 'test/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // The house's arrows: no layer imports one above it, nothing in src/ imports the tests, no cycles.
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', {
        zones: [
          ...layerZones,
          { target: './src', from: './test', message: 'The product never imports the tests: move what both need under src/.' },
        ],
      }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // The pure core: judgement only, no I/O (docs/ARCHITECTURE.md, "Layers").
    files: ['src/verify/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '^(?!\\./|node:crypto$|node:url$|@peculiar/asn1-schema$|@peculiar/asn1-x509$)',
          message: 'src/verify is the pure core: it may import only its own modules, node:crypto, node:url (IDNA) and the ASN.1 packages.',
        }],
      }],
    },
  },
  {
    files: ['renderer/**/*.svelte', 'renderer/**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // The renderer reaches the app through the contract alone.
      'no-restricted-imports': ['error', {
        patterns: [{
          regex: '(^|/)(src|test)/(?!app/contract\\.ts$)',
          message: 'The renderer imports only src/app/contract.ts from the app (re-export there what it needs).',
        }],
      }],
    },
  },
);
