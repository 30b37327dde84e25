// ESLint flat config. Type-aware rules are left out on purpose: `tsc --noEmit` already runs in
// `npm test`, and the type-aware preset triples lint time on this tree for little extra signal.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'action/dist/**',
      'data/**',
      'models/**',
      'bench/out/**',
      'test-artifacts/**',
      '.scratch/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,mjs,js}'],
    plugins: { 'import-x': importX },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        globalThis: 'readonly',
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        navigator: 'readonly',
        HTMLElement: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
      },
    },
    settings: {
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/resolver': { node: { extensions: ['.ts', '.mjs', '.js'] } },
    },
    rules: {
      // An import cycle makes module initialisation order a source of bugs (a `const` read before it is set).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // The numeric kernels test `v === v` for NaN on purpose (no call, no boxing in hot loops).
      'no-self-compare': 'off',
      // `ok && done()` and `c ? a() : b()` as statements are the codebase's idiom for one-line branches.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
    },
  },
  {
    // Folder boundaries (issue 21.3). api/ is the HTTP edge: domain modules never import it, only their own
    // router.ts (the HTTP face of the module) and the composition roots (src/app.ts, commands/serve.ts) do.
    // Routers are mounted only by those roots, so no other module (the CLI included) reaches domain
    // operations through HTTP code.
    files: ['src/**/*.ts'],
    ignores: ['src/api/**', 'src/**/*router.ts', 'src/app.ts', 'src/commands/serve.ts'],
    rules: {
      // The same for `await import(…)`, which no-restricted-imports does not see (commands load lazily).
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression[source.value=/(^|\\/)api\\/|router\\.ts$/]',
          message: 'api/ and routers are imported only by src/app.ts, commands/serve.ts and routers.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)api/', message: 'api/ is the HTTP edge: import it only from a router.ts or src/app.ts.' },
            { regex: '(^|/)router\\.ts$', message: 'routers are mounted by src/app.ts and commands/serve.ts only.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts', 'src/**/*router.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)router\\.ts$', message: 'routers are mounted by src/app.ts and commands/serve.ts only.' },
          ],
        },
      ],
    },
  },
  {
    // Tests read parsed JSON answers field by field; typing every response shape there buys nothing.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
