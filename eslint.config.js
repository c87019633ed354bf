import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'coverage/**', '.tap/**', 'examples/demo/demo.js']
  }),
  {
    rules: {
      // TypeBox convention: a schema value and its Static type share a name.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
