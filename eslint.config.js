// The linter: typescript-eslint's recommended rules over src/, commands/, test/ and bench/;
// formatting is prettier's (eslint-config-prettier turns the overlapping rules off).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'native/build/', 'src/protocols/grpc/generated/', 'src/**/wasm/generated/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    rules: {
      // Unused names are mistakes, except those marked as deliberately unused.
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
      // Records and tuples read better with `type`, interfaces for contracts: both are fine.
      '@typescript-eslint/consistent-type-definitions': 'off',
      'no-constant-condition': ['error', {checkLoops: false}],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: {globals: {process: 'readonly', console: 'readonly'}},
  },
)
