import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// The service's log stream (logDestination) in a real process writing to a pipe, as in a
// container: batched lines still arrive on their own within the flush interval, and none is lost
// when the process exits, whether it ends, calls process.exit at once, or crashes.

const REPO = fileURLToPath(new URL('../../', import.meta.url))

function run (ending: string, lines: number): Promise<{ code: number | null; stdout: string }> {
  const script = [
    "import pino from 'pino'",
    "import { logDestination } from './src/logger.ts'",
    'const log = pino({ level: "info" }, logDestination())',
    `for (let i = 0; i < ${lines}; i++) log.info({ i, pad: 'x'.repeat(200) }, 'line')`,
    ending
  ].join('\n')
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] })
  let stdout = ''
  child.stdout.on('data', (c: Buffer) => { stdout += String(c) })
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })))
}

const count = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { i: number }).i)
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i)

t.test('every line arrives, in order, however the process ends', async (t) => {
  for (const [name, ending, code] of [
    ['the event loop empties', '', 0],
    ['process.exit at once', 'process.exit(0)', 0],
    ['an uncaught exception', 'setImmediate(() => { throw new Error("boom") })', 1]
  ] as const) {
    const result = await run(ending, 5000)
    t.equal(result.code, code, `${name}: exit code`)
    t.same(count(result.stdout), upTo(5000), `${name}: 5000 lines, none lost`)
  }
})

t.test('a quiet process still gets its lines out without exiting (periodic flush)', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', [
    "import pino from 'pino'",
    "import { logDestination } from './src/logger.ts'",
    'const log = pino({ level: "info" }, logDestination())',
    "log.info({ i: 0 }, 'one line')",
    'setInterval(() => {}, 1000)'
  ].join('\n')], { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const line = await new Promise<string>((resolve) => child.stdout.once('data', (c: Buffer) => resolve(String(c))))
  t.match(JSON.parse(line), { i: 0, msg: 'one line' }, 'the line arrived while the process runs on')
})
