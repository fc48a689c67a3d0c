import { readFileSync } from 'node:fs'
import t from 'tap'
import { OUTPUT, render } from '../../scripts/stytch-responses.js'

// src/stytch/stytch-responses.ts is generated from Stytch's OpenAPI description: it must be what
// the generator makes of the description in the repository now.

t.test('the committed response schemas match Stytch\'s OpenAPI description (npx tsx scripts/stytch-responses.ts)', async (t) => {
  t.equal(readFileSync(OUTPUT, 'utf8'), render())
})
