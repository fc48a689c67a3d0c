import globals from 'globals'
import neostandard from 'neostandard'

// One style over the whole tree: neostandard (standard's rules for TypeScript), plus
//   - no trailing commas (standard's own choice; neostandard tolerates both, the tree had both),
//   - `void promise` as a statement, the way this code marks a promise it does not await,
//   - snake_case names only where they mirror Stytch's wire fields (destructured as they are),
//   - browser globals for the demo page.
export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'test-artifacts/**', 'bench/results/**', 'node_modules/**']
  }),
  {
    rules: {
      '@stylistic/comma-dangle': ['error', 'never'],
      'no-void': ['error', { allowAsStatement: true }],
      camelcase: ['error', { properties: 'never', ignoreDestructuring: true, ignoreImports: true }]
    }
  },
  {
    files: ['demo/**/*.js'],
    languageOptions: { globals: globals.browser }
  }
]
