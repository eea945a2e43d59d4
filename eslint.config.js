// Lint rules that guard the architecture, beside typescript-eslint's recommended set.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'public/', 'bench/results/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Only config.ts reads the environment; only src/db opens database connections, and no
    // module holds a global handle (on PGlite a stray query inside a transaction hangs).
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts', 'src/db/**', 'src/main.ts', 'src/cli.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through config.ts' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'pg', message: 'Open databases through src/db' },
            { name: '@electric-sql/pglite', message: 'Open databases through src/db' },
          ],
          patterns: [{ group: ['**/main.ts', '**/cli.ts'], message: 'Entry points are not imported; pass the db handle as the first parameter' }],
        },
      ],
    },
  },
  {
    // Platform code is domain-free: it never reaches into a module.
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/modules/**'], message: 'platform/ imports no module' }] }],
    },
  },
);
