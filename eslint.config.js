// Lint TypeScript sources and tests with the recommended rules that need no type information (tsc -p
// tsconfig.test.json is the type check). The type-checked set was tried (#9): over 3x the lint time, and it flags
// tap's idiom (top-level t.test calls not awaited, async callbacks without await) in nearly every test file.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tap/', 'charts/', 'certs/out/', '.scratch/', 'test/bench/.build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
);
