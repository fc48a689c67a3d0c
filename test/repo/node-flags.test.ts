import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { startScriptNodeFlags } from '../../bench/node-flags.js'

// The service starts with the same node flags everywhere it is started for real: `npm start`, the
// Dockerfile's CMD (production) and, through `npm start`'s, the benchmark (bench/run.ts reads them
// from package.json). The flags fix V8's young generation (docs/performance.md, fourth round).

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

function dockerCmdFlags (): string[] {
  const cmd = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n').find((line) => line.startsWith('CMD '))
  if (cmd === undefined) throw new Error('the Dockerfile has no CMD')
  const args = JSON.parse(cmd.slice(4)) as string[]
  if (args[0] !== 'node' || args.at(-1) !== 'dist/src/server.js') throw new Error(`CMD does not run node dist/src/server.js: ${cmd}`)
  return args.slice(1, -1)
}

t.test('npm start and the Dockerfile CMD start node with the same flags', async (t) => {
  const flags = startScriptNodeFlags(ROOT)
  t.same(dockerCmdFlags(), flags)
  t.ok(flags.includes('--min-semi-space-size=32') && flags.includes('--max-semi-space-size=32'), 'the young generation is fixed at 32 MB per semi-space')
})
